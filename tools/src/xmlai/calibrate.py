"""Per-track decision levels chosen on the validation edits, never the test ones.

A model's P(on) is not a calibrated probability: the loss weights "on" above "off", and a track
that is almost always on (the base track of a dead-air editor) keeps its rare cuts at P(on)
0.7-0.9, where the configured band never switches it off. For each track the level that gives
the best cut F1 on the validation edits centres that track's hysteresis band; a level that
does not beat the configured one by MIN_GAIN is not taken, so a small validation set does not
move a track on noise.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from trackcore import ACTIVE
from xmlai.editor_style import EditorStyle
from xmlai.metrics import boundary_f1
from xmlai.smooth import TRACK_WIDTH, SmoothingConfig, active_frames, thresholds

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
    (the style with each track's level, {"V1": {"level", "cut_f1_configured",
    "cut_f1_calibrated"}} for the tracks with a cut in the validation edits)."""
    tracks, report = list(style.tracks), {}
    per_edit = list(zip(on_probability, truth_on, fps, strict=True))
    for k, habits in enumerate(tracks):
        edits = [(prob[:, k], truth[:, k], rate) for prob, truth, rate in per_edit]
        if not any(np.any(t[1:] != t[:-1]) for _, t, _ in edits):
            continue  # no cut to calibrate on
        configured = cut_score(edits, config, replace(habits, level=None))
        scores = {level: cut_score(edits, config, replace(habits, level=level)) for level in LEVELS}
        middle = thresholds(config)[2]
        best = max(LEVELS, key=lambda level: (scores[level], -abs(level - middle)))
        taken = scores[best] >= configured + MIN_GAIN
        tracks[k] = replace(habits, level=best if taken else None)
        report[f"V{k + 1}"] = {
            "level": best if taken else None,
            "cut_f1_configured": round(configured, 4),
            "cut_f1_calibrated": round(scores[best] if taken else configured, 4),
        }
    return EditorStyle(tracks), report


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
