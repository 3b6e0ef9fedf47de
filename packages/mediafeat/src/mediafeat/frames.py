"""What the visual detectors see of a decoded frame: its time and two cheap, cached images.

The extractor wraps each PyAV frame in a `DecodedFrame`; tests and callers with images in
memory use `ArrayFrame`. Both are upright (a phone video's rotation is already applied).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class FrameView(Protocol):
    time: float  # seconds on the recording's clock, from the stream's timestamps

    def grey(self) -> np.ndarray:
        """(h, motion_width) uint8 luma thumbnail; taken for every decoded frame, so cheap."""

    def rgb(self) -> np.ndarray:
        """(h, w, 3) uint8 RGB, longest side analysis_size; only for sampled frames."""


def fit_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """(w, h) scaled so the longest side is `longest` (never up), both even, at least 2."""
    scale = min(1.0, longest / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def thumb_size(width: int, height: int, thumb_width: int) -> tuple[int, int]:
    w = min(thumb_width, width)
    return max(2, w), max(2, round(height * w / width))


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class ArrayFrame:
    """A frame from an RGB array (h, w, 3) uint8; sizes as the extractor would make them."""

    def __init__(self, time: float, rgb: np.ndarray, analysis_size: int = 640,
                 motion_width: int = 160):  # fmt: skip
        self.time = float(time)
        self._full = np.ascontiguousarray(rgb, dtype=np.uint8)
        self._analysis_size = analysis_size
        self._motion_width = motion_width

    def grey(self) -> np.ndarray:
        import cv2

        h, w = self._full.shape[:2]
        return _resize(
            cv2.cvtColor(self._full, cv2.COLOR_RGB2GRAY), thumb_size(w, h, self._motion_width)
        )

    def rgb(self) -> np.ndarray:
        h, w = self._full.shape[:2]
        return _resize(self._full, fit_size(w, h, self._analysis_size))


_LUMA_8BIT = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12",
              "nv21", "gray"}  # fmt: skip


class DecodedFrame:
    """A PyAV video frame, its images made on demand: the grey thumbnail straight from the luma
    plane where it is 8-bit (no colour conversion), the RGB image through swscale."""

    def __init__(self, frame, time: float, analysis_size: int, motion_width: int):
        self.time = time
        self._frame = frame
        self._turns = (int(frame.rotation or 0) // 90) % 4  # counter-clockwise quarter turns
        self._analysis_size = analysis_size
        self._motion_width = motion_width
        self._grey: np.ndarray | None = None
        self._rgb: np.ndarray | None = None

    def _upright(self, image: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.rot90(image, self._turns)) if self._turns else image

    def _size(self, size: tuple[int, int]) -> tuple[int, int]:
        return size[::-1] if self._turns % 2 else size  # sizes are asked for upright

    def grey(self) -> np.ndarray:
        if self._grey is None:
            frame = self._frame
            w, h = (frame.height, frame.width) if self._turns % 2 else (frame.width, frame.height)
            size = self._size(thumb_size(w, h, self._motion_width))
            if frame.format.name in _LUMA_8BIT:
                plane = frame.planes[0]
                luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
                grey = _resize(luma[: frame.height, : frame.width], size)
            else:  # 10-bit, RGB, palette ...: let swscale convert
                grey = frame.reformat(width=size[0], height=size[1], format="gray").to_ndarray()
            self._grey = self._upright(grey)
        return self._grey

    def rgb(self) -> np.ndarray:
        if self._rgb is None:
            frame = self._frame
            w, h = (frame.height, frame.width) if self._turns % 2 else (frame.width, frame.height)
            size = self._size(fit_size(w, h, self._analysis_size))
            image = frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
            self._rgb = self._upright(image)
        return self._rgb
