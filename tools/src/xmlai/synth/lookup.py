"""Feature values at frame times, computed the way `featalign.align` computes them.

The style rules must be functions of what the model will see, so they read the features
through this module, which follows featalign's documented semantics (a test checks the two
agree on every generated edit):
- a frame within 1e-6 s of a sample takes that sample;
- between two samples: continuous columns interpolate linearly (float32, clipped to the two
  neighbours), binary/discrete columns hold the previous sample;
- mask 0 (and value 0) before the first sample, after the last, and between two samples
  further apart than `max(1 s, 3 median sample intervals)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIME_TOLERANCE_S = 1e-6


def max_gap_s(times: np.ndarray) -> float:
    """featalign's default: 1 s, or 3 sample intervals for tables slower than 3 Hz."""
    if len(times) < 2:
        return 1.0
    return max(1.0, 3.0 * float(np.median(np.diff(times))))


@dataclass
class Lookup:
    """Where each frame time falls among the samples of one feature table."""

    i: np.ndarray  # (n,) row of the left (or exact) sample
    j: np.ndarray  # (n,) row of the right sample (== i unless interpolating)
    w: np.ndarray  # (n,) float32 weight of row j
    mask: np.ndarray  # (n,) bool, the features are real at that frame

    def hold(self, values: np.ndarray) -> np.ndarray:
        """Binary/discrete columns: the previous sample; 0 under mask 0."""
        return np.where(self.mask, values[self.i], 0).astype(values.dtype)

    def interpolate(self, values: np.ndarray) -> np.ndarray:
        """Continuous columns (float32): a + w (b - a), clipped to [a, b]; 0 under mask 0."""
        a = values[self.i].astype(np.float32)
        b = values[self.j].astype(np.float32)
        out = (b - a) * self.w + a
        out = np.clip(out, np.minimum(a, b), np.maximum(a, b))
        return np.where(self.mask, out, np.float32(0)).astype(np.float32)


def plan_lookup(times: np.ndarray, frames_s: np.ndarray) -> Lookup:
    """times (m,) strictly increasing seconds; frames_s (n,) seconds -> Lookup."""
    t = np.asarray(times, dtype=np.float64)
    x = np.asarray(frames_s, dtype=np.float64)
    m = len(t)
    right = np.searchsorted(t, x, side="left")
    r = np.minimum(right, m - 1)
    left = np.maximum(right - 1, 0)
    dist_l, dist_r = np.abs(x - t[left]), np.abs(t[r] - x)
    exact = np.minimum(dist_l, dist_r) <= TIME_TOLERANCE_S
    inside = (x > t[0]) & (x < t[-1])
    span = t[r] - t[left]
    interp = inside & ~exact & (span <= max_gap_s(t))
    nearest = np.where(dist_r < dist_l, r, left)
    i = np.where(exact, nearest, np.where(interp, left, 0))
    j = np.where(interp, r, i)
    w = np.zeros(len(x), dtype=np.float32)
    w[interp] = ((x[interp] - t[left[interp]]) / span[interp]).astype(np.float32)
    np.clip(w, 0.0, 1.0, out=w)
    return Lookup(i=i, j=j, w=w, mask=exact | interp)
