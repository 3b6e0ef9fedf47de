"""Per-track decision levels and overlay places chosen on validation edits, and smoothing
that uses them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xmlai.calibrate import (
    LEVELS,
    calibrated_placements,
    calibrated_style,
    cut_score,
    level_lines,
)
from xmlai.editor_style import EditorStyle, TrackStyle
from xmlai.smooth import (
    LEVEL_RANGE,
    SmoothingConfig,
    active_frames,
    place_on_levels,
    smooth_track,
    thresholds,
)

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


def test_a_model_that_cuts_silences_just_under_the_editors_shortest_is_overruled():
    """The editor cuts silences of 50 frames and more and keeps one of 48; the model cuts both
    (its sense of length is a few frames off). The editor's shortest gap is 50 frames, so at a
    length slack of 1 the 48-frame cut is filled (0.9 would leave it); validation chooses it."""
    habits = TrackStyle(min_off_s=50 / FPS)
    val = []
    for seed in range(3):
        truth, prob = base_track(900, [(100, 150), (400, 460)], 0.05, seed)
        prob[700:748] = 0.05  # the kept silence the model cuts
        val.append((truth, prob))
    truth, prob = as_edits(*val)
    style, report = calibrated_style(EditorStyle([habits]), prob, truth, [FPS] * 3, CONFIG)

    assert style.tracks[0].length_slack == 1.0
    assert report["V1"]["length_slack"] == 1.0
    assert report["V1"]["cut_f1_configured"] < report["V1"]["cut_f1_calibrated"] == 1.0
    new_truth, new_prob = base_track(600, [(200, 255)], 0.05, seed=7)
    new_prob[400:448] = 0.05
    assert np.array_equal(active_frames(new_prob, CONFIG, style.tracks[0], FPS), new_truth)
    assert not active_frames(new_prob, CONFIG, habits, FPS)[400:448].any()  # slack 0.75: cut


def test_a_segment_the_recording_clipped_is_not_held_to_the_editors_shortest():
    """The habit is learned from segments inside an edit; one touching the first or last frame
    may be a longer one cut short by the recording, so only the configured minimum drops it."""
    habits = TrackStyle(min_on_s=100 / FPS)
    truth, prob = base_track(600, [(30, 200), (300, 560)], 0.05)
    on = active_frames(prob, CONFIG, habits, FPS)
    assert np.array_equal(on, truth)  # 30 frames at the start and 40 at the end kept
    blip = prob.copy()
    blip[:30] = 0.05
    blip[: CONFIG.min_on_frames - 1] = 0.99  # shorter than the configured minimum: dropped
    assert not active_frames(blip, CONFIG, habits, FPS)[:30].any()


def test_the_length_slack_survives_the_style_json_and_an_older_style_has_none():
    style = EditorStyle([TrackStyle(min_off_s=2.0, level=0.8, length_slack=1.0)])
    again = EditorStyle.from_dict(json.loads(json.dumps(style.to_dict())), 1)
    assert again.tracks[0].length_slack == 1.0
    older = style.to_dict()
    del older["tracks"][0]["length_slack"]
    assert EditorStyle.from_dict(older, 1).tracks[0].length_slack is None


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


# --- placing an overlay on one of the editor's places ----------------------------------------

POS_X = 1  # pos_x in a track's 7 parameters
SIDE = 0.331  # the editor puts the overlay at pos_x -0.331 or +0.331
SIDES = TrackStyle(
    levels=[[35.0], [-SIDE, SIDE], [0.0], [0.0], [0.0], [0.0], [0.0]], constant=[True] * 7
)


def placed_edit(sides: list[float], predicted: list[float], seed: int = 0, length: int = 30):
    """One track on for `length` frames per side, 30 off between: the true table (n, 9) and a
    regression (n, 1, 7) whose pos_x is `predicted` plus a little per-frame noise."""
    rng = np.random.default_rng(seed)
    n = 2 * length * len(sides) + length
    table = np.tile(np.array([0, 0, 100, 0, 0, 0, 0, 0, 0], dtype=np.float64), (n, 1))
    regression = np.zeros((n, 1, 7))
    regression[:, 0, 0] = 35.0
    for i, (side, guess) in enumerate(zip(sides, predicted, strict=True)):
        start = length + 2 * length * i
        table[start : start + length, :4] = (1, 2, 35.0, side)
        regression[start : start + length, 0, POS_X] = guess + rng.normal(0, 0.005, length)
    return table, regression


def shrunk(sides: list[float], rng) -> list[float]:
    """A model that doubts: both sides predicted left of centre, the right ones less so."""
    return [(-0.15 if s > 0 else -0.27) + rng.normal(0, 0.02) for s in sides]


def test_a_doubting_model_is_placed_on_the_right_side_by_the_line_found_on_validation():
    rng = np.random.default_rng(1)
    edits = []
    for seed in range(3):
        sides = list(rng.choice([-SIDE, SIDE], 6))
        edits.append(placed_edit(sides, shrunk(sides, rng), seed))
    style, report = calibrated_placements(
        EditorStyle([SIDES]), [r for _, r in edits], [t for t, _ in edits], CONFIG
    )
    line = style.tracks[0].cut_points[POS_X]
    assert len(line) == 1 and -0.27 < line[0] < -0.15
    facts = report["V1"]["pos_x"]
    assert facts["mae_calibrated"] < 0.01 < facts["mae_snapped"]
    assert style.tracks[0].cut_points[0] == []  # scale has one level: nothing to place
    # a new edit: every segment lands on its true side; snapping alone leaves them in between
    sides = [SIDE, -SIDE, SIDE, -SIDE]
    table, regression = placed_edit(sides, shrunk(sides, rng), seed=7)
    on = table[:, 0] > 0.5
    asset = np.eye(10)[np.where(on, 2, 0)]
    prob = on.astype(float)
    placed = smooth_track(prob, asset, regression[:, 0], CONFIG, style.tracks[0], FPS)
    assert np.allclose(placed[on, 3], table[on, 3])
    snapped = smooth_track(prob, asset, regression[:, 0], CONFIG, SIDES, FPS)
    assert np.abs(snapped[on, 3] - table[on, 3]).mean() > 0.2


def test_lines_are_not_drawn_where_snapping_already_places_every_segment():
    sides = [SIDE, -SIDE] * 4
    table, regression = placed_edit(sides, sides)
    style, report = calibrated_placements(EditorStyle([SIDES]), [regression], [table], CONFIG)
    assert style.tracks[0].cut_points[POS_X] == []
    assert report["V1"]["pos_x"]["mae_snapped"] == report["V1"]["pos_x"]["mae_calibrated"]


def test_too_few_validation_segments_try_nothing_and_a_moving_parameter_is_never_placed():
    sides = [SIDE, -SIDE, SIDE]
    table, regression = placed_edit(sides, [-0.1, -0.3, -0.1])
    style, report = calibrated_placements(EditorStyle([SIDES]), [regression], [table], CONFIG)
    assert report == {} and style.tracks[0].cut_points[POS_X] == []
    moving = TrackStyle(levels=SIDES.levels, constant=[False] * 7)
    table, regression = placed_edit(sides * 3, [-0.1, -0.3, -0.1] * 3)
    style, report = calibrated_placements(EditorStyle([moving]), [regression], [table], CONFIG)
    assert report == {}


@settings(max_examples=80, deadline=None)
@given(
    levels=st.lists(st.floats(-1, 1), min_size=2, max_size=4, unique=True).map(sorted),
    predictions=st.lists(st.tuples(st.integers(0, 3), st.floats(-2, 2)), min_size=1, max_size=30),
)
def test_lines_ascend_between_levels_and_every_value_lands_on_a_level(levels, predictions):
    levels = np.asarray(levels)
    if np.min(np.diff(levels)) < 1e-3:
        return
    true = np.array([levels[min(i, len(levels) - 1)] for i, _ in predictions])
    predicted = np.array([x for _, x in predictions])
    lines = level_lines(predicted, true, levels)
    assert len(lines) == len(levels) - 1 and np.all(np.diff(lines) >= 0)
    assert np.isin(place_on_levels(predicted, levels, lines), levels).all()


@settings(max_examples=60, deadline=None)
@given(
    gap=st.floats(0.01, 0.5),
    lows=st.lists(st.floats(-1, 0), min_size=1, max_size=10),
    highs=st.lists(st.floats(0, 1), min_size=1, max_size=10),
)
def test_two_places_a_model_orders_apart_are_separated_without_a_mistake(gap, lows, highs):
    """Predictions of the low place all below those of the high one, however far from either
    level: the line between them misplaces none."""
    levels = np.array([-SIDE, SIDE])
    predicted = np.array([x - gap for x in lows] + [x + gap for x in highs]) * 0.1
    true = np.array([-SIDE] * len(lows) + [SIDE] * len(highs))
    lines = level_lines(predicted, true, levels)
    assert np.array_equal(place_on_levels(predicted, levels, lines), true)


def test_the_lines_survive_the_style_json_and_an_older_style_has_none():
    style = EditorStyle([replace(SIDES, cut_points=[[], [0.02], [], [], [], [], []])])
    again = EditorStyle.from_dict(json.loads(json.dumps(style.to_dict())), 1)
    assert again.tracks[0].cut_points[POS_X] == [0.02]
    older = style.to_dict()
    del older["tracks"][0]["cut_points"]
    assert EditorStyle.from_dict(older, 1).tracks[0].cut_points == [[]] * 7
