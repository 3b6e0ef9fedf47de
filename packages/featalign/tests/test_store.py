"""The frame store: layout of BRIEF.md, masks, lookups on source time, atomic writes."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featalign import (
    StoreError,
    TrackTableError,
    build_frame_store,
    load_features,
    track_columns,
)


def load_edit(store, key):
    folder = store / "edits" / key
    return {p.stem: np.load(p, allow_pickle=False) for p in folder.glob("*.npy")}


def test_store_layout_matches_the_contract(corpus, make):
    store = corpus["root"] / "store"
    summary = build_frame_store(corpus["tracks"], corpus["features"], store)
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["format"] == "xmlai-framestore" and manifest["version"] == 1
    assert manifest["n_tracks"] == make.n_tracks
    assert manifest["track_columns"] == track_columns(make.n_tracks)
    assert manifest["modalities"] == ["audio", "visual"]
    assert manifest["modality_columns"]["audio"] == ["rms", "pitch", "speech"]
    assert manifest["modality_kinds"]["visual"]["clip_0"] == "embedding"
    assert manifest["normalisation"] is None
    keys = [e["key"] for e in manifest["edits"]]
    assert keys == ["edit_one", "edit_two", "edit_three"]
    assert [e["fps_fraction"] for e in manifest["edits"]] == ["30/1", "30/1", "25/1"]
    table = corpus["table"]
    for entry in manifest["edits"]:
        arrays = load_edit(store, entry["key"])
        n = entry["n_frames"]
        rows = table[table.edit_id == entry["edit_id"]]
        assert n == len(rows)
        assert set(arrays) == {"tracks", "audio", "visual", "modality_mask", "timestamps"}
        assert (
            arrays["tracks"].shape == (n, make.n_tracks * 9)
            and arrays["tracks"].dtype == np.float32
        )
        assert arrays["audio"].shape == (n, 3) and arrays["visual"].shape == (n, 66)
        assert arrays["modality_mask"].shape == (n, 2)
        assert arrays["modality_mask"].dtype == np.float32
        assert arrays["timestamps"].dtype == np.float64
        assert np.array_equal(arrays["timestamps"], rows.timestamp.to_numpy())
        assert np.array_equal(
            arrays["tracks"], rows[track_columns(make.n_tracks)].to_numpy(np.float32)
        )
        for k, m in enumerate(manifest["modalities"]):
            off = arrays["modality_mask"][:, k] == 0
            assert np.all(arrays[m][off] == 0)
    assert summary.n_frames == len(table)
    assert not list(corpus["root"].glob(".store.tmp-*"))


def test_features_are_looked_up_on_source_time(corpus, make):
    store = corpus["root"] / "store"
    build_frame_store(corpus["tracks"], corpus["features"], store)
    audio = load_features(make.audio(20), None)
    arrays = load_edit(store, "edit_two")  # source offset 5 s, frames 10..19 off screen
    mask = arrays["modality_mask"]
    assert np.all(mask[10:20] == 0) and np.all(mask[:10] == 1) and np.all(mask[20:] == 1)
    src = 5.0 + np.arange(60) / 30
    want = np.interp(src, audio.times, audio.values[:, 0])
    on = mask[:, 0] == 1
    assert np.allclose(arrays["audio"][on, 0], want[on], atol=1e-5)
    # Without source_timestamp the edit clock is used.
    table = corpus["table"].drop(columns="source_timestamp")
    build_frame_store(table, corpus["features"], store, overwrite=True)
    arrays = load_edit(store, "edit_two")
    assert np.allclose(
        arrays["audio"][:, 0],
        np.interp(np.arange(60) / 30, audio.times, audio.values[:, 0]),
        atol=1e-5,
    )


def test_missing_modality_is_masked_and_logged_not_raised(corpus, caplog):
    store = corpus["root"] / "store"
    with caplog.at_level(logging.INFO, logger="featalign"):
        summary = build_frame_store(corpus["tracks"], corpus["features"], store)
    arrays = load_edit(store, "edit_three")  # video_b has audio only
    assert np.all(arrays["modality_mask"][:, 1] == 0) and np.all(arrays["visual"] == 0)
    assert np.all(arrays["modality_mask"][:, 0] == 1)
    assert "no visual features" in caplog.text
    assert summary.edits[2]["modalities"]["visual"]["status"] == "missing"


@settings(max_examples=12, deadline=None)
@given(present=st.lists(st.booleans(), min_size=4, max_size=4))
def test_modality_mask_follows_which_files_exist(tmp_path_factory, present, make):
    """Any pattern of present/missing (video, modality) files: mask 0 exactly where absent."""
    root = tmp_path_factory.mktemp("s")
    feats = root / "f"
    feats.mkdir()
    combos = [("va", "audio"), ("va", "visual"), ("vb", "audio"), ("vb", "visual")]
    for (video, mod), keep in zip(combos, present, strict=True):
        if keep:
            frame = make.audio(4) if mod == "audio" else make.visual(4)
            frame.to_csv(feats / f"{video}.{mod}.csv", index=False)
    tracks = pd.concat([make.track_table("a", "va.mp4", 30), make.track_table("b", "vb.mp4", 30)])
    summary = build_frame_store(tracks, feats, root / "store", modalities=["audio", "visual"])
    manifest = json.loads((root / "store" / "manifest.json").read_text())
    # A modality with no file anywhere has no known width: left out, with a warning.
    kept = [
        m
        for m in ("audio", "visual")
        if any(p for (_, mm), p in zip(combos, present, strict=True) if mm == m)
    ]
    assert manifest["modalities"] == kept
    assert len(summary.warnings) == 2 - len(kept)
    for key, video in (("a", "va"), ("b", "vb")):
        mask = np.load(root / "store" / "edits" / key / "modality_mask.npy")
        for k, mod in enumerate(manifest["modalities"]):
            keep = present[combos.index((video, mod))]
            assert np.all(mask[:, k] == (1.0 if keep else 0.0))


def test_normalisers_fitted_on_training_edits_only(corpus, make):
    store = corpus["root"] / "store"
    build_frame_store(corpus["tracks"], corpus["features"], store, fit_on=["edit three"])
    manifest = json.loads((store / "manifest.json").read_text())
    stats = manifest["normalisation"]
    assert stats["audio"]["applied"] and not stats["tracks"]["applied"]
    raw = make.audio(10, seed=3)  # video_b's file: the only training video
    src = np.arange(45) / 25
    rms = np.interp(src, raw.time, raw.rms)
    assert stats["audio"]["mean"][0] == pytest.approx(rms.mean(), rel=1e-4)
    three = load_edit(store, "edit_three")
    assert three["audio"][:, 0].mean() == pytest.approx(0, abs=1e-4)
    one = load_edit(store, "edit_one")
    assert np.allclose(np.linalg.norm(one["visual"][:, 2:], axis=1), 1, atol=1e-5)


def test_bad_track_tables(tmp_path, corpus):
    empty = corpus["table"].iloc[:0]
    with pytest.raises(TrackTableError, match="no rows"):
        build_frame_store(empty, corpus["features"], tmp_path / "s")
    with pytest.raises(TrackTableError, match="missing columns"):
        build_frame_store(empty.drop(columns="frame"), corpus["features"], tmp_path / "s")
    holes = corpus["table"].drop(index=[5])
    summary = build_frame_store(holes, corpus["features"], tmp_path / "s")
    assert [f["what"] for f in summary.failures] == ["edit edit one"]
    assert "0..n-1" in summary.failures[0]["error"]
    assert len(summary.edits) == 2
    with pytest.raises(TrackTableError):
        build_frame_store(tmp_path / "absent.csv", corpus["features"], tmp_path / "t")


def test_nothing_is_written_half_way(corpus, monkeypatch):
    store = corpus["root"] / "store"
    with pytest.raises(StoreError):
        build_frame_store(corpus["tracks"], corpus["features"], corpus["features"])
    calls = {"n": 0}
    real_save = np.save

    def failing_save(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        build_frame_store(corpus["tracks"], corpus["features"], store)
    assert not store.exists()
    assert [p.name for p in corpus["root"].iterdir() if p.name.startswith(".")] == []
    monkeypatch.setattr(np, "save", real_save)
    build_frame_store(corpus["tracks"], corpus["features"], store)
    before = (store / "manifest.json").read_text()
    monkeypatch.setattr(np, "save", failing_save)
    calls["n"] = 0
    with pytest.raises(OSError):
        build_frame_store(corpus["tracks"], corpus["features"], store, overwrite=True)
    assert (store / "manifest.json").read_text() == before  # the old store is intact


def test_bad_feature_file_masks_only_that_modality(corpus):
    (corpus["features"] / "video_b" / "visual.csv").write_text("")
    summary = build_frame_store(corpus["tracks"], corpus["features"], corpus["root"] / "s")
    assert any("empty" in f["error"] for f in summary.failures)
    arrays = load_edit(corpus["root"] / "s", "edit_three")
    assert np.all(arrays["modality_mask"] == [1, 0])


def test_edit_keys_are_unique_and_safe(tmp_path, make):
    feats = tmp_path / "f"
    feats.mkdir()
    make.audio(3).to_csv(feats / "v.audio.csv", index=False)
    tracks = pd.concat(
        [make.track_table(name, "v.mp4", 10) for name in ("A/b", "a:b", "../x", "ünï")]
    )
    build_frame_store(tracks, feats, tmp_path / "s")
    keys = [e["key"] for e in json.loads((tmp_path / "s" / "manifest.json").read_text())["edits"]]
    assert keys == ["A_b", "a_b-2", "x", "uni"]


def test_ntsc_fps_fraction(tmp_path, make):
    feats = tmp_path / "f"
    feats.mkdir()
    make.audio(3).to_csv(feats / "v.audio.csv", index=False)
    table = make.track_table("e", "v.mp4", 40, fps=30000 / 1001)
    build_frame_store(table, feats, tmp_path / "s")
    entry = json.loads((tmp_path / "s" / "manifest.json").read_text())["edits"][0]
    assert entry["fps_fraction"] == "30000/1001"


def test_importing_featalign_does_not_import_torch():
    code = (
        "import sys, featalign, featalign.cli\n"
        "[getattr(featalign, n) for n in featalign.__all__]  # load every module\n"
        "assert 'torch' not in sys.modules and 'featalign.store' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_video_and_extra_tracks_are_reported(tmp_path, make):
    feats = tmp_path / "f"
    feats.mkdir()
    make.audio(3).to_csv(feats / "v.audio.csv", index=False)
    wide = make.track_table("wide", "v.mp4", 20, n_tracks=4)
    nameless = make.track_table("nameless", "v.mp4", 20, n_tracks=4)
    nameless["source_video_name"] = np.nan
    summary = build_frame_store(pd.concat([wide, nameless]), feats, tmp_path / "s", n_tracks=3)
    assert any("more than 3 tracks" in w for w in summary.warnings)
    assert np.load(tmp_path / "s" / "edits" / "wide" / "tracks.npy").shape == (20, 27)
    mask = np.load(tmp_path / "s" / "edits" / "nameless" / "modality_mask.npy")
    assert mask.shape == (20, 1) and np.all(mask == 0)
    assert summary.edits[1]["modalities"]["audio"]["status"] == "missing"


def test_public_names_all_resolve_and_cli_import_is_light():
    import featalign

    assert sorted(featalign.__all__) == sorted(["__version__", *featalign._MODULE_OF])
    assert all(getattr(featalign, name) is not None for name in featalign.__all__)
    code = "import sys, featalign.cli; assert 'pandas' not in sys.modules, 'pandas loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reserved_or_unsafe_modality_names_are_refused(corpus):
    (corpus["features"] / "Video A.tracks.csv").write_text("time,x\n0,1\n1,2\n")
    summary = build_frame_store(corpus["tracks"], corpus["features"], corpus["root"] / "s")
    assert summary.modalities == ["audio", "visual"]
    assert any("'tracks' skipped" in w for w in summary.warnings)
    with pytest.raises(StoreError, match="not allowed"):
        build_frame_store(
            corpus["tracks"], corpus["features"], corpus["root"] / "t", modalities=["../x"]
        )


def test_prefitted_normalisers_give_the_same_store(corpus):
    from featalign import Normaliser

    first = corpus["root"] / "a"
    build_frame_store(corpus["tracks"], corpus["features"], first, fit_on=["edit one"])
    stats = json.loads((first / "manifest.json").read_text())["normalisation"]
    norms = {m: Normaliser.from_dict(stats[m]) for m in ("audio", "visual", "tracks")}
    second = corpus["root"] / "b"
    build_frame_store(corpus["tracks"], corpus["features"], second, normalisers=norms)
    for key in ("edit_one", "edit_two", "edit_three"):
        a, b = load_edit(first, key), load_edit(second, key)
        assert all(np.array_equal(a[k], b[k]) for k in a)
    wrong = {**norms, "audio": Normaliser(["x"], {"x": "continuous"})}
    with pytest.raises(StoreError, match="other columns"):
        build_frame_store(
            corpus["tracks"], corpus["features"], corpus["root"] / "c", normalisers=wrong
        )
    assert not (corpus["root"] / "c").exists()


def test_an_edit_id_in_two_tables_is_stored_once(corpus):
    table = corpus["table"]
    one = table[table.edit_id == "edit one"]
    summary = build_frame_store([one, one.copy()], corpus["features"], corpus["root"] / "s")
    assert [e["edit_id"] for e in summary.edits] == ["edit one"]
    assert "seen before" in summary.failures[0]["error"]


def test_parquet_track_table_and_features(corpus):
    pytest.importorskip("pyarrow")
    path = corpus["root"] / "tracks.parquet"
    corpus["table"].to_parquet(path)
    feats = corpus["root"] / "pq"
    feats.mkdir()
    make_frame = pd.read_csv(corpus["features"] / "Video A.audio.csv")
    make_frame.to_parquet(feats / "Video A.audio.parquet")
    summary = build_frame_store(path, feats, corpus["root"] / "s")
    assert summary.modalities == ["audio"]
    arrays = load_edit(corpus["root"] / "s", "edit_one")
    assert arrays["modality_mask"].mean() == 1.0 and arrays["audio"].shape == (90, 3)


def test_a_normaliser_of_other_columns_of_the_same_width_names_them_and_the_file(corpus):
    from featalign import Normaliser

    first = corpus["root"] / "a"
    build_frame_store(corpus["tracks"], corpus["features"], first, fit_on=["edit one"])
    stats = json.loads((first / "manifest.json").read_text())["normalisation"]
    norms = {m: Normaliser.from_dict(stats[m]) for m in ("audio", "visual")}
    audio = stats["audio"]
    renamed = ["loudness" if c == "rms" else c for c in audio["columns"]]
    assert len(renamed) == len(audio["columns"])  # the same width: only the names differ
    wrong = {**norms, "audio": Normaliser(renamed, {c: "continuous" for c in renamed})}
    with pytest.raises(StoreError) as caught:
        build_frame_store(
            corpus["tracks"], corpus["features"], corpus["root"] / "c", normalisers=wrong
        )
    message = str(caught.value)
    assert "Video A.audio.csv" in message and "missing ['loudness']" in message
    assert "not in the normaliser ['rms']" in message and "\n" not in message
    assert not (corpus["root"] / "c").exists()


def test_the_manifest_records_a_checksum_of_every_array_as_it_stays(corpus):
    import hashlib

    store = corpus["root"] / "s"
    build_frame_store(corpus["tracks"], corpus["features"], store, fit_on=["edit one"])
    for entry in json.loads((store / "manifest.json").read_text())["edits"]:
        folder = store / "edits" / entry["key"]
        files = sorted(p.name for p in folder.glob("*.npy"))
        assert sorted(entry["checksums"]) == files and "audio.npy" in files
        for name, recorded in entry["checksums"].items():  # after normalisation, too
            digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            assert recorded == f"sha256:{digest}"


@pytest.fixture
def group_umask():
    """A shared folder's umask (group may write); restored after the test."""
    import os

    old = os.umask(0o002)
    yield 0o002
    os.umask(old)


def test_a_store_has_the_users_modes_so_others_sharing_the_folder_can_read_it(corpus, group_umask):
    import stat

    store = corpus["root"] / "s"
    build_frame_store(corpus["tracks"], corpus["features"], store, fit_on=["edit one"])
    assert stat.S_IMODE(store.stat().st_mode) == 0o775
    for path in [store / "manifest.json", store / "alignment.json", *store.glob("edits/*/*")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path


def test_a_modality_name_is_canonical_when_it_enters_so_the_store_holds_no_other(corpus):
    """`x.face-mesh.csv` is the modality `face_mesh` at build (trackcore's one rule), so the
    manifest the readers check holds only canonical names; a name asked for explicitly is
    canonicalised the same way."""
    from trackcore import check_modality_name, read_manifest

    (corpus["features"] / "Video A.face-mesh.csv").write_text("time,x\n0,1\n30,2\n")
    summary = build_frame_store(corpus["tracks"], corpus["features"], corpus["root"] / "s")
    assert summary.modalities == ["audio", "face_mesh", "visual"]
    manifest = read_manifest(corpus["root"] / "s")  # the one reader accepts what was written
    assert [check_modality_name(m) for m in manifest.modalities] == summary.modalities
    assert manifest.layout_version == 1
    explicit = build_frame_store(
        corpus["tracks"], corpus["features"], corpus["root"] / "t", modalities=["Face-Mesh"]
    )
    assert explicit.modalities == ["face_mesh"]
    for bad in (["2d"], ["tracks"], ["given_tracks"]):
        with pytest.raises(StoreError, match="not allowed"):
            build_frame_store(
                corpus["tracks"], corpus["features"], corpus["root"] / "u", modalities=bad
            )


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_overwrite_never_replaces_something_that_is_not_a_store(corpus, kind):
    """`-o` naming a folder of the user's files (or a file) with --overwrite deleted it."""
    target = corpus["root"] / "mine"
    if kind == "folder":
        target.mkdir()
        (target / "keep.txt").write_text("precious")
    else:
        target.write_text("precious")
    with pytest.raises(StoreError, match="not a frame store"):
        build_frame_store(corpus["tracks"], corpus["features"], target, overwrite=True)
    kept = target / "keep.txt" if kind == "folder" else target
    assert kept.read_text() == "precious"
    kept.unlink()
    if kind == "file":
        target.mkdir()  # an empty folder is replaced
    build_frame_store(corpus["tracks"], corpus["features"], target, overwrite=True)
    assert (target / "manifest.json").is_file()
