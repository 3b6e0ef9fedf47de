"""Hostile or unusual input to the commands: a damaged run folder, an impossible frame rate,
feature files that are not what they say, a config that is not UTF-8, an output path that is a
file. Each is one line naming the file or setting, exit code 2, and no traceback."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from xmlai.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[-1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny corpus, its build and a one-epoch run: (corpus, run)."""
    root = tmp_path_factory.mktemp("hostile")
    corpus, build, run = root / "corpus", root / "build", root / "run"
    assert invoke("synth", corpus, "--edits", 6, "--seconds", 8).exit_code == 0
    result = invoke("build", corpus / "xml", corpus / "features", "-o", build)
    assert result.exit_code == 0, result.output
    result = invoke("train", build, "-r", run, "--set", "train.epochs=1")
    assert result.exit_code == 0, result.output
    return corpus, run


def _features(tmp_path, corpus, name="rec_0000"):
    """A copy of one recording's features as `rec` in a new folder."""
    target = tmp_path / "features" / "rec"
    shutil.copytree(corpus / "features" / name, target)
    return tmp_path / "features", target


@pytest.mark.parametrize(
    "damage, message",
    [
        ('{"format": "xmlai-run-in', "not valid JSON"),
        ("[1, 2]", "not a run's inputs"),
        (lambda d: d.pop("modalities"), "modalities is missing or not valid"),
        (lambda d: d["settings"].update({"data.window": "abc"}), "data.window must be int"),
    ],
)
def test_a_damaged_inputs_json_is_named(trained, tmp_path, damage, message):
    corpus, run = trained
    broken = tmp_path / "run"
    shutil.copytree(run, broken)
    path = broken / "inputs.json"
    if callable(damage):
        data = json.loads(path.read_text())
        damage(data)
        path.write_text(json.dumps(data))
    else:
        path.write_text(damage)
    result = invoke("predict", "-r", broken, corpus / "features", "rec_0000", "-o", tmp_path / "p")
    line = one_error_line(result)
    assert str(path) in line and message in line


@pytest.mark.parametrize("fps", ["nan", "inf", "-30", "0", "0.0001", "1e6"])
def test_an_impossible_frame_rate_is_refused(trained, tmp_path, fps):
    corpus, run = trained
    out = tmp_path / "p"
    result = invoke("predict", "-r", run, corpus / "features", "rec_0000", "-o", out, "--fps", fps)
    assert "--fps must be a frame rate from 1 to 1000" in one_error_line(result)
    assert not (out / "rec_0000.xml").exists()


def test_a_usual_frame_rate_still_predicts(trained, tmp_path):
    corpus, run = trained
    out = tmp_path / "p"
    result = invoke(
        "predict", "-r", run, corpus / "features", "rec_0000", "-o", out, "--fps", 29.97
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "predict.json").read_text())["fps"] == "30000/1001"


def test_a_corrupt_parquet_feature_file_is_named(trained, tmp_path):
    corpus, run = trained
    features, rec = _features(tmp_path, corpus)
    parquet = next(rec.glob("*.parquet"))
    parquet.write_bytes(b"not parquet at all")
    result = invoke("predict", "-r", run, features, "rec", "-o", tmp_path / "p")
    line = one_error_line(result)
    assert str(parquet) in line and "not a readable Parquet file" in line


def test_a_parquet_feature_file_without_rows_is_named(trained, tmp_path):
    corpus, run = trained
    features, rec = _features(tmp_path, corpus)
    parquet = next(rec.glob("*.parquet"))
    pd.read_parquet(parquet).head(0).to_parquet(parquet)
    line = one_error_line(invoke("predict", "-r", run, features, "rec", "-o", tmp_path / "p"))
    assert str(parquet) in line and "no rows" in line


def _shift_times(rec, change):
    for path in rec.iterdir():
        read, write = (
            (pd.read_csv, lambda d, p: d.to_csv(p, index=False))
            if path.suffix == ".csv"
            else (pd.read_parquet, lambda d, p: d.to_parquet(p))
        )
        table = read(path)
        table["time"] = change(table["time"])
        write(table, path)


def test_features_that_all_lie_before_the_start_are_named(trained, tmp_path):
    corpus, run = trained
    features, rec = _features(tmp_path, corpus)
    _shift_times(rec, lambda t: t - 1000)
    line = one_error_line(invoke("predict", "-r", run, features, "rec", "-o", tmp_path / "p"))
    assert "every feature time is before 0 s" in line and str(rec) in line


def test_a_feature_time_far_past_any_recording_is_one_line(trained, tmp_path):
    corpus, run = trained
    features, rec = _features(tmp_path, corpus)
    _shift_times(rec, lambda t: t.where(t.index < len(t) - 1, 1e18))
    line = one_error_line(invoke("predict", "-r", run, features, "rec", "-o", tmp_path / "p"))
    assert "cannot hold the model's outputs" in line


def test_a_config_that_is_not_utf8_is_named(tmp_path):
    config = tmp_path / "run.toml"
    config.write_bytes(b"\xff\xfe[data]\n")
    result = invoke("build", tmp_path, tmp_path, "-o", tmp_path / "b", "--config", config)
    assert f"{config}: not UTF-8 text" in one_error_line(result)


@pytest.mark.parametrize(
    "setting, message",
    [
        ("data.max_gap_s=-1", "data.max_gap_s must be > 0"),
        ("data.workers=-3", "data.workers must be >= 0"),
        ("smooth.min_on_frames=-5", "smooth.min_on_frames must be >= 0"),
        ("smooth.param_tolerance_scale=-1.0", "smooth.param_tolerance_scale must be >= 0"),
    ],
)
def test_settings_that_would_silently_mask_or_misread_are_refused(tmp_path, setting, message):
    result = invoke("build", tmp_path, tmp_path, "-o", tmp_path / "b", "--set", setting)
    assert message in one_error_line(result)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["build", "{d}", "{d}", "-o", "{f}"],
        ["train", "{b}", "-r", "{f}"],
        ["evaluate", "{B}", "-r", "{R}", "-o", "{f}"],
        ["predict", "-r", "{d}", "{d}", "rec", "-o", "{f}"],
    ],
)
def test_an_output_path_that_is_a_file_is_refused_and_kept(trained, tmp_path, command):
    _, run = trained
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "build.json").write_text("{}")
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    names = {"d": tmp_path, "f": target, "b": tmp_path / "b", "B": run.parent / "build", "R": run}
    line = one_error_line(invoke(*(part.format(**names) for part in command)))
    assert f"{target} exists and is not a folder" in line
    assert target.read_text() == "mine"


@pytest.mark.parametrize(
    "command",
    [
        ["build", "{C}/xml", "{C}/features", "-o", "{o}", "--overwrite"],
        ["evaluate", "{B}", "-r", "{R}", "-o", "{o}"],
        ["predict", "-r", "{R}", "{C}/features", "rec_0000", "-o", "{o}", "--overwrite"],
    ],
)
def test_a_folder_another_command_is_writing_is_left_to_it(trained, tmp_path, command):
    from trainer import lock_run_dir

    corpus, run = trained
    names = {"C": corpus, "B": run.parent / "build", "R": run, "o": tmp_path / "out"}
    args = [part.format(**names) for part in command]
    assert invoke(*args).exit_code == 0  # the folder is xmlai's own, so it may be replaced
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*"))
    with lock_run_dir(tmp_path / "out", command="xmlai other"):
        line = one_error_line(invoke(*args))
    assert "is in use by" in line and "xmlai other" in line
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*")) == before
    assert invoke(*args).exit_code == 0  # once the other command is done
