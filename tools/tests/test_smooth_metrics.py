"""Smoothing and metrics: the numbers the report prints must mean what they say."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xml2csv import reduce_keyframes
from xmlai.metrics import baseline_predictor, boundary_f1, evaluate, evaluate_roles, macro_f1
from xmlai.smooth import (
    SmoothingConfig,
    clean_segments,
    hysteresis,
    keyframed,
    segments,
    smooth_tracks,
)


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.floats(-500, 500), min_size=1, max_size=200), tol=st.floats(0.01, 5))
def test_smoothing_keyframes_are_the_writers_and_stay_within_tolerance(values, tol):
    v = np.array(values)
    rebuilt, count = keyframed(v, tol)
    idx = reduce_keyframes(v, tol)  # the xmeml writer's reduction
    assert idx[0] == 0 and (idx[-1] == len(v) - 1 or idx == [0])
    assert count == (1 if np.ptp(v) <= tol else len(idx))
    assert np.all(np.abs(rebuilt - v) <= tol + 1e-9)


def test_a_ramp_is_two_keyframes_and_a_constant_is_one():
    assert keyframed(np.linspace(100, 130, 50), 0.1)[1] == 2
    assert keyframed(np.full(40, 100.0), 0.1)[1] == 1


@settings(max_examples=60, deadline=None)
@given(
    bits=st.lists(st.booleans(), min_size=1, max_size=120),
    lo=st.integers(1, 6),
    gap=st.integers(1, 6),
)
def test_clean_segments_leaves_no_short_segment_or_gap(bits, lo, gap):
    out = clean_segments(np.array(bits), lo, gap)
    runs = segments(out)
    assert all(end - start >= lo for start, end in runs)
    assert all(b - a >= gap for (_, a), (b, _) in pairwise(runs))


def test_hysteresis_ignores_flicker_between_thresholds():
    prob = np.array([0.1, 0.7, 0.5, 0.45, 0.55, 0.3, 0.5, 0.65])
    assert hysteresis(prob, 0.6, 0.4).tolist() == [0, 1, 1, 1, 1, 0, 0, 1]


def test_smooth_tracks_gives_one_asset_per_segment_and_neutral_elsewhere():
    n = 60
    active = np.zeros((n, 2))
    active[10:40, 0] = 0.9
    active[20, 0] = 0.1  # a one-frame dropout is filled
    asset = np.zeros((n, 2, 10))
    asset[:, :, 1] = 0.6
    asset[25:27, 0, 4] = 0.9  # a brief disagreement does not split the segment
    regression = np.tile([120.0, 0.1, -0.1, 5, 5, 5, 5], (n, 2, 1))
    out = smooth_tracks(active, asset, regression, SmoothingConfig(min_off_frames=3)).reshape(
        n, 2, 9
    )
    assert out[10:40, 0, 0].all() and not out[:10, 0, 0].any() and not out[40:, 0, 0].any()
    assert set(out[10:40, 0, 1]) == {1}
    assert np.allclose(out[10:40, 0, 2], 120) and (out[:10, 0, 2] == 100).all()
    assert not out[:, 1, 0].any()


def test_boundary_f1_matches_cuts_within_tolerance():
    truth = np.r_[np.ones(10), np.zeros(10), np.ones(10)]
    shifted = np.r_[np.ones(12), np.zeros(10), np.ones(8)]
    assert boundary_f1(truth, shifted, 2)[0] == 1.0
    assert boundary_f1(truth, shifted, 1)[0] == 0.0
    assert boundary_f1(np.ones(30), np.ones(30), 2)[0] == 1.0  # no cuts, none claimed


def test_macro_f1_counts_each_true_class_equally():
    truth = np.array([1] * 90 + [5] * 10)
    pred = np.array([1] * 100)
    assert macro_f1(truth, pred) == pytest.approx((2 * 90 / (2 * 90 + 10) + 0) / 2)


def block(n, active, asset=1, scale=100.0):
    out = np.tile([0, 0, 100, 0, 0, 0, 0, 0, 0], (n, 1)).astype(float)
    out[active, 0] = 1
    out[active, 1] = asset
    out[active, 2] = scale
    return out


def test_a_perfect_prediction_scores_perfectly_and_baseline_does_not():
    n = 200
    on = np.zeros(n, dtype=bool)
    on[20:80] = on[120:180] = True
    truth = block(n, on, asset=2, scale=130)
    perfect = evaluate([(truth, truth.copy(), 30.0)], 1)["V1"]
    assert perfect["frame_f1"] == perfect["boundary_f1_2frames"] == perfect["asset_macro_f1"] == 1
    assert perfect["scale_mae_pct"] == 0 and perfect["coverage"] == 1
    base = baseline_predictor([truth], 1)
    scored = evaluate([(truth, base(n), 30.0)], 1)["V1"]
    assert scored["boundary_f1_2frames"] == 0.0


def test_roles_are_scored_on_screen_whatever_track_shows_them():
    n = 100
    on = np.arange(n) < 40
    still_on_v2 = np.concatenate([block(n, on & False), block(n, on, asset=4)], axis=1)
    still_on_v1 = np.concatenate([block(n, on, asset=4), block(n, on & False)], axis=1)
    roles = evaluate_roles([(still_on_v2, still_on_v1, 30.0)])
    assert roles == {
        "still image": {"frames_truth": 40, "frame_f1": 1.0, "boundary_f1_2frames": 1.0}
    }
    title_instead = np.concatenate([block(n, on, asset=5), block(n, on & False)], axis=1)
    wrong = evaluate_roles([(still_on_v2, title_instead, 30.0)])
    assert wrong["still image"]["frame_f1"] == 0.0
    assert wrong["text"] == {"frames_truth": 0, "frame_f1": 0.0, "boundary_f1_2frames": 0.0}


def test_no_frame_active_in_both_is_not_reported_as_zero_error():
    n = 50
    truth = block(n, np.arange(n) < 30, asset=4, scale=60)
    never_on = block(n, np.zeros(n, dtype=bool))
    scored = evaluate([(truth, never_on, 25.0)], 1)["V1"]
    assert np.isnan(scored["scale_mae_pct"]) and scored["coverage"] == 0


def test_summaries_are_strict_json(tmp_path):
    import json

    from xmlai.runlog import write_json

    write_json(tmp_path / "s.json", {"a": np.float32(0.5), "b": float("nan"), "c": [np.int64(3)]})
    assert json.loads((tmp_path / "s.json").read_text()) == {"a": 0.5, "b": None, "c": [3]}


def test_a_cut_within_one_sample_period_counts_in_the_sample_column():
    """A cut 4 frames late misses ±2 frames but is within a 5 Hz feature's period at 30 fps
    (6 frames): the column that tells a model failure from an information limit."""
    from xmlai.metrics import evaluate as score

    n = 60
    truth = np.tile([0, 0, 100, 0, 0, 0, 0, 0, 0], (n, 1)).astype(float)
    truth[20:, :2] = 1
    pred = truth.copy()
    pred[20:24, :2] = 0
    scores = score([(truth, pred, 30.0)], 1, sample_frames=[6])["V1"]
    assert scores["boundary_f1_2frames"] == 0.0 and scores["boundary_f1_sample"] == 1.0
    assert score([(truth, pred, 30.0)], 1)["V1"]["boundary_f1_sample"] is None


def test_the_keyframes_counted_are_the_ones_the_writer_writes():
    from xml2csv.keyframes import DEFAULT_PARAMETERS, DEFAULT_TOLERANCE, filter_elements
    from xmlai.metrics import PARAMETER_COLUMNS, keyframes
    from xmlai.smooth import NEUTRAL

    n = 60
    block = np.tile(NEUTRAL, (n, 1))
    block[:, 0] = 1
    block[:, 2] = np.linspace(100, 130, n)  # a zoom ramp
    block[:, 3], block[:, 4] = np.linspace(0, 0.3, n), np.linspace(0, -0.2, n)  # one move
    block[:30, 0] = 0  # one active segment, frames 30..59: one written item
    on = block[:, 0] > 0.5
    item = {c: block[30:, 2 + p] for p, c in enumerate(PARAMETER_COLUMNS)}
    written = filter_elements(DEFAULT_PARAMETERS, item, 0, DEFAULT_TOLERANCE)
    assert keyframes(block, on) == sum(len(f.findall(".//keyframe")) for f in written) == 4
    held = np.tile(NEUTRAL, (n, 1))
    held[:, :3] = (1, 2, 130)
    assert keyframes(held, held[:, 0] > 0.5) == 0  # one value written, no <keyframe>
