"""What the extractor measures on EVERY decoded frame's grey thumbnail: motion and the scene-cut
score. Both must stay well under a millisecond a frame (a 1080p30 hour is 108,000 frames)."""

from __future__ import annotations

import cv2
import numpy as np

# auto-editor's motion: 400 px wide, Gaussian blur sigma 9, share of pixels that changed. The
# thumbnail here is narrower (motion_width), so the blur scales with it to cover the same area.
MOTION_REFERENCE_WIDTH = 400
MOTION_BLUR_SIGMA = 9.0
# auto-editor counts any change of its 8-bit blurred image; the blur here is computed in float,
# so "changed" = moved by more than one grey level (what survives the 8-bit rounding there)
MOTION_CHANGE_LEVEL = 1.0

CUT_HIST_BINS = 32


class MotionMeter:
    """Per-frame motion against the previous frame: (share of pixels changed, mean |diff| / 255)."""

    def __init__(self):
        self._prev: np.ndarray | None = None

    def update(self, grey: np.ndarray) -> tuple[float, float] | None:
        sigma = MOTION_BLUR_SIGMA * grey.shape[1] / MOTION_REFERENCE_WIDTH
        cur = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), sigma)
        prev, self._prev = self._prev, cur
        if prev is None or prev.shape != cur.shape:  # the first frame (or a size change)
            return None
        diff = cv2.absdiff(cur, prev)
        changed = float(np.count_nonzero(diff > MOTION_CHANGE_LEVEL)) / diff.size
        return changed, float(diff.mean()) / 255


def cut_score(grey: np.ndarray, hist: np.ndarray, prev_grey: np.ndarray,
              prev_hist: np.ndarray) -> float:  # fmt: skip
    """Content change between two frames, 0..255 (PySceneDetect's scale, threshold 27).

    PySceneDetect's ContentDetector averages |difference| of H, S and V; only luma is at hand,
    and a pixel difference alone fires on fast motion of a textured picture. So the score is
    the SMALLER of two views that both jump at a hard cut:
      - the mean |luma difference| (0..255): low for a slow fade or small changes;
      - the luma histograms' total-variation distance (0..1) x 255: blind to where things are,
        so content moving fast (the same texture, shifted) keeps it low.
    A cut between two pictures with near-identical luma histograms is missed; that is the price.
    """
    pixel = float(cv2.absdiff(grey, prev_grey).mean())
    layout_free = 0.5 * float(np.abs(hist - prev_hist).sum()) * 255
    return min(pixel, layout_free)


class CutDetector:
    """Hard cuts: a cut where cut_score >= threshold and the last cut is min_scene_s back."""

    def __init__(self, threshold: float, min_scene_s: float):
        self.threshold = threshold
        self.min_scene_s = min_scene_s
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self._last_cut = -np.inf
        self.score = 0.0  # the last frame's score, for inspection

    def update(self, time: float, grey: np.ndarray) -> bool:
        hist = np.bincount((grey >> 3).ravel(), minlength=CUT_HIST_BINS) / grey.size
        prev, self._prev = self._prev, (grey.copy(), hist)  # the caller may reuse its buffer
        if prev is None or prev[0].shape != grey.shape:  # the first frame is no cut
            self.score = 0.0
            return False
        self.score = cut_score(grey, hist, *prev)
        if self.score < self.threshold or time - self._last_cut < self.min_scene_s:
            return False
        self._last_cut = time
        return True


def flow_magnitude(prev_grey: np.ndarray, grey: np.ndarray, dt: float) -> float:
    """Mean Farneback optical-flow magnitude between two thumbnails, in frame widths per second.
    (Run on the thumbnail: ~1 ms there, 21-28 ms on a 400 px image.)"""
    if prev_grey.shape != grey.shape or dt <= 0:
        return 0.0
    flow = cv2.calcOpticalFlowFarneback(prev_grey, grey, None, 0.5, 3, 9, 3, 5, 1.1, 0)
    magnitude = np.sqrt((flow**2).sum(axis=2))
    return float(magnitude.mean()) / grey.shape[1] / dt
