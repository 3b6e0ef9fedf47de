"""`xmlai editors`: one config on every editor of a `--styles` folder, each editor's files read
with its own naming, one table against the targets, a failing editor reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xmlai.across import TARGETS, missed_targets
from xmlai.cli import app
from xmlai.synth.styles import synthesize_styles

FAST = [
    "--set", "model.d_model=32", "--set", "model.n_layers=1", "--set", "model.d_ff=64",
    "--set", "data.window=48", "--set", "data.overlap=8", "--set", "train.epochs=1",
    "--set", "train.progress=false",
]  # fmt: skip
runner = CliRunner()


@pytest.fixture(scope="module")
def styles(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("across") / "styles"
    # seed 0: editor_02 names its files {stem}_{modality}.{ext}, editor_00 by the defaults
    synthesize_styles(out, 3, n_edits=6, seconds=8.0, seed=0, progress=False)
    return out


def test_every_editor_is_trained_with_its_own_file_naming(styles, tmp_path):
    manifest = json.loads((styles / "styles.json").read_text())
    namings = {e["name"]: e["feature_naming"] for e in manifest["editors"]}
    assert namings["editor_00"] == [] and namings["editor_02"] == ["{stem}_{modality}.{ext}"]
    out = tmp_path / "eval"
    args = ["editors", str(styles), "-o", str(out), "--editor", "editor_00", "--editor",
            "editor_02", *FAST]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "editors.json").read_text())
    assert summary["editors"] == ["editor_00", "editor_02"] and summary["failures"] == []
    for entry in manifest["editors"][::2]:
        built = json.loads((out / entry["name"] / "build" / "build.json").read_text())
        assert built["n_tracks"] == entry["n_tracks"]  # as many tracks as the editor uses
        rows = [r for r in summary["rows"] if r["editor"] == entry["name"]]
        assert rows and all(r["kind"] in entry["tracks"] for r in rows)
        assert (out / entry["name"] / "evaluation" / "report.md").is_file()
    assert "| editor_02 | V1 | base |" in (out / "editors.md").read_text()


def test_a_failing_editor_is_reported_and_the_others_still_run(styles, tmp_path):
    broken = tmp_path / "styles"
    shutil.copytree(styles, broken)
    shutil.rmtree(broken / "editor_01" / "features")
    (broken / "editor_01" / "features").mkdir()
    out = tmp_path / "eval"
    args = ["editors", str(broken), "-o", str(out), "--editor", "editor_00", "--editor",
            "editor_01", *FAST]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "1 editor(s) failed" in result.output
    summary = json.loads((out / "editors.json").read_text())
    assert [f["editor"] for f in summary["failures"]] == ["editor_01"]
    assert "no feature files" in summary["failures"][0]["error"]
    assert {r["editor"] for r in summary["rows"]} == {"editor_00"}


def test_unknown_editor_and_folder_without_manifest_are_one_line_errors(styles, tmp_path):
    result = runner.invoke(app, ["editors", str(styles), "-o", str(tmp_path / "a"),
                                 "--editor", "nobody"])  # fmt: skip
    assert result.exit_code == 2 and "nobody" in result.output
    result = runner.invoke(app, ["editors", str(tmp_path), "-o", str(tmp_path / "b")])
    assert result.exit_code == 2 and "styles.json" in result.output


def test_targets_are_missed_by_name():
    row = {
        "boundary_f1_0.5s": 0.95, "boundary_f1_2frames": 0.85, "asset_macro_f1": 0.99,
        "scale_mae_pct": 1.0, "position_mae_pct": 0.5, "jitter_ratio": 1.0,
        "keyframes_ratio": 1.2,
        "best_baseline": {"boundary_f1_2frames": 0.5, "boundary_f1_0.5s": 0.6},
    }  # fmt: skip
    assert missed_targets(row) == []
    worse = {**row, "boundary_f1_2frames": 0.7, "keyframes_ratio": 0.4, "scale_mae_pct": 3.0}
    assert missed_targets(worse) == ["boundary_f1_2frames", "scale_mae_pct", "keyframes_ratio"]
    beaten = {**row, "best_baseline": {"boundary_f1_2frames": 0.9, "boundary_f1_0.5s": 0.6}}
    assert missed_targets(beaten) == ["beats baselines on boundary_f1_2frames"]
    assert TARGETS["boundary_f1_2frames"] == 0.8


def test_build_without_the_editors_naming_names_what_it_saw(styles, tmp_path):
    corpus = styles / "editor_02"
    args = ["build", str(corpus / "xml"), str(corpus / "features"), "-o", str(tmp_path / "b")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "data.feature_naming" in result.output
    first = sorted(p.name for p in (corpus / "features").iterdir())[0]
    assert f"'{first}'" in result.output.replace("\n", "")
    naming = '["{stem}_{modality}.{ext}"]'
    result = runner.invoke(app, [*args, "--set", f"data.feature_naming={naming}", "--overwrite"])
    assert result.exit_code == 0, result.output
