"""Per-frame predictions -> something an editor can use: segments that do not flicker, one
asset per segment, parameters as a few keyframes instead of per-frame jitter."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

import trackcore
from trackcore import ACTIVE, ASSET, N_PARAMETERS, PARAMETERS, AssetRole
from xml2csv import reduce_keyframes

if TYPE_CHECKING:
    from xmlai.editor_style import EditorStyle

TRACK_WIDTH = trackcore.TRACK_WIDTH  # active, asset, scale, pos_x, pos_y, crop l/r/t/b
NEUTRAL = np.array(trackcore.TRACK_NEUTRAL, dtype=np.float64)
FIRST_ROLE = AssetRole.NONE + 1  # the asset shares of a track that is on: role 0 is "off"
# keyframe tolerances per regression column: % zoom, frame fractions, % crop
PARAM_TOLERANCE = np.array([0.5, 0.003, 0.003, 0.5, 0.5, 0.5, 0.5])
# predicted values move within these bands without a keyframe: an editor's curves are constant
# or ramps, a model's are those plus noise
SNAP_TOLERANCE = np.array([2.5, 0.015, 0.015, 2.5, 2.5, 2.5, 2.5])
# a calibrated band stays inside (0, 1): a threshold of 0 or 1 would never switch
LEVEL_RANGE = (0.02, 0.98)
# a segment or gap may be this much shorter than the editor's shortest before it is cleaned away;
# a track's own share is chosen from LENGTH_SLACKS on the validation edits (xmlai.calibrate)
MIN_LENGTH_SLACK = 0.75
LENGTH_SLACKS = (0.5, 0.75, 0.9, 1.0)


@dataclass(frozen=True)
class SmoothingConfig:
    on_threshold: float = 0.6  # hysteresis: switch on above this probability...
    off_threshold: float = 0.4  # ...and off below this one
    min_on_frames: int = 8  # shorter active segments are dropped
    min_off_frames: int = 4  # shorter gaps inside an active run are filled
    param_tolerance_scale: float = 1.0  # multiplies SNAP_TOLERANCE for keyframe reduction
    median_frames: int = 9  # a running median before reduction removes per-frame noise


def hysteresis(prob: np.ndarray, on: float, off: float) -> np.ndarray:
    """(n,) probabilities -> (n,) bool; the state only flips past the far threshold."""
    state = np.zeros(len(prob), dtype=bool)
    current = bool(prob[0] >= on) if len(prob) else False
    for t, p in enumerate(prob):
        if current and p < off:
            current = False
        elif not current and p >= on:
            current = True
        state[t] = current
    return state


def place_boundaries(active: np.ndarray, prob: np.ndarray, level: float = 0.5) -> np.ndarray:
    """Hysteresis decides which segments exist but puts their ends late (the far threshold);
    move each end to where the probability crosses `level`, never into a neighbour."""
    out = active.astype(bool).copy()
    runs = segments(out)
    for i, (start, end) in enumerate(runs):
        floor = runs[i - 1][1] + 1 if i else 0
        ceiling = runs[i + 1][0] - 1 if i + 1 < len(runs) else len(out)
        while start > floor and prob[start - 1] >= level:
            start -= 1
        while start < end - 1 and prob[start] < level:
            start += 1
        while end < ceiling and prob[end] >= level:
            end += 1
        while end > start + 1 and prob[end - 1] < level:
            end -= 1
        out[runs[i][0] : runs[i][1]] = False
        out[start:end] = True
    return out


def segments(active: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, end) runs of True."""
    padded = np.concatenate([[False], active.astype(bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def clean_segments(
    active: np.ndarray, min_on: int, min_off: int, min_on_at_ends: int | None = None
) -> np.ndarray:
    """Fill gaps shorter than min_off between segments, then drop segments shorter than min_on;
    a segment touching the first or last frame only if shorter than `min_on_at_ends` (default
    min_on): the recording may have clipped it, so the editor's shortest does not bind it."""
    out = active.astype(bool).copy()
    runs = segments(out)
    for (_, end), (start, _) in pairwise(runs):
        if start - end < min_off:
            out[end:start] = True
    at_ends = min_on if min_on_at_ends is None else min_on_at_ends
    for start, end in segments(out):
        clipped = start == 0 or end == len(out)
        if end - start < (at_ends if clipped else min_on):
            out[start:end] = False
    return out


def keyframed(values: np.ndarray, tolerance: float) -> tuple[np.ndarray, int]:
    """The values rebuilt from their keyframes, reduced as the xmeml writer reduces them, and
    how many that took (a constant run is one value, counted as 1)."""
    if len(values) == 0:
        return values, 0
    if np.ptp(values) <= tolerance:
        return np.full_like(values, np.median(values)), 1
    idx = reduce_keyframes(values, tolerance)
    return np.interp(np.arange(len(values)), idx, values[idx]), len(idx)


def running_median(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running median, the window shrinking at the ends."""
    if width <= 1 or len(values) < 3:
        return values
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.median(windows, axis=1)


def snap(values: np.ndarray, levels: np.ndarray, tolerance: float) -> np.ndarray:
    """Values within `tolerance` of one of the editor's levels become that level."""
    values = np.asarray(values, dtype=np.float64)
    if not len(levels) or not values.size:
        return values
    nearest = levels[np.argmin(np.abs(values[..., None] - levels), axis=-1)]
    return np.where(np.abs(values - nearest) <= tolerance, nearest, values)


def place_on_levels(values, levels: np.ndarray, lines) -> np.ndarray:
    """Each value -> the level between whose ascending lines (len(levels) - 1) it falls."""
    return np.sort(levels)[np.searchsorted(lines, values, side="right")]


def limit_rate(values: np.ndarray, max_step: float) -> np.ndarray:
    """No move faster than max_step per frame: the mean of a forward and a backward slew-rate
    limiter, so a step becomes a ramp centred on it rather than one that starts late."""
    return (_slew(values, max_step) + _slew(values[::-1], max_step)[::-1]) / 2


def _slew(values: np.ndarray, max_step: float) -> np.ndarray:
    """A recursion over frames; plain floats, since numpy's per-element call costs 30x more."""
    out = np.asarray(values, dtype=np.float64).tolist()
    for t in range(1, len(out)):
        low, high = out[t - 1] - max_step, out[t - 1] + max_step
        out[t] = low if out[t] < low else high if out[t] > high else out[t]
    return np.asarray(out)


def editor_curve(
    values: np.ndarray,
    tolerance: float,
    median_frames: int,
    levels: np.ndarray = np.empty(0),
    constant: bool = False,
    max_step: float | None = None,
    cut_points: list[float] = (),
) -> np.ndarray:
    """Noisy per-frame values -> a constant (when they stay within the band, or the editor never
    moves this parameter inside a segment) or a few ramps no steeper than the editor's
    (`max_step` per frame); keyframes near one of the editor's levels land exactly on it, so
    plateaus are flat. A constant parameter with `cut_points` (len(levels) - 1 lines) takes the
    level its median falls between."""
    if len(values) == 0:
        return values
    if constant and len(cut_points) and len(cut_points) == len(levels) - 1:
        return np.full_like(values, place_on_levels(np.median(values), levels, cut_points))
    if constant or np.ptp(values) <= 2 * tolerance:
        return np.full_like(values, snap(np.median(values), levels, tolerance))
    smooth = running_median(values, median_frames)
    knots = reduce_keyframes(smooth, tolerance)
    curve = np.interp(np.arange(len(values)), knots, snap(smooth[knots], levels, tolerance))
    if max_step:
        curve = keyframed(limit_rate(curve, max_step), tolerance)[0]
    return curve


def smooth_tracks(
    active_prob: np.ndarray,
    asset_prob: np.ndarray,
    regression: np.ndarray,
    config: SmoothingConfig = SmoothingConfig(),
    style: EditorStyle | None = None,
    fps: float = 30.0,
) -> np.ndarray:
    """(n, N) P(active), (n, N, n_assets) asset probabilities, (n, N, 7) raw-unit parameters ->
    (n, N*9) track block in the table layout. With the editor's `style` (learned from their
    training edits), segments, gaps and parameters follow their habits too."""
    n, n_tracks = active_prob.shape
    out = np.empty((n, n_tracks, TRACK_WIDTH))
    for k in range(n_tracks):
        habits = style.tracks[k] if style is not None else None
        out[:, k] = smooth_track(
            active_prob[:, k], asset_prob[:, k], regression[:, k], config, habits, fps
        )
    return out.reshape(n, n_tracks * TRACK_WIDTH)


def smooth_track(
    active_prob: np.ndarray,
    asset_prob: np.ndarray,
    regression: np.ndarray,
    config: SmoothingConfig = SmoothingConfig(),
    habits=None,
    fps: float = 30.0,
) -> np.ndarray:
    """One track: (n,) P(active), (n, n_assets) asset probabilities, (n, 7) parameters -> (n, 9),
    with the editor's habits on this track (`EditorStyle.tracks[k]`) when given."""
    out = np.tile(NEUTRAL, (len(active_prob), 1))
    tol = SNAP_TOLERANCE * config.param_tolerance_scale
    for start, end in segments(active_frames(active_prob, config, habits, fps)):
        scores = asset_prob[start:end, FIRST_ROLE:].sum(axis=0)  # role 0 means "none"
        out[start:end, ACTIVE] = 1
        out[start:end, ASSET] = FIRST_ROLE + int(np.argmax(scores))
        for p in range(N_PARAMETERS):
            out[start:end, PARAMETERS.start + p] = editor_curve(
                regression[start:end, p],
                tol[p],
                config.median_frames,
                habits.levels_array(p) if habits else np.empty(0),
                habits.constant[p] if habits else False,
                habits.max_rate[p] / fps if habits and habits.max_rate[p] else None,
                habits.cut_points[p] if habits else (),
            )
    return out


def active_frames(active_prob: np.ndarray, config: SmoothingConfig, habits=None, fps=30.0):
    """(n,) P(on) -> (n,) bool: which frames the track is on after hysteresis, boundary
    placement and the minimum lengths."""
    on_threshold, off_threshold, level = thresholds(config, habits)
    on = hysteresis(active_prob, on_threshold, off_threshold)
    min_on, min_off = _min_lengths(config, habits, fps)
    placed = place_boundaries(on, active_prob, level)
    return clean_segments(placed, min_on, min_off, config.min_on_frames)


def thresholds(config: SmoothingConfig, habits=None) -> tuple[float, float, float]:
    """(on, off, level) for one track: the configured hysteresis band, centred on the level
    chosen for this track on the validation edits when training chose one."""
    if habits is None or habits.level is None:
        middle = (config.on_threshold + config.off_threshold) / 2
        return config.on_threshold, config.off_threshold, middle
    half = (config.on_threshold - config.off_threshold) / 2
    level = habits.level
    return min(level + half, LEVEL_RANGE[1]), max(level - half, LEVEL_RANGE[0]), level


def _min_lengths(config: SmoothingConfig, habits, fps: float) -> tuple[int, int]:
    """The configured minimum lengths, raised toward the editor's shortest segment and gap."""
    min_on, min_off = config.min_on_frames, config.min_off_frames
    if habits is None:
        return min_on, min_off
    slack = MIN_LENGTH_SLACK if habits.length_slack is None else habits.length_slack
    if habits.min_on_s is not None:
        min_on = max(min_on, _frames(habits.min_on_s * fps * slack))
    if habits.min_off_s is not None:
        min_off = max(min_off, _frames(habits.min_off_s * fps * slack))
    return min_on, min_off


def _frames(length: float) -> int:
    """Whole frames of a length that may be a float's hair under one (64/30 s * 30 = 63.99...)."""
    return int(length + 1e-6)
