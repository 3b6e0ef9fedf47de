"""The Typer CLI: align and validate write their outputs, a log and a JSON summary."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from featalign.cli import app

runner = CliRunner()


def test_align_writes_store_log_and_summary(corpus):
    out = corpus["root"] / "store"
    train = corpus["root"] / "train.txt"
    train.write_text("edit one\nedit/two\n")
    args = ["align", str(corpus["tracks"]), "-f", str(corpus["features"]), "-o", str(out)]
    result = runner.invoke(app, [*args, "--fit-on", str(train)])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").exists()
    summary = json.loads((corpus["root"] / "store.align.json").read_text())
    assert (
        summary["ok"] and summary["n_edits"] == 3 and summary["modalities"] == ["audio", "visual"]
    )
    assert "no visual features" in (corpus["root"] / "store.align.log").read_text()
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already exists" in again.output
    assert "Traceback" not in again.output


def test_validate_writes_csv_markdown_log_and_summary(corpus):
    (corpus["features"] / "broken.audio.csv").write_text("x,y\n1,2\n")
    out = corpus["root"] / "report"
    result = runner.invoke(
        app,
        ["validate", str(corpus["features"]), "-o", str(out), "--tracks", str(corpus["tracks"])],
    )
    assert result.exit_code == 1  # one file has no time column
    report = (out / "report.csv").read_text()
    assert "no time column" in report and "missing" in report  # video_b lacks visual
    assert (out / "report.md").read_text().startswith("# featalign corpus report")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"]["error"] == 1 and not summary["ok"]
    assert (out / "validate.log").exists()


def test_help_works():
    assert runner.invoke(app, ["--help"]).exit_code == 0


def test_bad_schema_is_one_line_not_a_traceback(corpus):
    bad = corpus["root"] / "schema.toml"
    bad.write_text("colour = 1\n")
    out = corpus["root"] / "store"
    result = runner.invoke(
        app,
        ["align", str(corpus["tracks"]), "-f", str(corpus["features"]), "-o", str(out),
         "--schema", str(bad)],
    )  # fmt: skip
    assert result.exit_code == 2 and "colour" in result.output
    assert not out.exists()
    summary = json.loads((corpus["root"] / "store.align.json").read_text())
    assert summary["ok"] is False and "colour" in summary["error"]


def test_validate_fails_on_zero_matches_and_finds_files_by_the_naming(tmp_path):
    features = tmp_path / "features"
    features.mkdir()
    for stem in ("talk_a", "talk_b"):
        (features / f"{stem}_audio.csv").write_text("time,rms\n0,0.1\n0.5,0.2\n")
    out = tmp_path / "report"
    result = runner.invoke(app, ["validate", str(features), "-o", str(out)])
    assert result.exit_code == 2 and "no file follows the naming" in result.output
    assert "'talk_a_audio.csv'" in result.output and "Traceback" not in result.output
    assert not json.loads((out / "summary.json").read_text())["ok"]
    result = runner.invoke(
        app, ["validate", str(features), "-o", str(out), "--naming", "{stem}_{modality}.{ext}"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] and summary["files"] == 2
