"""extract(): one decoding pass -> a complete features folder, or none; resumable; partial
results for damaged files; media.json corrected by what was decoded."""

from __future__ import annotations

import importlib
import json
import os
import tomllib
from fractions import Fraction

import numpy as np
import pyarrow.parquet as pq
import pytest

from mediafeat import ExtractConfig, MediaError, ModelFileError, extract, is_current
from mediafeat.columns import AUDIO_COLUMNS, EXTRACT_JSON, MEDIA_JSON, SCHEMA_TOML, TIME

FAST = ExtractConfig(text=False, faces=False)  # the detectors have their own tests


def _cut_at(n: int, size=(320, 180)):
    """Frames: one flat image before frame n, a different textured one from n on."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    before = np.zeros((h, w, 3), np.uint8) + np.array([30, 60, 200], np.uint8)
    after = np.stack([(xx * 3) % 256, (yy * 5) % 256, ((xx + yy) * 2) % 256], -1).astype(np.uint8)
    return lambda i: before if i < n else after


@pytest.fixture
def clip(make_video, tone):
    sound = np.concatenate([tone(1.0), np.zeros((2, 48000), np.float32), tone(1.0)], axis=1)
    return make_video("my clip é.mp4", n_frames=90, fps=30, frame=_cut_at(45), audio=sound)


def _table(folder, modality) -> dict[str, np.ndarray]:
    """The file's columns in order (mediafeat needs no pandas, nor do its tests)."""
    table = pq.read_table(folder / f"{modality}.parquet")
    return {name: table.column(name).to_numpy() for name in table.column_names}


def test_writes_every_file_with_stream_times(clip, tmp_path):
    result = extract(clip, tmp_path / "features", FAST)
    folder = tmp_path / "features" / "my clip é"
    assert result.status == "ok" and result.out == str(folder)
    assert {p.name for p in folder.iterdir()} >= {
        "audio.parquet", "visual.parquet", MEDIA_JSON, SCHEMA_TOML, EXTRACT_JSON,
    }  # fmt: skip
    audio, visual = _table(folder, "audio"), _table(folder, "visual")
    assert list(audio) == [TIME, *AUDIO_COLUMNS]
    assert np.median(np.diff(audio[TIME])) == pytest.approx(0.02)
    assert result.modalities == {"audio": len(audio[TIME]), "visual": len(visual[TIME])}
    # visual rows sit on frame times (k / 30 s), 5 per second, plus the cut's own row
    frames = visual[TIME] * 30
    assert np.allclose(frames, np.round(frames), atol=1e-6)
    cut_rows = visual[TIME][visual["scene_cut"] == 1]
    assert cut_rows == pytest.approx([45 / 30])
    # the silence between the tones
    t, rms = audio[TIME], audio["rms"]
    assert rms[(t > 1.2) & (t < 1.8)].max() < 0.01 < rms[(t > 0.2) & (t < 0.8)].min()


def test_media_json_and_summary(clip, tmp_path):
    extract(clip, tmp_path, FAST)
    folder = tmp_path / "my clip é"
    media = json.loads((folder / MEDIA_JSON).read_text())
    assert media["fps"] == "30" and media["frame_count"] == 90
    assert media["frame_count_source"] == "decoded"
    assert (media["width"], media["height"], media["audio_channels"]) == (320, 180, 2)
    done = json.loads((folder / EXTRACT_JSON).read_text())
    assert done["status"] == "ok" and done["realtime_factor"] > 0
    assert done["media_seconds"] == pytest.approx(3.0, abs=0.1)


def test_schema_declares_kinds(clip, tmp_path):
    extract(clip, tmp_path, FAST)
    schema = tomllib.loads((tmp_path / "my clip é" / SCHEMA_TOML).read_text())
    assert schema["time_column"] == TIME
    visual, audio = schema["modalities"]["visual"], schema["modalities"]["audio"]
    assert "scene_cut" in visual["binary"] and "is_speaking" in audio["binary"]
    assert "motion" in visual["continuous"] and "rms" in audio["continuous"]
    width = visual["embeddings"]["emb"]
    columns = _table(tmp_path / "my clip é", "visual")
    assert width == sum(c.startswith("emb_") for c in columns) > 0


def test_rerun_skips_current_and_redoes_changed(clip, tmp_path):
    assert extract(clip, tmp_path, FAST).status == "ok"
    assert is_current(clip, tmp_path, FAST)
    assert extract(clip, tmp_path, FAST).status == "skipped"
    assert extract(clip, tmp_path, FAST, overwrite=True).status == "ok"
    other = ExtractConfig(text=False, faces=False, visual_rate_hz=2.0)
    assert not is_current(clip, tmp_path, other)
    assert extract(clip, tmp_path, other).status == "ok"
    stat = clip.stat()
    os.utime(clip, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the video was replaced
    assert not is_current(clip, tmp_path, other)


def test_refuses_a_folder_it_did_not_make(clip, tmp_path):
    mine = tmp_path / "my clip é"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(MediaError, match="not made by mediafeat"):
        extract(clip, tmp_path, FAST)
    assert (mine / "notes.txt").read_text() == "mine"


def test_a_failure_leaves_nothing_behind(clip, tmp_path, monkeypatch):
    from mediafeat import visual

    def boom(self):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(visual.VisualExtractor, "finish", boom)
    with pytest.raises(RuntimeError):
        extract(clip, tmp_path / "out", FAST)
    assert list((tmp_path / "out").iterdir()) == []


def test_no_audio_stream_and_audio_only(make_video, tone, tmp_path):
    silent = extract(make_video("silent.mp4", n_frames=30), tmp_path, FAST)
    assert set(silent.modalities) == {"visual"} and "audio" in silent.skipped
    talk = extract(make_video("talk.m4a", n_frames=0, audio=tone(1.0)), tmp_path, FAST)
    assert set(talk.modalities) == {"audio"} and "visual" in talk.skipped


def test_truncated_file_keeps_what_was_decoded(make_video, tmp_path):
    whole = make_video("long.mkv", n_frames=150, fps=25, frame=_cut_at(200))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = extract(cut, tmp_path / "out", FAST)
    assert result.status == "partial"
    assert any("decoded" in w or "stopped" in w for w in result.warnings)
    times = _table(tmp_path / "out" / "cut", "visual")[TIME]
    assert 0.5 < times.max() < 5.5
    assert result.media_seconds == pytest.approx(times.max(), abs=0.5)


@pytest.mark.parametrize("fps", [Fraction(30000, 1001), Fraction(60000, 1001)])
def test_ntsc_frame_times_come_from_the_stream(make_video, tmp_path, fps):
    result = extract(make_video(n_frames=40, fps=fps), tmp_path, FAST)
    times = _table(tmp_path / "clip", "visual")[TIME]
    frames = times * float(fps)
    assert np.allclose(frames, np.round(frames), atol=1e-3)
    assert json.loads((tmp_path / "clip" / MEDIA_JSON).read_text())["fps"] == str(fps)
    assert result.status == "ok"


def test_rotated_video_is_analysed_upright(make_video, tmp_path):
    # a bright block in the coded frame's top-left; turned 90 degrees counter-clockwise for
    # display it sits bottom-left, so the salient centroid is low, not high
    def frame(i):
        image = np.zeros((180, 320, 3), np.uint8)
        image[:60, :80] = 255
        return image

    extract(make_video(n_frames=10, frame=frame, rotation=90), tmp_path, FAST)
    media = json.loads((tmp_path / "clip" / MEDIA_JSON).read_text())
    assert (media["display_width"], media["display_height"]) == (180, 320)
    visual = _table(tmp_path / "clip", "visual")
    assert visual["saliency_y"].mean() > 0.5


def test_not_a_video_is_one_error_naming_the_file(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n" * 20)
    with pytest.raises(MediaError, match=r"notes\.mp4"):
        extract(bad, tmp_path / "out", FAST)
    assert not (tmp_path / "out" / "notes").exists()


SRT = """1
00:00:00,200 --> 00:00:01,000
um hello there

2
00:00:01,500 --> 00:00:02,500
you know it works
"""


def test_a_sidecar_transcript_gives_words(make_video, tone, tmp_path):
    video = make_video("talk.mp4", n_frames=90, audio=tone(3.0))
    sidecar = tmp_path / "talk.srt"
    sidecar.write_text(SRT, encoding="utf-8")
    result = extract(video, tmp_path / "out", FAST)
    folder = tmp_path / "out" / "talk"
    words = _table(folder, "words")
    assert result.modalities["words"] == len(words[TIME])
    t, active, filler = words[TIME], words["word_active"], words["is_filler"]
    assert active[(t > 0.25) & (t < 0.95)].all() and not active[(t > 1.05) & (t < 1.45)].any()
    assert filler[(t > 0.21) & (t < 0.3)].all()  # "um" opens the first cue
    stored = json.loads((folder / "words.json").read_text())["words"]
    assert [w["text"] for w in stored][:3] == ["um", "hello", "there"]
    assert is_current(video, tmp_path / "out", FAST)
    sidecar.write_text(SRT.replace("works", "worked"), encoding="utf-8")
    os.utime(sidecar, ns=(sidecar.stat().st_atime_ns, sidecar.stat().st_mtime_ns + 10**9))
    assert not is_current(video, tmp_path / "out", FAST)  # a new transcript: not current


def test_a_wrong_speech_model_folder_fails_before_decoding(clip, tmp_path, monkeypatch):
    module = importlib.import_module("mediafeat.extract")  # the name `extract` is the function

    def never(*args, **kwargs):
        raise AssertionError("decoded although the model folder is wrong")

    monkeypatch.setattr(module, "decode", never)
    config = ExtractConfig(text=False, faces=False, asr_model=tmp_path / "no-model")
    with pytest.raises(ModelFileError, match="no-model"):
        extract(clip, tmp_path / "out", config)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_missing_video_is_one_error(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        extract(tmp_path / "gone.mp4", tmp_path / "out", FAST)
    assert not is_current(tmp_path / "gone.mp4", tmp_path / "out", FAST)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("deep.mkv", {"codec": "libx265", "pix_fmt": "yuv420p10le", "size": (320, 180)}),
     ("uhd.mp4", {"size": (3840, 2160)}),
     ("clip.webm", {"codec": "libvpx-vp9", "size": (320, 180)})],
)  # fmt: skip
def test_ten_bit_4k_and_vp9_footage(make_video, tmp_path, name, kwargs):
    result = extract(make_video(name, n_frames=12, fps=25, frame=_cut_at(6, kwargs["size"]),
                                **kwargs), tmp_path, FAST)  # fmt: skip
    visual = _table(tmp_path / name.split(".")[0], "visual")
    assert result.status == "ok" and len(visual[TIME]) >= 3
    assert visual[TIME][visual["scene_cut"] == 1] == pytest.approx([6 / 25])
    assert 0 < visual["brightness"].max() <= 1


def test_variable_frame_rate_rows_follow_the_stream(make_video, tmp_path):
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.choice([1 / 30, 1 / 12, 1 / 60], size=120))
    extract(make_video(n_frames=120, frame_times=times), tmp_path, FAST)
    media = json.loads((tmp_path / "clip" / MEDIA_JSON).read_text())
    assert media["variable_frame_rate"] and media["frame_count"] == 120
    rows = _table(tmp_path / "clip", "visual")[TIME]
    # every row is one of the stream's own frame times (relative to the first)
    shifted = times - times[0]
    assert np.abs(rows[:, None] - shifted[None, :]).min(axis=1).max() < 1e-4


def test_json_files_have_the_users_file_mode(tmp_path):
    import os
    import stat

    from mediafeat.jsonfile import write_json

    old = os.umask(0o002)  # a shared folder's umask: group may write
    try:
        write_json(tmp_path / "media.json", {"fps": 30})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "media.json").stat().st_mode) == 0o664
