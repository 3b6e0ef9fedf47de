"""Test media the tests make themselves: PyAV encodes frames and audio with known events."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def write_video(
    path: Path,
    n_frames: int,
    fps: Fraction | int = 30,
    size: tuple[int, int] = (320, 180),
    frame: Callable[[int], np.ndarray] | None = None,
    audio: np.ndarray | None = None,
    sample_rate: int = 48000,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio_codec: str = "aac",
    rotation: int = 0,
    timecode: str | None = None,
    frame_times: np.ndarray | None = None,
) -> Path:
    """Encode `n_frames` frames (frame(i) -> (h, w, 3) uint8 RGB; grey ramps by default) and,
    optionally, audio (channels, samples) float32. `frame_times` (seconds) gives a variable
    frame rate; otherwise frame i is at i / fps exactly (pts = i at time base 1/fps)."""
    import av

    fps = Fraction(fps)
    width, height = size
    frame = frame or (lambda i: np.full((height, width, 3), (i * 7) % 256, np.uint8))
    with av.open(str(path), "w") as out:
        if n_frames:
            video = out.add_stream(codec, rate=fps)
            video.width, video.height, video.pix_fmt = width, height, pix_fmt
            if frame_times is not None:
                video.codec_context.time_base = Fraction(1, 90000)
            if rotation:
                video.set_display_rotation(rotation)
            if timecode:
                video.metadata["timecode"] = timecode
        if audio is not None:
            layout = "stereo" if audio.shape[0] == 2 else "mono"
            sound = out.add_stream(audio_codec, rate=sample_rate, layout=layout)
        for i in range(n_frames):
            image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame(i)), format="rgb24")
            if frame_times is not None:
                image.pts, image.time_base = round(frame_times[i] * 90000), Fraction(1, 90000)
            else:
                image.pts = i
            out.mux(video.encode(image))
        if n_frames:
            out.mux(video.encode())
        if audio is not None:
            _encode_audio(out, sound, audio, sample_rate)
    return path


def _encode_audio(out, stream, audio: np.ndarray, sample_rate: int) -> None:
    import av

    layout = "stereo" if audio.shape[0] == 2 else "mono"
    block = 1024
    for start in range(0, audio.shape[1], block):
        chunk = np.ascontiguousarray(audio[:, start : start + block], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts = sample_rate, start
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def tone(seconds: float, freq: float = 220.0, amp: float = 0.5, rate: int = 48000, channels=2):
    t = np.arange(int(seconds * rate)) / rate
    return np.tile(amp * np.sin(2 * np.pi * freq * t, dtype=np.float64), (channels, 1)).astype(
        np.float32
    )


@pytest.fixture(name="tone")
def tone_fixture():
    return tone


@pytest.fixture
def make_video(tmp_path):
    def make(name: str = "clip.mp4", **kwargs) -> Path:
        return write_video(tmp_path / name, **kwargs)

    return make
