"""Many editors (`xmlai synth --styles K`): each drawn editor's corpus reads back through
xml2csv and featalign, with the editor's own file naming, column names and rates, and each
editor's rules are functions of the features featalign aligns."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import featalign
from xml2csv import read_xmeml, sample
from xmlai.cli import app
from xmlai.synth import RULE_FEATURES, Editor, SynthError, editor_tracks
from xmlai.synth.editors import DEMO_EDITOR, dead_air_cuts
from xmlai.synth.families import draw_editor, reading_naming
from xmlai.synth.styles import synthesize_styles

N_STYLES, N_EDITS, SECONDS = 4, 4, 10.0


@pytest.fixture(scope="module")
def styles(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("styles") / "editors"
    synthesize_styles(out, N_STYLES, N_EDITS, SECONDS, seed=5, progress=False)
    return out


def editors(root: Path):
    """(corpus folder, synth.json, the editor, its reading naming) per editor."""
    for entry in json.loads((root / "styles.json").read_text())["editors"]:
        corpus = root / entry["folder"]
        manifest = json.loads((corpus / "synth.json").read_text())
        yield corpus, manifest, Editor.from_dict(manifest["config"]["editor"]), entry


def canonical_inputs(corpus, rec, editor, index, frames_s):
    """RULE_FEATURES at `frames_s` through featalign, renamed back from the editor's names."""
    shown = editor.presentation
    out = {name: np.zeros(len(frames_s), dtype=np.float32) for name in RULE_FEATURES}
    out["audio_mask"] = np.zeros(len(frames_s), dtype=bool)
    for canonical in ("audio", "visual"):
        path = index.lookup(rec["source_video_name"]).get(shown.modality(canonical))
        if path is None:
            continue
        aligned = featalign.align(frames_s, path)
        if canonical == "audio":
            out["audio_mask"] = aligned.mask
        for name in RULE_FEATURES:
            if shown.column(name) in aligned.columns:
                out[name] = aligned.values[:, aligned.columns.index(shown.column(name))]
    return out


def test_editors_differ_in_rules_tracks_and_files_and_each_is_consistent():
    draws = [draw_editor(0, i) for i in range(16)]
    assert draw_editor(0, 3) == draws[3]
    shown = [e.presentation for e, _ in draws]
    assert len({p.naming for p in shown}) >= 3
    assert len({p.time_column for p in shown}) >= 3
    assert len({p.column("rms") for p in shown}) >= 3
    assert len({e.n_tracks for e, _ in draws}) >= 3
    assert len({tuple(o.kind for o in e.overlays) for e, _ in draws}) >= 8  # track order
    assert len({e.dead_air for e, _ in draws}) >= 3
    assert {e.zoom is None for e, _ in draws} == {True, False}
    assert any(o.flip_by for e, _ in draws for o in e.overlays)
    assert len({opts["fps"] for _, opts in draws}) >= 4
    for editor, _ in draws:
        assert Editor.from_dict(json.loads(json.dumps(editor.to_dict()))) == editor
    assert Editor.from_dict(DEMO_EDITOR.to_dict()) == DEMO_EDITOR


def test_each_editors_xml_reads_back_to_its_truth(styles):
    tolerance = {"scale": 0.05, "pos": 0.0005, "crop": 0.05}
    for corpus, manifest, editor, _ in editors(styles):
        for rec in manifest["recordings"]:
            want = pd.read_csv(corpus / rec["truth"])
            assert sum(c.endswith("_active") for c in want.columns) == editor.n_tracks
            got = sample(read_xmeml(corpus / rec["xml"]), n_tracks=editor.n_tracks)
            assert list(got.columns) == list(want.columns)
            assert got["source_video_name"].astype(str).eq(rec["source_video_name"]).all()
            for column in want.columns[5:]:
                if column.endswith(("_active", "_asset")):
                    np.testing.assert_array_equal(got[column], want[column], err_msg=column)
                else:
                    atol = tolerance[column.split("_")[1]] + 1e-9
                    np.testing.assert_allclose(got[column], want[column], rtol=0, atol=atol)


def test_feature_files_follow_the_editors_naming_columns_and_rates(styles):
    for corpus, manifest, editor, entry in editors(styles):
        shown = editor.presentation
        assert entry["feature_naming"] == reading_naming(editor)
        index = featalign.discover_features(corpus / "features", entry["feature_naming"] or None)
        assert not index.warnings
        rates = manifest["config"]
        for rec in manifest["recordings"]:
            files = index.lookup(rec["source_video_name"])
            assert {m: corpus / p for m, p in rec["features"].items()} == files
            assert rec["fps_fraction"] in {str(Fraction(f)) if "/" in f else f"{f}/1"
                                           for f in rates["fps"]}  # fmt: skip
            if shown.modality("audio") in files:
                table = featalign.load_features(files[shown.modality("audio")])
                assert table.resolved.time == shown.time_column
                assert shown.column("rms") in table.columns
                assert table.resolved.kinds[shown.column("is_speaking")] == "binary"
                assert rec["audio_rate"] in rates["audio_rates"]
            if shown.modality("visual") in files:
                table = featalign.load_features(files[shown.modality("visual")])
                assert table.resolved.kinds[shown.column("face_count")] == "discrete"
                assert len(table.resolved.groups[shown.embedding_prefix.rstrip("_")]) == 512


def test_each_editors_rules_are_functions_of_the_aligned_features(styles):
    """Recomputing the editor's rules from featalign's alignment of the written files gives
    the truth: activity exactly, parameters to float precision; dead air the cuts made."""
    used = 0
    for corpus, manifest, editor, entry in editors(styles):
        index = featalign.discover_features(corpus / "features", entry["feature_naming"] or None)
        for rec in manifest["recordings"]:
            table = pd.read_csv(corpus / rec["truth"])
            fps = Fraction(rec["fps_fraction"])
            at_edit = table["source_timestamp"].to_numpy()
            tracks = editor_tracks(
                canonical_inputs(corpus, rec, editor, index, at_edit), fps, editor
            )
            for k in range(1, editor.n_tracks + 1):
                active = table[f"t{k:02d}_active"].to_numpy().astype(bool)
                np.testing.assert_array_equal(tracks.active[k], active, err_msg=f"V{k}")
                params = table.filter(regex=f"^t{k:02d}_(scale|pos|crop)").to_numpy()
                np.testing.assert_allclose(params[active], tracks.params[k][active], atol=1e-9)
                used += int(k > 1 and active.any())
            source_s = np.arange(rec["n_source_frames"]) * (fps.denominator / fps.numerator)
            src = canonical_inputs(corpus, rec, editor, index, source_s)
            cuts = [(c["source_start_frame"], c["source_end_frame"]) for c in rec["cuts"]]
            assert cuts == dead_air_cuts(src, fps, editor)
    assert used >= N_STYLES  # overlays were shown, not only computed as off


def test_cli_writes_editors_and_refuses_a_folder_it_did_not_make(tmp_path):
    runner = CliRunner()
    out = tmp_path / "many"
    result = runner.invoke(app, ["synth", str(out), "--styles", "2", "--edits", "2",
                                 "--seconds", "4"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "editor_00" in result.output and "editor_01" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["editor_00", "editor_01", "styles.json"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    result = runner.invoke(app, ["synth", str(mine), "--styles", "1", "--overwrite"])
    assert result.exit_code == 2 and "styles.json" in result.output
    assert (mine / "notes.txt").read_text() == "keep"
    with pytest.raises(SynthError, match="styles"):
        synthesize_styles(tmp_path / "none", 0)
