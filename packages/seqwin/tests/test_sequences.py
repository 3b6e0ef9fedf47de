"""Sequences .npz: round trip, no pickle, atomic writes, named errors for bad files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from seqwin import (
    FrameStore,
    SequenceSet,
    StoreError,
    WindowDataset,
    load_sequences,
    save_sequences,
    stitch,
)


@pytest.mark.parametrize(("length", "overlap"), [(100, 20), (7, 3), (1, 0)])
def test_save_load_round_trip(small_store, tmp_path, length, overlap):
    ds = WindowDataset(FrameStore(small_store), [0, 2, 3], length, overlap)
    path = save_sequences(ds, tmp_path / "train_sequences.npz", chunk_windows=5)
    loaded = load_sequences(path)
    assert isinstance(loaded, SequenceSet)
    assert len(loaded) == len(ds) and loaded.keys == ds.keys
    assert (loaded.length, loaded.overlap) == (length, overlap)
    everything = np.arange(len(ds))
    a, b = ds.gather(everything), loaded.gather(everything)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype
        np.testing.assert_array_equal(a[k], b[k])
    for i in (0, len(ds) - 1):
        for k, v in ds[i].items():
            np.testing.assert_array_equal(loaded[i][k], v)
    np.testing.assert_array_equal(loaded.index.n_real, ds.index.n_real)
    assert loaded.edit_table()["edits_id"].tolist() == [
        ds.store.edits[e].edit_id for e in (0, 2, 3)
    ]
    assert loaded.meta()["track_columns"] == ds.store.track_columns
    # The loaded set stitches back to the store's arrays with its own frame counts.
    out = stitch(b["visual"], loaded.index, loaded.n_frames)
    for e, arr in out.items():
        np.testing.assert_array_equal(arr, ds.store.arrays(e)["visual"])


def test_npz_is_plain_arrays_without_pickle(small_store, tmp_path):
    path = save_sequences(WindowDataset(FrameStore(small_store)), tmp_path / "val_sequences.npz")
    with np.load(path, allow_pickle=False) as npz:
        for name in npz.files:
            assert npz[name].dtype != object
        assert json.loads(str(npz["meta"][()]))["format"] == "xmlai-sequences"
        assert npz["tracks"].shape == (13, 100, 18)


def test_gather_with_out_on_a_sequence_set(small_store, tmp_path):
    ds = WindowDataset(FrameStore(small_store))
    loaded = load_sequences(save_sequences(ds, tmp_path / "s.npz"))
    buffer = loaded.gather([0, 1])
    again = loaded.gather([5, 6], out=buffer)
    assert again["tracks"] is buffer["tracks"]
    np.testing.assert_array_equal(again["tracks"], ds.gather([5, 6])["tracks"])


def test_failed_write_leaves_nothing_behind(small_store, tmp_path, monkeypatch):
    ds = WindowDataset(FrameStore(small_store))
    target = tmp_path / "train_sequences.npz"
    target.write_bytes(b"previous version")
    calls = {"n": 0}
    real_gather = ds.gather

    def failing_gather(idx, out=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_gather(idx, out)

    monkeypatch.setattr(ds, "gather", failing_gather)
    with pytest.raises(OSError, match="disk full"):
        save_sequences(ds, target, chunk_windows=4)
    assert target.read_bytes() == b"previous version"  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_sequences.npz"]  # no temp file


def test_missing_and_corrupt_files(tmp_path, small_store):
    with pytest.raises(StoreError, match="no such file"):
        load_sequences(tmp_path / "absent.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(StoreError, match=r"not a readable \.npz") as err:
        load_sequences(bad)
    assert err.value.path == bad
    good = save_sequences(WindowDataset(FrameStore(small_store)), tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(StoreError, match=r"not a readable \.npz"):
        load_sequences(truncated)


def _rewrite(src, dst, drop=(), replace=None):
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k not in drop}
    arrays.update(replace or {})
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize(
    ("drop", "replace", "message"),
    [
        (("meta",), None, "no 'meta' array"),
        ((), {"meta": np.array("{not json")}, "meta is not JSON"),
        ((), {"meta": np.array(json.dumps({"format": "other"}))}, "does not describe"),
        (("visual",), None, "visual: missing array"),
        ((), {"audio": np.zeros((13, 100, 3), np.float64)}, "audio: shape"),
        ((), {"tracks": np.zeros((12, 100, 18), np.float32)}, "tracks: shape"),
        ((), {"frame_mask": np.zeros((13, 99), np.float32)}, "frame_mask"),
    ],
)
def test_inconsistent_npz_is_named(small_store, tmp_path, drop, replace, message):
    good = save_sequences(WindowDataset(FrameStore(small_store)), tmp_path / "good.npz")
    bad = _rewrite(good, tmp_path / "bad.npz", drop, replace)
    with pytest.raises(StoreError, match=message) as err:
        load_sequences(bad)
    assert err.value.path == bad


def test_npz_written_by_zipfile_is_uncompressed_zip64(small_store, tmp_path):
    path = save_sequences(WindowDataset(FrameStore(small_store)), tmp_path / "s.npz")
    with zipfile.ZipFile(path) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert "tracks.npy" in zf.namelist()
