"""Per-track decision levels and length slacks, and the lines that place an overlay on one of
the editor's places, chosen on the validation edits, never the test ones.

A model's P(on) is not a calibrated probability: the loss weights "on" above "off", and a track
that is almost always on (the base track of a dead-air editor) keeps its rare cuts at P(on)
0.7-0.9, where the configured band never switches it off. For each track the level that gives
the best cut F1 on the validation edits centres that track's hysteresis band; a level that
does not beat the configured one by MIN_GAIN is not taken, so a small validation set does not
move a track on noise.

The level is chosen together with the length slack: how much shorter than the editor's
shortest segment or gap a predicted one may be before smoothing cleans it away. A dead-air
editor never cuts less than their shortest silence minus both margins, so a model unsure of a
silence just under it is overruled at a slack of 1; an editor whose shortest gap was a one-off
needs a looser one.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import numpy as np

from trackcore import ACTIVE, PARAMETER_NAMES, PARAMETERS
from xmlai.editor_style import EditorStyle
from xmlai.metrics import boundary_f1
from xmlai.smooth import (
    LENGTH_SLACKS,
    MIN_LENGTH_SLACK,
    PARAM_TOLERANCE,
    SNAP_TOLERANCE,
    TRACK_WIDTH,
    SmoothingConfig,
    active_frames,
    place_on_levels,
    segments,
    snap,
    thresholds,
)

LEVELS = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))  # 0.10 ... 0.90
MIN_GAIN = 0.01  # of the mean cut F1 (±2 frames, ±0.5 s) on the validation edits
SECOND_TOLERANCE_S = 0.5


def calibrated_style(
    style: EditorStyle,
    on_probability: list[np.ndarray],
    truth_on: list[np.ndarray],
    fps: list[float],
    config: SmoothingConfig,
) -> tuple[EditorStyle, dict]:
    """on_probability / truth_on: per validation edit, (n, N) P(on) and (n, N) bool ->
    (the style with each track's level and length slack, {"V1": {"level", "length_slack",
    "cut_f1_configured", "cut_f1_calibrated"}} for the tracks with a cut in the validation
    edits)."""
    tracks, report = list(style.tracks), {}
    per_edit = list(zip(on_probability, truth_on, fps, strict=True))
    for k, habits in enumerate(tracks):
        edits = [(prob[:, k], truth[:, k], rate) for prob, truth, rate in per_edit]
        if not any(np.any(t[1:] != t[:-1]) for _, t, _ in edits):
            continue  # no cut to calibrate on
        configured = cut_score(edits, config, replace(habits, level=None, length_slack=None))
        best, score = _best_level_and_slack(edits, config, habits)
        taken = score >= configured + MIN_GAIN
        level, slack = best if taken else (None, None)
        tracks[k] = replace(habits, level=level, length_slack=slack)
        report[f"V{k + 1}"] = {
            "level": level,
            "length_slack": slack,
            "cut_f1_configured": round(configured, 4),
            "cut_f1_calibrated": round(score if taken else configured, 4),
        }
    return EditorStyle(tracks), report


def _best_level_and_slack(edits, config: SmoothingConfig, habits) -> tuple[tuple, float]:
    """The (level, slack) with the best validation cut score; of equals, the slack nearest the
    configured one, then the level nearest the configured band's middle."""
    middle = thresholds(config)[2]
    scores = {
        (level, slack): cut_score(edits, config, replace(habits, level=level, length_slack=slack))
        for slack in LENGTH_SLACKS
        for level in LEVELS
    }
    best = max(
        scores,
        key=lambda pair: (scores[pair], -abs(pair[1] - MIN_LENGTH_SLACK), -abs(pair[0] - middle)),
    )
    return best, scores[best]


def on_frames(tracks: np.ndarray) -> np.ndarray:
    """(n, N*9) track table -> (n, N) bool: which frames each track is on."""
    return np.asarray(tracks)[:, ACTIVE::TRACK_WIDTH] > 0.5


def cut_score(edits, config: SmoothingConfig, habits) -> float:
    """Mean of the pooled cut F1 within ±2 frames and within ±0.5 s over (P(on), truth, fps)."""
    counts = np.zeros((2, 3))  # (tolerance, tp/fp/fn)
    for prob, truth, fps in edits:
        on = active_frames(prob, config, habits, fps)
        for row, tolerance in enumerate((2, max(1, round(SECOND_TOLERANCE_S * fps)))):
            counts[row] += boundary_f1(truth, on, tolerance)[1:]
    tp, fp, fn = counts.T
    return float(np.mean(2 * tp / np.maximum(2 * tp + fp + fn, 1)))


# --- where an overlay sits: which of the editor's places a segment takes ---------------------
#
# An editor who puts a still left or right of the face holds pos_x at one of two levels. A model
# regressing it under a loss that averages its doubt answers in between (-0.2 for a truth of
# +0.33), and snapping to the nearest level then picks the wrong side. The order of its answers
# still separates the sides, so the line between two levels is chosen on the validation edits.

MIN_PLACED_SEGMENTS = 6  # validation segments of one parameter before its lines are trusted


def calibrated_placements(
    style: EditorStyle,
    regression: list[np.ndarray],
    truth_tables: list[np.ndarray],
    config: SmoothingConfig,
) -> tuple[EditorStyle, dict]:
    """regression / truth_tables: per validation edit, (n, N, 7) raw-unit parameters and the
    (n, N*9) true track table -> (the style with `cut_points` for each constant parameter whose
    levels they place better than snapping does, {"V2": {"pos_x": {"cut_points",
    "mae_snapped", "mae_calibrated"}}} for every parameter tried)."""
    tracks, report = list(style.tracks), {}
    truth_tables = [np.asarray(table, dtype=np.float64) for table in truth_tables]
    for k, habits in enumerate(tracks):
        cut_points = [list(c) for c in habits.cut_points]
        for p, name in enumerate(PARAMETER_NAMES):
            levels = np.sort(habits.levels_array(p))
            if not habits.constant[p] or len(levels) < 2:
                continue
            tolerance = SNAP_TOLERANCE[p] * config.param_tolerance_scale
            predicted, true = _placed_segments(regression, truth_tables, k, p, levels, tolerance)
            if len(predicted) < MIN_PLACED_SEGMENTS:
                continue
            snapped = float(np.mean(np.abs(snap(predicted, levels, tolerance) - true)))
            lines = level_lines(predicted, true, levels)
            placed = float(np.mean(np.abs(place_on_levels(predicted, levels, lines) - true)))
            taken = placed <= snapped - PARAM_TOLERANCE[p]
            cut_points[p] = lines.tolist() if taken else []
            report.setdefault(f"V{k + 1}", {})[name] = {
                "cut_points": cut_points[p] or None,
                "mae_snapped": round(snapped, 4),
                "mae_calibrated": round(placed if taken else snapped, 4),
            }
        tracks[k] = replace(habits, cut_points=cut_points)
    return EditorStyle(tracks), report


def level_lines(predicted: np.ndarray, true: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """(m,) segment predictions and true levels, (L,) sorted levels -> (L-1,) ascending lines:
    between each pair of neighbouring levels, the one that misplaces fewest of their segments
    (of equals, the nearest to half way, which is where snapping would draw it)."""
    lines = []
    for low, high in pairwise(levels):
        pair = np.isclose(true, low) | np.isclose(true, high)
        x, upper = predicted[pair], np.isclose(true[pair], high)
        half_way = (low + high) / 2
        candidates = np.concatenate([[half_way], _midpoints(np.sort(x))])
        errors = [np.sum(upper != (x >= c)) for c in candidates]
        best = min(range(len(candidates)), key=lambda i: (errors[i], abs(candidates[i] - half_way)))
        lines.append(candidates[best])
    return np.maximum.accumulate(np.asarray(lines, dtype=np.float64))


def _midpoints(sorted_values: np.ndarray) -> np.ndarray:
    return (sorted_values[1:] + sorted_values[:-1]) / 2 if len(sorted_values) > 1 else sorted_values


def _placed_segments(regression, truth_tables, k, p, levels, tolerance: float):
    """Per true segment of track k whose parameter p sits within `tolerance` of one of the
    levels: the median prediction over it, and that level."""
    column = k * TRACK_WIDTH + PARAMETERS.start + p
    predicted, true = [], []
    for values, table in zip(regression, truth_tables, strict=True):
        for start, end in segments(table[:, k * TRACK_WIDTH + ACTIVE] > 0.5):
            value = float(np.median(table[start:end, column]))
            nearest = levels[np.argmin(np.abs(levels - value))]
            if abs(nearest - value) <= tolerance:
                predicted.append(float(np.median(values[start:end, k, p])))
                true.append(nearest)
    return np.asarray(predicted), np.asarray(true)
