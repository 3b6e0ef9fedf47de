"""Per-track decision levels chosen on validation edits, and smoothing that uses them."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from xmlai.calibrate import LEVELS, calibrated_style, cut_score
from xmlai.editor_style import EditorStyle, TrackStyle
from xmlai.smooth import LEVEL_RANGE, SmoothingConfig, active_frames, smooth_track, thresholds

FPS = 25.0
CONFIG = SmoothingConfig()


def base_track(n: int, cuts: list[tuple[int, int]], p_cut: float, seed: int = 0):
    """A mostly-on track with off stretches at `cuts`: truth, and a P(on) that dips only to
    `p_cut` there (the shape a model trained with "on" weighted up gives a rare cut)."""
    rng = np.random.default_rng(seed)
    truth = np.ones(n, dtype=bool)
    prob = np.clip(0.985 + rng.normal(0, 0.005, n), 0, 1)
    for start, end in cuts:
        truth[start:end] = False
        prob[start:end] = p_cut + rng.normal(0, 0.01, end - start)
    return truth, prob


def as_edits(*tracks):
    """[(truth, prob)] for one track -> the (n, 1) arrays calibrated_style takes."""
    return [t[:, None] for t, _ in tracks], [p[:, None] for _, p in tracks]


def test_a_cut_the_configured_band_misses_is_found_at_the_calibrated_level():
    val = [base_track(600, [(100, 160), (400, 450)], 0.8, seed) for seed in range(3)]
    truth, prob = as_edits(*val)
    style, report = calibrated_style(EditorStyle.neutral(1), prob, truth, [FPS] * 3, CONFIG)

    level = style.tracks[0].level
    assert level is not None and 0.8 < level < 0.985
    assert report["V1"]["cut_f1_configured"] == 0.0  # P(on) 0.8 never crosses 0.4
    assert report["V1"]["cut_f1_calibrated"] == 1.0
    # a new edit with the same shape is cut where the editor cut it
    new_truth, new_prob = base_track(500, [(200, 260)], 0.8, seed=9)
    block = smooth_track(new_prob, np.eye(10)[np.full(500, 1)], np.zeros((500, 7)), CONFIG,
                         style.tracks[0], FPS)  # fmt: skip
    assert np.array_equal(block[:, 0] > 0.5, new_truth)
    plain = smooth_track(new_prob, np.eye(10)[np.full(500, 1)], np.zeros((500, 7)), CONFIG,
                         None, FPS)  # fmt: skip
    assert plain[:, 0].all()  # without the level the cut is missed


def test_a_level_that_gains_nothing_is_not_taken():
    """Probabilities the configured band already separates: no level is stored, so a small
    validation set cannot move a track on noise."""
    val = [base_track(600, [(100, 160)], 0.05, seed) for seed in range(2)]
    truth, prob = as_edits(*val)
    style, report = calibrated_style(EditorStyle.neutral(1), prob, truth, [FPS] * 2, CONFIG)
    assert style.tracks[0].level is None
    assert report["V1"]["level"] is None
    assert report["V1"]["cut_f1_calibrated"] == report["V1"]["cut_f1_configured"] == 1.0


def test_a_track_without_a_cut_in_validation_keeps_its_habits_and_is_not_reported():
    habits = TrackStyle(min_on_s=0.5)
    truth = [np.ones((300, 1), dtype=bool)]
    prob = [np.full((300, 1), 0.7)]
    style, report = calibrated_style(EditorStyle([habits]), prob, truth, [FPS], CONFIG)
    assert report == {}
    assert style.tracks[0] == habits


def test_the_calibrated_level_survives_the_style_json_and_an_older_style_has_none():
    style = EditorStyle([TrackStyle(min_on_s=0.4, level=0.85)])
    again = EditorStyle.from_dict(json.loads(json.dumps(style.to_dict())), 1)
    assert again.tracks[0].level == 0.85
    older = style.to_dict()
    del older["tracks"][0]["level"]
    assert EditorStyle.from_dict(older, 1).tracks[0].level is None


@given(level=st.sampled_from(LEVELS), on=st.floats(0.5, 0.95), width=st.floats(0.0, 0.45))
def test_the_band_keeps_its_width_around_the_level_inside_the_unit_interval(level, on, width):
    config = SmoothingConfig(on_threshold=on, off_threshold=on - width)
    high, low, middle = thresholds(config, TrackStyle(level=level))
    assert middle == level
    assert LEVEL_RANGE[0] <= low <= middle <= high <= LEVEL_RANGE[1]
    if LEVEL_RANGE[0] < level - width / 2 and level + width / 2 < LEVEL_RANGE[1]:
        assert np.isclose(high - low, width)
    # without a level: the configured thresholds exactly, as before calibration existed
    assert thresholds(config)[:2] == (config.on_threshold, config.off_threshold)


def test_the_score_is_the_mean_of_the_two_cut_tolerances():
    truth, prob = base_track(400, [(100, 150)], 0.05)
    shifted = np.roll(prob, 5)  # both cuts 5 frames late: outside ±2 frames, inside ±0.5 s
    edits = [(shifted, truth, FPS)]
    assert cut_score(edits, CONFIG, None) == 0.5
    assert active_frames(shifted, CONFIG, None, FPS).sum() == 350
