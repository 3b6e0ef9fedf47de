"""probe(): the facts media.json records, on files PyAV writes with known properties."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mediafeat.errors import MediaError
from mediafeat.probe import MediaInfo, exact_rate, probe


@pytest.mark.parametrize(
    "fps", [Fraction(25), Fraction(30000, 1001), Fraction(30), Fraction(60000, 1001)]
)
def test_exact_frame_rate_and_frame_count(make_video, fps):
    info = probe(make_video(n_frames=45, fps=fps))
    assert Fraction(info.fps) == fps
    assert info.frame_count == 45
    assert info.duration_s == pytest.approx(45 / float(fps), abs=1.5 / float(fps))
    assert not info.variable_frame_rate


@pytest.mark.parametrize(
    ("rate", "exact"),
    [(29.97, Fraction(30000, 1001)), (Fraction(2997, 100), Fraction(30000, 1001)),
     (23.976, Fraction(24000, 1001)), (59.94, Fraction(60000, 1001)), (25.0, Fraction(25)),
     (12.5, Fraction(25, 2))],
)  # fmt: skip
def test_exact_rate_snaps_ntsc_rates(rate, exact):
    assert exact_rate(rate) == exact


def test_size_audio_timecode_and_json_round_trip(make_video, tone):
    path = make_video(n_frames=30, size=(320, 240), audio=tone(1.0), timecode="01:00:00:00")
    info = probe(path)
    assert (info.width, info.height, info.display_width, info.display_height) == (320, 240) * 2
    assert info.container == "mp4" and info.video_codec == "h264" and info.bit_depth == 8
    assert (info.audio_channels, info.audio_sample_rate, info.audio_codec) == (2, 48000, "aac")
    assert info.start_timecode == "01:00:00:00"
    assert MediaInfo.from_dict(info.to_dict()) == info


def test_rotated_phone_video_reports_display_size(make_video):
    info = probe(make_video(n_frames=10, size=(320, 180), rotation=90))
    assert info.rotation == 90
    assert (info.display_width, info.display_height) == (180, 320)


def test_variable_frame_rate_is_detected(make_video):
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.choice([1 / 30, 1 / 15, 1 / 60], size=90))
    info = probe(make_video(n_frames=90, fps=30, frame_times=times))
    assert info.variable_frame_rate
    assert any("variable frame rate" in w for w in info.warnings)


def test_audio_only_and_ten_bit(make_video, tone):
    audio = probe(make_video("talk.m4a", n_frames=0, audio=tone(1.0, channels=1)))
    assert not audio.has_video and audio.has_audio and audio.audio_channels == 1
    deep = probe(make_video("deep.mkv", n_frames=8, codec="libx265", pix_fmt="yuv420p10le"))
    assert deep.bit_depth == 10 and deep.container == "matroska" and deep.video_codec == "hevc"


def test_vp9_webm(make_video, tone):
    info = probe(make_video("clip.webm", n_frames=12, fps=25, codec="libvpx-vp9",
                            audio=tone(0.5), audio_codec="libopus"))  # fmt: skip
    assert info.container == "webm" and info.video_codec == "vp9"
    assert Fraction(info.fps) == 25 and info.audio_codec in ("opus", "libopus")


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty file"), (b"hello, I am text\n" * 50, "not a readable media file")],
)
def test_bad_files_name_the_file(tmp_path, content, expected):
    path = tmp_path / "bad clip é.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=expected) as err:
        probe(path)
    assert str(path) in str(err.value)


def test_missing_and_folder(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(MediaError, match="is a folder"):
        probe(tmp_path)


def test_unreadable_file(make_video, monkeypatch):
    """As root every file is readable, so the refusal FFmpeg would get is simulated."""
    import av

    path = make_video(n_frames=5)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(av, "open", refuse)
    with pytest.raises(MediaError, match="permission denied") as err:
        probe(path)
    assert str(path) in str(err.value)
