"""What the umbrella reads back from mediafeat's output: merged schemas, media facts, and the
frame rate and picture size a prediction is written with."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from featalign import discover_features
from mediafeat import MediaInfo
from mediafeat.columns import MEDIA_JSON, SCHEMA_TOML
from mediafeat.probe import write_media_json
from mediafeat.schema import schema_toml
from xmlai.features import feature_schemas, media_info
from xmlai.predict import _audio_note, _frame_rate, _source_media
from xmlai.runlog import PipelineError


def _recording(root: Path, stem: str, visual: list[str], fps: str = "30000/1001") -> Path:
    folder = root / stem
    folder.mkdir(parents=True)
    (folder / "visual.csv").write_text(
        ",".join(["time", *visual]) + "\n0," + "0," * (len(visual) - 1) + "0\n"
    )
    (folder / SCHEMA_TOML).write_text(schema_toml({"visual": ["time", *visual]}))
    info = MediaInfo(path=f"{stem}.mp4", container="mp4", duration_s=2.0, has_video=True,
                     has_audio=False, fps=fps, width=1440, height=1080, display_width=1440,
                     display_height=1080)  # fmt: skip
    write_media_json(info, folder / MEDIA_JSON)
    return folder


def test_schemas_of_all_recordings_are_merged(tmp_path):
    _recording(tmp_path, "a", ["motion", "scene_cut", "face_count"])
    _recording(tmp_path, "b", ["motion", "text_present"])
    visual = feature_schemas(tmp_path)["visual"]
    assert set(visual.binary) == {"scene_cut", "text_present"}
    assert visual.discrete == ["face_count"] and visual.continuous == ["motion"]


def test_a_column_with_two_kinds_names_both_files(tmp_path):
    _recording(tmp_path, "a", ["scene_cut"])
    folder = _recording(tmp_path, "b", ["motion"])
    (folder / SCHEMA_TOML).write_text('[modalities.visual]\ncontinuous = ["scene_cut"]\n')
    with pytest.raises(PipelineError, match="scene_cut") as err:
        feature_schemas(tmp_path)
    assert "a/schema.toml" in str(err.value) and "b/schema.toml" in str(err.value)


def test_no_schema_files_means_featalign_defaults(tmp_path):
    (tmp_path / "talk.audio.csv").write_text("time,rms\n0,0\n")
    assert feature_schemas(tmp_path) == {}


def test_media_facts_are_found_by_the_video_name(tmp_path):
    _recording(tmp_path, "My Talk", ["motion"])
    index = discover_features(tmp_path)
    info = media_info(index, "file://localhost/Volumes/x/My%20Talk.MOV")
    assert info is not None and info.fps == "30000/1001"
    assert media_info(index, "other.mp4") is None


def test_frame_rate_from_option_then_media_json_then_a_logged_guess(tmp_path):
    info = MediaInfo(path="a.mp4", container="mp4", duration_s=1.0, has_video=True,
                     has_audio=False, fps="25")  # fmt: skip
    assert _frame_rate(29.97, info, {"fps": 30.0}) == (Fraction(30000, 1001), "option")
    assert _frame_rate(None, info, {"fps": 30.0}) == (Fraction(25), "media.json")
    assert _frame_rate(None, None, {"fps": 30.0})[1] == "training edits (guessed)"


def test_the_written_edit_points_at_the_recording_at_its_size(tmp_path):
    video = tmp_path / "new stream é.mp4"
    info = MediaInfo(path=str(video), container="mp4", duration_s=1.0, has_video=True,
                     has_audio=True, display_width=1080, display_height=1920)  # fmt: skip
    media = _source_media(video, info)
    assert media.path == str(video.resolve()) and media.name == "new stream é.mp4"
    assert (media.width, media.height, media.audio_channels) == (1080, 1920, 2)
    silent = _source_media(None, replace(info, has_audio=False))
    assert silent.path == str(video) and silent.audio_channels == 0
    assert _source_media(None, None).path is None


def test_a_recording_that_is_not_here_is_written_with_a_warning(tmp_path, caplog):
    info = MediaInfo(path="/Volumes/Shoot/day 1.mov", container="mov", duration_s=1.0,
                     has_video=True, has_audio=False)  # fmt: skip
    with caplog.at_level("WARNING", logger="xmlai"):
        media = _source_media(None, info)
    assert media.path == "/Volumes/Shoot/day 1.mov" and media.audio_channels == 0
    assert "does not exist here" in caplog.text and "relink" in caplog.text
    assert _audio_note(media).startswith("none")


def test_one_recordings_schema_ignores_the_others(tmp_path):
    from xmlai.features import recording_schemas

    _recording(tmp_path, "a", ["scene_cut"])
    folder = _recording(tmp_path, "b", ["motion"])
    (folder / SCHEMA_TOML).write_text('[modalities.visual]\ncontinuous = ["scene_cut"]\n')
    index = discover_features(tmp_path)
    assert recording_schemas(index, "a.mp4")["visual"].binary == ["scene_cut"]
    assert recording_schemas(index, "none.mp4") == {}
