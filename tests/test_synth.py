"""The synthetic corpus (xmlai.synth) composed with xml2csv and featalign: its files read back
through the libraries exactly as written, and the editor's rules are functions of the
features as featalign aligns them (so a model that sees the features can learn the edit)."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import featalign
from xml2csv import read_xmeml, sample
from xmlai.synth import (
    RULE_FEATURES,
    Style,
    SynthConfig,
    SynthError,
    clean,
    edit_tracks,
    make_edit,
    plan_corpus,
    plan_lookup,
    scene_kinds,
    synthesize,
    write_edit,
)
from xmlai.synth.editors import DEMO_EDITOR, dead_air_cuts
from xmlai.synth.style import runs

N_EDITS, SECONDS = 6, 8.0
# every variant at least once in six edits (and cuts both dissolved and not)
VARIANTS = dict(
    missing_visual=0.2, missing_audio=0.2, gaps=0.5, no_webcam=0.2, no_text=0.2, dissolves=0.5
)
META = ["edit_id", "source_video_name", "frame", "timestamp", "source_timestamp"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    summary = synthesize(out, N_EDITS, SECONDS, seed=7, progress=False, **VARIANTS)
    assert summary.n_edits == N_EDITS
    return out


def manifest(root: Path) -> dict:
    return json.loads((root / "synth.json").read_text())


def truth(root: Path, rec: dict) -> pd.DataFrame:
    return pd.read_csv(root / rec["truth"])


def aligned_rule_inputs(root: Path, rec: dict, frames_s: np.ndarray) -> dict[str, np.ndarray]:
    """The rule features at `frames_s`, through featalign's own alignment (0 when missing)."""
    out = {name: np.zeros(len(frames_s), dtype=np.float32) for name in RULE_FEATURES}
    masks = {}
    for modality, rel in rec["features"].items():
        aligned = featalign.align(frames_s, root / rel)
        masks[modality] = aligned.mask
        for name in RULE_FEATURES:
            if name in aligned.columns:
                out[name] = aligned.values[:, aligned.columns.index(name)]
    return out | {"masks": masks}


def file_digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "synth.log"  # the log has wall-clock times
    }


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(corpus, tmp_path):
    again = synthesize(tmp_path / "again", N_EDITS, SECONDS, seed=7, progress=False, **VARIANTS)
    first, second = file_digests(corpus), file_digests(again.out_dir)
    assert first.keys() == second.keys()
    assert any(k.startswith("features/") and k.endswith(".parquet") for k in first)
    assert first == second
    other = synthesize(tmp_path / "other", N_EDITS, SECONDS, seed=8, progress=False, **VARIANTS)
    changed = file_digests(other.out_dir)
    assert all(changed[k] != first[k] for k in first if k.startswith("xml/"))


def test_layout_sizes_and_rates(corpus):
    man = manifest(corpus)
    recs = man["recordings"]
    assert man["seed"] == 7 and len(recs) == N_EDITS
    assert {r["fps_fraction"] for r in recs} == {"30/1", "30000/1001", "25/1", "24/1"}
    assert sorted(p.name for p in (corpus / "xml").iterdir()) == [f"{r['name']}.xml" for r in recs]
    assert (corpus / "synth.log").read_text().count("frames at") == N_EDITS
    for rec in recs:
        table = truth(corpus, rec)
        fps = Fraction(rec["fps_fraction"])
        assert len(table) == rec["n_frames"] == round(SECONDS * fps)
        assert list(table.columns[:5]) == META and len(table.columns) == 5 + 20 * 9
        assert rec["n_source_frames"] >= rec["n_frames"]
        # V1 always shows the main source, so every frame has a source time
        assert (table["t01_active"] == 1).all() and (table["t01_asset"] == 1).all()
        assert np.isfinite(table["source_timestamp"]).all()
        src = np.rint(table["source_timestamp"].to_numpy() * float(fps)).astype(int)
        assert (np.diff(src) >= 1).all()  # forward in time; jumps only at cuts
        assert np.flatnonzero(np.diff(src) > 1).tolist() == [
            c["edit_frame"] - 1 for c in rec["cuts"]
        ]
        assert (table.filter(regex=r"^t(0[5-9]|1\d|20)_active$") == 0).all().all()


def test_every_xml_reads_back_to_its_truth_table(corpus):
    """read_xmeml + sample gives the truth: active/asset exactly, parameters within the
    writer's keyframe tolerance, source time within 1e-6 s."""
    tolerance = {"scale": 0.05, "pos": 0.0005, "crop": 0.05}
    for rec in manifest(corpus)["recordings"]:
        want = truth(corpus, rec)
        got = sample(read_xmeml(corpus / rec["xml"]))
        assert list(got.columns) == list(want.columns)
        assert got["edit_id"].astype(str).eq(rec["edit_id"]).all()
        assert got["source_video_name"].astype(str).eq(rec["source_video_name"]).all()
        np.testing.assert_array_equal(got["frame"], want["frame"])
        np.testing.assert_allclose(got["timestamp"], want["timestamp"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(
            got["source_timestamp"], want["source_timestamp"], rtol=0, atol=1e-6
        )
        for column in want.columns[5:]:
            if column.endswith(("_active", "_asset")):
                np.testing.assert_array_equal(got[column], want[column], err_msg=column)
            else:
                kind = column.split("_")[1]
                np.testing.assert_allclose(
                    got[column],
                    want[column],
                    rtol=0,
                    atol=tolerance[kind] + 1e-9,
                    err_msg=f"{rec['name']} {column}",
                )


def dissolve_cuts(path: Path) -> set[int]:
    """Frames at which the file's transitions hand over to the incoming clip."""
    return {t.cut for track in read_xmeml(path).sequence.tracks for t in track.transitions}


def test_planned_dissolves_are_in_the_xml_with_minus_one_timing(corpus):
    """Each cut's "dissolve" says whether its file dissolves there; the files that do hold
    a Cross Dissolve transitionitem between clips timed -1 (and still read back, above)."""
    man = manifest(corpus)
    assert man["dissolves_written"] is True
    flags = []
    for rec in man["recordings"]:
        data = (corpus / rec["xml"]).read_bytes()
        wanted = {c["edit_frame"] for c in rec["cuts"] if c["dissolve"]}
        assert dissolve_cuts(corpus / rec["xml"]) == wanted
        assert data.count(b"<transitionitem>") == len(wanted)
        assert data.count(b"<end>-1</end>") == data.count(b"<start>-1</start>") == len(wanted)
        if wanted:
            assert b"<effectid>Cross Dissolve</effectid>" in data
        flags += [c["dissolve"] for c in rec["cuts"]]
    assert True in flags and False in flags


def test_a_dissolve_the_writer_cannot_place_is_reported_as_a_plain_cut(tmp_path):
    config = SynthConfig(n_edits=1, seconds=4.0, seed=1, dissolves=1.0)
    edit = make_edit(config, plan_corpus(config)[0], scene_kinds(config))
    # frame 1 shows the source frame after frame 0's: no cut, so nothing to dissolve
    assert edit.source_frames[1] == edit.source_frames[0] + 1
    edit.cuts.insert(0, {"edit_frame": 1, "dissolve": True})
    for sub in ("xml", "truth"):
        (tmp_path / sub).mkdir()
    write_edit(edit, tmp_path)
    written = dissolve_cuts(tmp_path / "xml" / f"{edit.plan.name}.xml")
    assert edit.cuts[0]["dissolve"] is False and 1 not in written
    assert written == {c["edit_frame"] for c in edit.cuts if c["dissolve"]}


def test_feature_files_are_found_and_have_declared_rates_columns_and_kinds(corpus):
    index = featalign.discover_features(corpus / "features")
    assert not index.warnings
    dtypes = set()
    for rec in manifest(corpus)["recordings"]:
        files = index.lookup(rec["source_pathurl"])
        assert {m: (corpus / p) for m, p in rec["features"].items()} == files
        if "audio" in files:
            table = featalign.load_features(files["audio"])
            assert files["audio"].suffix == "." + rec["audio_format"].replace("parquet", "parquet")
            assert np.median(np.diff(table.times)) == pytest.approx(1 / rec["audio_rate"])
            assert table.resolved.kinds == {
                "rms": "continuous",
                "is_speaking": "binary",
                "pitch": "continuous",
                "onset": "continuous",
            }
        if "visual" in files:
            table = featalign.load_features(files["visual"])
            assert np.median(np.diff(table.times)) == pytest.approx(1 / rec["visual_rate"])
            kinds = table.resolved.kinds
            assert kinds["face_count"] == "discrete" and kinds["text_present"] == "binary"
            assert kinds["motion"] == kinds["saliency"] == "continuous"
            assert table.resolved.groups["clip"] == [f"clip_{k}" for k in range(512)]
            clip = table.values[:, table.columns.index("clip_0") :][:, :512]
            np.testing.assert_allclose(np.linalg.norm(clip, axis=1), 1.0, atol=2e-3)
            dtypes.add(str(pd.read_parquet(files["visual"], columns=["clip_0"])["clip_0"].dtype))
    assert dtypes == {"float16", "float32"}


def test_missing_modalities_and_gaps_occur_as_requested(corpus):
    recs = manifest(corpus)["recordings"]
    missing = [m for r in recs for m in r["missing_modalities"]]
    assert sorted(missing) == ["audio", "visual"]  # round(0.2 * 6) = 1 each
    for rec in recs:
        for m in rec["missing_modalities"]:
            assert not (corpus / "features" / rec["name"] / f"{m}.parquet").exists()
            assert not (corpus / "features" / rec["name"] / f"{m}.csv").exists()
    gapped = [r for r in recs if r["gaps"]]
    assert len(gapped) == 3
    for rec in gapped:
        gap = rec["gaps"][0]
        times = featalign.load_features(corpus / rec["features"][gap["modality"]]).times
        inside = (times >= gap["start_s"]) & (times < gap["end_s"])
        assert not inside.any() and times[0] < gap["start_s"] and times[-1] > gap["end_s"]
        # frames shown from inside the gap have no features there (mask 0)
        table = truth(corpus, rec)
        x = table["source_timestamp"].to_numpy()
        mask = featalign.align(x, corpus / rec["features"][gap["modality"]]).mask
        well_inside = (x > gap["start_s"] + 0.5) & (x < gap["end_s"] - 0.5)
        assert well_inside.any() and not mask[well_inside].any()


def test_style_rules_are_functions_of_the_features_featalign_aligns(corpus):
    """Recomputing rules 2-5 from featalign's aligned features gives the truth exactly."""
    style = Style()
    used = set()
    for rec in manifest(corpus)["recordings"]:
        table = truth(corpus, rec)
        fps = Fraction(rec["fps_fraction"])
        feats = aligned_rule_inputs(corpus, rec, table["source_timestamp"].to_numpy())
        tracks = edit_tracks(feats, fps, style)
        for k in (1, 2, 3, 4):
            active = table[f"t{k:02d}_active"].to_numpy().astype(bool)
            np.testing.assert_array_equal(tracks.active[k], active, err_msg=f"{rec['name']} V{k}")
            if active.any():
                used.add(k)
                params = table.filter(regex=f"^t{k:02d}_(scale|pos|crop)").to_numpy()
                np.testing.assert_allclose(params[active], tracks.params[k][active], atol=1e-9)
        # the crisp part of each rule, before cleaning, agrees on almost every frame
        raw_cam = (feats["is_speaking"] > 0.5) & (feats["face_count"] >= 1)
        assert np.mean(raw_cam == table["t02_active"].astype(bool)) > 0.9
        assert np.mean((feats["rms"] >= 0.6) == table["t03_active"].astype(bool)) > 0.9
        zoomed = table["t01_scale"].to_numpy() > 100
        assert not (zoomed & (feats["motion"] < 0.5)).sum() > 2 * round(0.4 * float(fps)) * (
            1 + len(runs(zoomed))
        )
        if "visual" not in rec["features"]:  # no face, no text, no motion: V2, V4, zoom off
            assert not table["t02_active"].any() and not table["t04_active"].any()
            assert (table["t01_scale"] == 100).all()
        cam = table[table["t02_active"] == 1]
        if len(cam):
            corner = rec["webcam_corner"]
            assert (np.sign(cam["t02_pos_x"]) == (1 if corner.endswith("right") else -1)).all()
            assert (np.sign(cam["t02_pos_y"]) == (1 if corner.startswith("bottom") else -1)).all()
            assert (cam["t02_scale"] == style.cam_scale).all()
    assert used == {1, 2, 3, 4}


def test_dead_air_cuts_follow_the_audio_features(corpus):
    """Rule 1 on the source clock: the removed ranges are exactly the dead-air runs that
    featalign's aligned audio shows, trimmed by the pad."""
    n_cuts = 0
    for rec in manifest(corpus)["recordings"]:
        fps = Fraction(rec["fps_fraction"])
        n_source = rec["n_source_frames"]
        frames_s = np.arange(n_source) * (fps.denominator / fps.numerator)
        feats = aligned_rule_inputs(corpus, rec, frames_s)
        mask = feats["masks"].get("audio", np.zeros(n_source, dtype=bool))
        cuts = dead_air_cuts({**feats, "audio_mask": mask}, fps, DEMO_EDITOR)
        got = [(c["source_start_frame"], c["source_end_frame"]) for c in rec["cuts"]]
        assert got == cuts
        n_cuts += len(got)
        if "audio" not in rec["features"]:
            assert got == []
    assert n_cuts >= 3


def test_refuses_a_used_folder_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SynthError, match="not empty"):
        synthesize(out, 2, 4.0, progress=False)
    with pytest.raises(SynthError, match=r"no synth\.json"):
        synthesize(out, 2, 4.0, progress=False, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    with pytest.raises(SynthError, match="unknown option"):
        synthesize(tmp_path / "x", 2, 4.0, progress=False, colour="blue")
    with pytest.raises(SynthError, match="fraction"):
        synthesize(tmp_path / "x", 2, 4.0, progress=False, gaps=1.5)

    corpus = tmp_path / "corpus"
    synthesize(corpus, 2, 4.0, seed=1, progress=False)
    before = file_digests(corpus)
    import xmlai.synth.corpus as module

    calls = {"n": 0}
    real = module.write_edit

    def failing(edit, root, shown=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(edit, root, shown)

    monkeypatch.setattr(module, "write_edit", failing)
    with pytest.raises(OSError, match="disk full"):
        synthesize(corpus, 3, 4.0, seed=2, progress=False, overwrite=True)
    assert file_digests(corpus) == before  # the old corpus is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "out"]  # no partial dir
    monkeypatch.setattr(module, "write_edit", real)
    summary = synthesize(corpus, 3, 4.0, seed=2, progress=False, overwrite=True)
    assert len(manifest(corpus)["recordings"]) == summary.n_edits == 3


def test_module_entry_point(tmp_path, capsys):
    from xmlai.synth.__main__ import main

    out = tmp_path / "c"
    assert main([str(out), "--edits", "2", "--seconds", "4", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["n_edits"] == 2
    assert main([str(out), "--edits", "2", "--seconds", "4", "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_small_corpus_is_quick(tmp_path):
    """A guard against pathological slowness, not a speed target (see the README figures)."""
    summary = synthesize(tmp_path / "c", N_EDITS, SECONDS, progress=False)
    assert summary.elapsed_s < 30


@settings(max_examples=60, deadline=None)
@given(
    mask=st.lists(st.booleans(), min_size=1, max_size=80),
    min_gap=st.integers(1, 8),
    min_segment=st.integers(1, 8),
)
def test_clean_leaves_no_short_gaps_or_segments(mask, min_gap, min_segment):
    raw = np.array(mask)
    out = clean(raw, min_gap, min_segment)
    segments = runs(out)
    assert all(e - s >= min_segment for s, e in segments)
    assert all(b[0] - a[1] >= min_gap for a, b in pairwise(segments))
    assert not (out & ~clean(raw, min_gap, 1)).any()  # dropping only removes frames
    assert not (raw & ~clean(raw, min_gap, 1)).any()  # filling only adds frames


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.floats(0.01, 0.6), min_size=2, max_size=40),
    values=st.lists(st.integers(0, 1024), min_size=40, max_size=40),
    gap_at=st.integers(0, 39),
    gap=st.floats(0.0, 3.0),
    frames=st.lists(st.floats(-0.5, 30.0), min_size=1, max_size=60),
)
def test_lookup_matches_featalign_align(steps, values, gap_at, gap, frames):
    """xmlai.synth reads features the way featalign aligns them (continuous and binary)."""
    dt = np.array(steps)
    if gap_at < len(dt):
        dt[gap_at] += gap
    times = np.concatenate([[0.0], np.cumsum(dt)])
    m = len(times)
    level = (np.array(values[:m], dtype=np.float32) / 1024).astype(np.float32)
    flag = (np.array(values[:m]) % 2).astype(np.int8)
    frames_s = np.array(frames + times[:3].tolist())  # some frames land exactly on samples
    table = pd.DataFrame({"time": times, "rms": level, "is_speaking": flag})
    aligned = featalign.align(frames_s, table)
    at = plan_lookup(times, frames_s)
    np.testing.assert_array_equal(at.mask, aligned.mask)
    np.testing.assert_array_equal(at.interpolate(level), aligned.values[:, 0])
    np.testing.assert_array_equal(at.hold(flag), aligned.values[:, 1])
