"""The gradient-boosted baseline's context features: rolling mean, min and max of each scalar
feature over ±0.5, ±1 and ±2 s, with the recording's edges held."""

from __future__ import annotations

import numpy as np
import pytest

from xmlai.boosted import _rolling
from xmlai.metrics import when_on


def test_rolling_statistics_cover_the_window_each_side_and_hold_the_edges():
    x = np.arange(10, dtype=np.float32)[:, None]
    mean, low, high = _rolling(x, 2)
    assert mean.shape == low.shape == high.shape == (10, 1)
    assert (low[5, 0], high[5, 0], mean[5, 0]) == (3, 7, 5)
    assert (low[0, 0], high[0, 0]) == (0, 2)  # the first frame repeated before the start
    assert mean[0, 0] == pytest.approx((0 + 0 + 0 + 1 + 2) / 5)


def test_asset_and_parameters_come_from_the_frames_a_track_is_on():
    tracks = np.tile([0, 0, 100, 0, 0, 0, 0, 0, 0], (6, 2, 1)).astype(float)
    tracks[:4, 0, :3] = [1, 4, 60]
    tracks[4:, 0, :3] = [1, 5, 80]
    block = when_on(tracks)
    assert block[0, 1] == 4 and block[0, 2] == pytest.approx((4 * 60 + 2 * 80) / 6)
    assert list(block[1]) == [0, 0, 100, 0, 0, 0, 0, 0, 0]  # never on: neutral
