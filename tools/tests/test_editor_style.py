"""The editor's habits: learned from their edits, then used to finish a prediction."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xmlai.editor_style import EditorStyle, learn_editor_style
from xmlai.smooth import (
    SmoothingConfig,
    editor_curve,
    hysteresis,
    limit_rate,
    place_boundaries,
    segments,
    smooth_tracks,
    snap,
)

FPS = 30.0
NEUTRAL_BLOCK = [0, 0, 100, 0, 0, 0, 0, 0, 0]


def edit(n: int, runs: list[tuple[int, int]], scale=None) -> np.ndarray:
    """One-track table block (n, 9): active on `runs`, asset 2, scale per frame (or 35)."""
    block = np.tile(np.array(NEUTRAL_BLOCK, dtype=np.float64), (n, 1))
    for s, e in runs:
        block[s:e, :2] = (1, 2)
        block[s:e, 2] = 35.0 if scale is None else scale[s:e]
        block[s:e, 3] = 0.3
    return block


def test_it_learns_shortest_runs_levels_and_what_never_moves():
    edits = [(edit(300, [(10, 40), (60, 75), (90, 200)]), FPS), (edit(300, [(5, 100)]), FPS)]
    habits = learn_editor_style(edits).tracks[0]
    assert habits.min_on_s == 15 / FPS  # (5, 100) and (90, 200) may be clipped by the recording
    assert habits.min_off_s == 15 / FPS  # gaps of 20 and 15 frames
    assert habits.levels[0] == [35.0] and habits.levels[1] == [0.3]
    assert habits.constant[0] and habits.constant[1]


def test_a_ramped_parameter_is_not_constant_but_keeps_its_plateaus_as_levels():
    scale = np.concatenate([np.full(100, 100.0), np.linspace(100, 130, 13), np.full(187, 130.0)])
    habits = learn_editor_style([(edit(300, [(0, 300)], scale), FPS)]).tracks[0]
    assert not habits.constant[0]
    assert habits.levels[0] == [100.0, 130.0]
    assert abs(habits.max_rate[0] - 2.5 * FPS) < 1e-6  # 2.5 % a frame


def test_an_unused_track_has_no_habits_and_the_style_survives_json():
    two = np.concatenate([edit(100, [(10, 50)]), edit(100, [])], axis=1)
    style = learn_editor_style([(two, FPS)])
    assert style.tracks[1].min_on_s is None and style.tracks[1].levels == [[]] * 7
    again = EditorStyle.from_dict(json.loads(json.dumps(style.to_dict())), 2)
    assert again == style
    assert EditorStyle.from_dict(None, 2) == EditorStyle.neutral(2)
    assert EditorStyle.from_dict(style.to_dict(), 3) == EditorStyle.neutral(3)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0, 200), min_size=1, max_size=50),
    levels=st.lists(st.floats(0, 200), max_size=4),
    tol=st.floats(0.1, 5),
)
def test_snap_moves_a_value_only_onto_a_level_within_tolerance(values, levels, tol):
    v, lv = np.array(values), np.array(levels)
    out = snap(v, lv, tol)
    moved = out != v
    assert np.all(np.abs(out - v) <= tol)
    assert all(np.any(np.isclose(x, lv)) for x in out[moved])


def test_plateaus_land_on_the_editors_levels_and_a_constant_parameter_stays_put():
    rng = np.random.default_rng(0)
    ramp = np.concatenate([np.full(40, 100.0), np.linspace(100, 130, 13), np.full(40, 130.0)])
    noisy = ramp + rng.normal(0, 0.6, len(ramp))
    curve = editor_curve(noisy, 2.5, 9, levels=np.array([100.0, 130.0]))
    assert np.all(curve[:30] == 100.0) and np.all(curve[-30:] == 130.0)
    flat = editor_curve(35 + rng.normal(0, 4, 60), 2.5, 9, np.array([35.0]), constant=True)
    assert np.all(flat == 35.0)


def test_smoothing_drops_segments_far_shorter_than_the_editor_ever_makes():
    n = 240
    prob = np.zeros((n, 1))
    prob[20:80] = 0.9
    prob[170:182] = 0.9  # 12 frames: kept by the default minimum of 8, not by this editor
    assets = np.zeros((n, 1, 10))
    assets[..., 2] = 1
    regression = np.tile(np.array([35.0, 0.3, 0, 0, 0, 0, 0]), (n, 1, 1))
    style = learn_editor_style([(edit(600, [(50, 110), (200, 300), (400, 500)]), FPS)])
    plain = smooth_tracks(prob, assets, regression, SmoothingConfig()).reshape(n, 9)
    styled = smooth_tracks(prob, assets, regression, SmoothingConfig(), style, FPS).reshape(n, 9)
    assert segments(plain[:, 0] > 0) == [(20, 80), (170, 182)]
    assert segments(styled[:, 0] > 0) == [(20, 80)]
    assert np.all(styled[20:80, 2] == 35.0)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-200, 200), min_size=1, max_size=80),
    max_step=st.floats(0.1, 20),
)
def test_rate_limiting_bounds_every_step_and_keeps_what_is_already_slow(values, max_step):
    v = np.array(values)
    out = limit_rate(v, max_step)
    assert np.all(np.abs(np.diff(out)) <= max_step + 1e-9)
    if np.all(np.abs(np.diff(v)) <= max_step):
        assert np.allclose(out, v)


def test_a_step_becomes_a_ramp_centred_on_it():
    step = np.concatenate([np.full(30, 100.0), np.full(30, 130.0)])
    ramp = limit_rate(step, 2.5)
    assert ramp[0] == 100.0 and ramp[-1] == 130.0
    assert abs(ramp[29] + ramp[30] - 230.0) < 1e-9  # symmetric about the step
    curve = editor_curve(step, 2.5, 1, np.array([100.0, 130.0]), max_step=2.5)
    assert np.all(np.abs(np.diff(curve)) <= 2.5 + 1e-9)


def test_hysteresis_finds_the_segment_and_the_half_way_crossing_places_its_ends():
    prob = np.array([0.1, 0.3, 0.45, 0.55, 0.65, 0.9, 0.9, 0.58, 0.52, 0.45, 0.35, 0.1])
    found = hysteresis(prob, 0.6, 0.4)
    assert segments(found) == [(4, 10)]  # on late (0.6), off late (0.4)
    assert segments(place_boundaries(found, prob)) == [(3, 9)]


@settings(max_examples=80, deadline=None)
@given(
    probs=st.lists(st.floats(0, 1), min_size=1, max_size=120),
    on=st.floats(0.5, 0.9),
    off=st.floats(0.1, 0.5),
)
def test_placing_boundaries_keeps_every_segment_and_never_merges_two(probs, on, off):
    prob = np.array(probs)
    found = hysteresis(prob, on, off)
    placed = place_boundaries(found, prob)
    before, after = segments(found), segments(placed)
    assert len(after) == len(before)
    for (s0, e0), (s1, e1) in zip(before, after, strict=True):
        assert s1 < e1
        assert (s1 == s0 or prob[s1] >= 0.5) and (e1 == e0 or prob[e1 - 1] >= 0.5)
