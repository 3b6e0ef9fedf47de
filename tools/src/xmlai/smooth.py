"""Per-frame predictions -> something an editor can use: segments that do not flicker, one
asset per segment, parameters as a few keyframes instead of per-frame jitter."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

TRACK_WIDTH = 9  # active, asset, scale, pos_x, pos_y, crop l/r/t/b
NEUTRAL = np.array([0, 0, 100, 0, 0, 0, 0, 0, 0], dtype=np.float64)
# keyframe tolerances per regression column: % zoom, frame fractions, % crop
PARAM_TOLERANCE = np.array([0.5, 0.003, 0.003, 0.5, 0.5, 0.5, 0.5])
# predicted values move within these bands without a keyframe: an editor's curves are constant
# or ramps, a model's are those plus noise
SNAP_TOLERANCE = np.array([2.5, 0.015, 0.015, 2.5, 2.5, 2.5, 2.5])


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


def segments(active: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, end) runs of True."""
    padded = np.concatenate([[False], active.astype(bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def clean_segments(active: np.ndarray, min_on: int, min_off: int) -> np.ndarray:
    """Fill gaps shorter than min_off between segments, then drop segments shorter than min_on."""
    out = active.astype(bool).copy()
    runs = segments(out)
    for (_, end), (start, _) in pairwise(runs):
        if start - end < min_off:
            out[end:start] = True
    for start, end in segments(out):
        if end - start < min_on:
            out[start:end] = False
    return out


def reduce_to_keyframes(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of a piecewise-linear path through `values` within `tolerance` of every frame
    (Ramer-Douglas-Peucker on the max vertical error), endpoints always kept."""
    n = len(values)
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    stack = [(0, n - 1)]
    x = np.arange(n)
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        line = values[a] + (values[b] - values[a]) * (x[a + 1 : b] - a) / (b - a)
        err = np.abs(values[a + 1 : b] - line)
        worst = int(np.argmax(err))
        if err[worst] > tolerance:
            mid = a + 1 + worst
            keep[mid] = True
            stack += [(a, mid), (mid, b)]
    return np.flatnonzero(keep)


def keyframed(values: np.ndarray, tolerance: float) -> tuple[np.ndarray, int]:
    """The values rebuilt from their reduced keyframes, and how many keyframes that took
    (a constant run is one value, counted as 1)."""
    if len(values) == 0:
        return values, 0
    if np.ptp(values) <= tolerance:
        return np.full_like(values, np.median(values)), 1
    idx = reduce_to_keyframes(values, tolerance)
    return np.interp(np.arange(len(values)), idx, values[idx]), len(idx)


def running_median(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running median, the window shrinking at the ends."""
    if width <= 1 or len(values) < 3:
        return values
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.median(windows, axis=1)


def editor_curve(values: np.ndarray, tolerance: float, median_frames: int) -> np.ndarray:
    """Noisy per-frame values -> a constant (when they stay within the band) or a few ramps."""
    if len(values) == 0 or np.ptp(values) <= 2 * tolerance:
        return np.full_like(values, np.median(values) if len(values) else 0.0)
    return keyframed(running_median(values, median_frames), tolerance)[0]


def smooth_tracks(
    active_prob: np.ndarray,
    asset_prob: np.ndarray,
    regression: np.ndarray,
    config: SmoothingConfig = SmoothingConfig(),
) -> np.ndarray:
    """(n, N) P(active), (n, N, 10) asset probabilities, (n, N, 7) raw-unit parameters ->
    (n, N*9) track block in the table layout."""
    n, n_tracks = active_prob.shape
    out = np.tile(NEUTRAL, (n, n_tracks)).reshape(n, n_tracks, TRACK_WIDTH)
    tol = SNAP_TOLERANCE * config.param_tolerance_scale
    for k in range(n_tracks):
        on = hysteresis(active_prob[:, k], config.on_threshold, config.off_threshold)
        on = clean_segments(on, config.min_on_frames, config.min_off_frames)
        for start, end in segments(on):
            scores = asset_prob[start:end, k, 1:].sum(axis=0)  # role 0 means "none"
            out[start:end, k, 0] = 1
            out[start:end, k, 1] = 1 + int(np.argmax(scores))
            for p in range(7):
                values = regression[start:end, k, p]
                out[start:end, k, 2 + p] = editor_curve(values, tol[p], config.median_frames)
    return out.reshape(n, n_tracks * TRACK_WIDTH)
