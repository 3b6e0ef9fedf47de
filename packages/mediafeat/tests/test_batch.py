"""Batches: folders searched recursively, a bad file reported while the rest go on, one
features folder per recording name, one writer per features folder; and the CLI over them."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest
from typer.testing import CliRunner

from mediafeat import ExtractConfig, MediaError, extract_batch, find_recordings
from mediafeat.batch import locked
from mediafeat.cli import BATCH_JSON, BATCH_LOG, app

FAST = ExtractConfig(text=False, faces=False, embedding=False)


@pytest.fixture
def folder(make_video, tmp_path):
    make_video("a.mp4", n_frames=20)
    (tmp_path / "nested").mkdir()
    make_video("nested/b clip.mkv", n_frames=15, fps=25)
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    (tmp_path / "readme.txt").write_text("not a recording")
    (tmp_path / ".hidden").mkdir()
    make_video(".hidden/c.mp4", n_frames=5)
    return tmp_path


def test_find_recordings_recursive_by_extension(folder):
    videos, refused = find_recordings([folder])
    assert sorted(v.name for v in videos) == ["a.mp4", "b clip.mkv", "broken.mp4"]
    assert refused == []


def test_same_name_twice_fails_the_second(make_video, tmp_path):
    first = make_video("talk.mp4", n_frames=5)
    (tmp_path / "other").mkdir()
    second = make_video("other/Talk.mov", n_frames=5)
    videos, refused = find_recordings([first, second, first])
    assert videos == [first]
    assert len(refused) == 1 and "same name as" in refused[0].error
    assert str(second) in refused[0].error


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_goes_on_past_a_bad_file(folder, tmp_path, workers):
    out = tmp_path / "features"
    summary = extract_batch([folder], out, FAST, workers=workers, progress=False)
    status = {f.video.rsplit("/", 1)[-1]: f.status for f in summary.files}
    assert status == {"a.mp4": "ok", "b clip.mkv": "ok", "broken.mp4": "failed"}
    (failed,) = summary.failed
    assert "broken.mp4" in failed.error and "\n" not in failed.error
    assert (out / "a" / "visual.parquet").exists() and (out / "b clip" / "visual.parquet").exists()
    assert not (out / "broken").exists()
    again = extract_batch([folder], out, FAST, workers=workers, progress=False)
    assert again.counts() == {"ok": 0, "partial": 0, "skipped": 2, "failed": 1}


def _hold_lock(path, ready, release):
    with locked(path):
        ready.set()
        release.wait(10)


def test_a_second_writer_is_refused(tmp_path):
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(MediaError, match=f"being written by pid {holder.pid}"):
            extract_batch([tmp_path], tmp_path, FAST, progress=False)
    finally:
        release.set()
        holder.join()
    with locked(tmp_path):  # free again once the holder is gone
        pass


def test_cli_extract_reports_and_exits_1_on_a_bad_file(folder, tmp_path):
    out = tmp_path / "features"
    args = ["extract", str(folder), "-o", str(out), "--no-progress", "--workers", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "failed: " in result.output and "broken.mp4" in result.output
    summary = json.loads((out / BATCH_JSON).read_text())
    assert summary["counts"] == {"ok": 2, "partial": 0, "skipped": 0, "failed": 1}
    assert "broken.mp4" in (out / BATCH_LOG).read_text()


def test_cli_probe(make_video, tmp_path):
    video = make_video(n_frames=12, fps=25)
    result = CliRunner().invoke(app, ["probe", str(video)])
    assert result.exit_code == 0 and json.loads(result.output)["fps"] == "25"
    bad = CliRunner().invoke(app, ["probe", str(tmp_path / "missing.mp4")])
    assert bad.exit_code == 2 and "missing.mp4: no such file" in bad.output


def test_cli_refuses_bad_settings(folder, tmp_path):
    result = CliRunner().invoke(app, ["extract", str(folder), "-o", str(tmp_path / "o"),
                                      "--visual-rate", "0"])  # fmt: skip
    assert result.exit_code == 2 and "visual_rate_hz must be > 0" in result.output
    for option, value, name in (("--visual-rate", "1e12", "visual_rate_hz"),
                                ("--audio-rate", "inf", "audio_rate_hz")):  # fmt: skip
        result = CliRunner().invoke(app, ["extract", str(folder), "-o", str(tmp_path / "o"),
                                          option, value])  # fmt: skip
        assert result.exit_code == 2 and f"{name} must be at most 1000" in result.output
    assert not (tmp_path / "o").exists()


def test_cli_output_that_is_a_file_exits_2(make_video, tmp_path):
    video = make_video("a.mp4", n_frames=5)
    (tmp_path / "taken").write_text("user data")
    for out in (tmp_path / "taken", tmp_path / "taken" / "sub"):
        result = CliRunner().invoke(app, ["extract", str(video), "-o", str(out), "--no-progress"])
        assert result.exit_code == 2, result.output
        assert "taken: exists and is not a folder" in result.output
    assert (tmp_path / "taken").read_text() == "user data"


def test_cli_never_replaces_someone_elses_summary_file(make_video, tmp_path):
    video = make_video("a.mp4", n_frames=5)
    out = tmp_path / "mine"
    out.mkdir()
    (out / BATCH_JSON).write_text('{"my": "data"}')
    args = ["extract", str(video), "-o", str(out), "--no-progress", "--workers", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "not a mediafeat batch summary" in result.output
    assert (out / BATCH_JSON).read_text() == '{"my": "data"}' and not (out / "a").exists()
    (out / BATCH_JSON).unlink()  # its own summary is replaced by the next run
    assert CliRunner().invoke(app, args).exit_code == 0
    assert CliRunner().invoke(app, [*args, "--overwrite"]).exit_code == 0
