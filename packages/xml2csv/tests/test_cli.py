"""The `xml2csv` command, through typer's runner."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from xml2csv.cli import app

runner = CliRunner()


def test_convert_writes_one_table(xm, write, tmp_path):
    path = write(xm.document(xm.track(xm.clip(0, 12, 0, 12))))
    result = runner.invoke(
        app, ["convert", str(path), "-o", str(tmp_path / "t.csv"), "-n", "2", "-p", "opacity"]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == 12 and "t02_opacity" in table and "t03_active" not in table


def test_convert_of_a_bad_file_exits_2_and_writes_nothing(write, tmp_path):
    path = write(b"<xmeml><sequence>")
    result = runner.invoke(app, ["convert", str(path), "-o", str(tmp_path / "t.csv")])
    assert result.exit_code == 2 and "not well-formed" in result.output
    assert not (tmp_path / "t.csv").exists()


def test_batch_exit_code_says_whether_any_failed(xm, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ok.xml").write_bytes(xm.document(xm.track(xm.clip(0, 3, 0, 3))))
    ok = runner.invoke(
        app, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "o1"), "--no-progress"]
    )
    assert ok.exit_code == 0, ok.output
    (tmp_path / "in" / "bad.xml").write_text("nope")
    bad = runner.invoke(
        app, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "-w", "1", "--no-progress"]
    )
    assert bad.exit_code == 1 and "1 ok, 1 failed" in bad.output
    empty = runner.invoke(app, ["batch", str(tmp_path / "o1"), "-o", str(tmp_path / "o3")])
    assert empty.exit_code == 2 and "no .xml files" in empty.output


def test_inspect_reports_tracks_main_source_and_guesses(xm, write):
    path = write(xm.document(xm.track(xm.clip(-1, 20, 0, 10)), xm.track(xm.gen(0, 5, "Text"))))
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["main_source"] == "main.mp4" and info["frames"] == 20
    assert info["video_tracks"][1]["roles"] == {"text": 1}
    assert any("no transition" in g for g in info["guesses"])
    human = runner.invoke(app, ["inspect", str(path)])
    assert "V2" in human.output and "guesses     1" in human.output


def test_batch_into_an_output_that_is_a_file_exits_2(xm, write, tmp_path):
    write(xm.document(xm.track(xm.clip(0, 12, 0, 12))), "in/a.xml")
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    result = runner.invoke(
        app, ["batch", str(tmp_path / "in"), "-o", str(blocker), "--no-progress"]
    )
    assert result.exit_code == 2 and "cannot write" in result.output, result.output
    assert blocker.read_text() == "not a folder"


def test_batch_never_writes_among_someone_elses_files(xm, write, tmp_path):
    write(xm.document(xm.track(xm.clip(0, 12, 0, 12))), "in/a.xml")
    theirs = tmp_path / "out"
    theirs.mkdir()
    (theirs / "tracks.csv").write_text("their own table")
    args = ["batch", str(tmp_path / "in"), "-o", str(theirs), "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "did not make it" in result.output, result.output
    assert (theirs / "tracks.csv").read_text() == "their own table"
    assert sorted(p.name for p in theirs.iterdir()) == ["tracks.csv"]
    ours = tmp_path / "ours"
    for _ in range(2):  # a batch's own folder (and an empty one) is written again
        args = ["batch", str(tmp_path / "in"), "-o", str(ours), "--no-progress"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert (ours / "tracks.csv").stat().st_size > 0


def test_inspect_of_odd_digits_exits_2(xm, write):
    path = write(xm.document(xm.track(xm.clip("²", 12, 0, 12))))
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 2 and "<start>" in result.output, result.output
