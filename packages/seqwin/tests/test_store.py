"""FrameStore: reading the SPEC layout through memory maps, and a named error for each bad file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from seqwin import FrameStore, StoreError


def test_open_reads_manifest_and_maps_arrays(small_store, value_at):
    store = FrameStore(small_store)
    assert len(store) == 5
    assert store.n_frames.tolist() == [537, 100, 42, 1, 260]
    assert store.modalities == ["audio", "visual"]
    assert store.widths == {"tracks": 18, "audio": 3, "visual": 5, "modality_mask": 2}
    arrays = store.arrays(0)
    assert arrays["tracks"].shape == (537, 18) and arrays["tracks"].dtype == np.float32
    assert arrays["timestamps"].dtype == np.float64
    # A memory map underneath, read-only: nothing was copied into RAM.
    base = arrays["visual"]
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)
    assert not arrays["visual"].flags.writeable
    np.testing.assert_array_equal(arrays["audio"][10], value_at(0, np.array(10), np.arange(3), 1))


def test_cache_of_open_edits_is_bounded_and_views_survive_eviction(small_store, value_at):
    store = FrameStore(small_store, max_open_edits=2)
    first = store.arrays(0)["tracks"][5:9]
    for e in range(1, 5):
        store.arrays(e)
    assert len(store._open) <= 2
    np.testing.assert_array_equal(first[0], value_at(0, np.array(5), np.arange(18), 0))


def _manifest(store_path):
    return json.loads((store_path / "manifest.json").read_text())


def _write_manifest(store_path, m):
    (store_path / "manifest.json").write_text(json.dumps(m))


def _first_edit_dir(store_path):
    return store_path / "edits" / _manifest(store_path)["edits"][0]["key"]


def test_missing_folder_and_missing_manifest(tmp_path, small_store):
    with pytest.raises(StoreError, match="does not exist"):
        FrameStore(tmp_path / "nope")
    (small_store / "manifest.json").unlink()
    with pytest.raises(StoreError, match=r"manifest\.json") as err:
        FrameStore(small_store)
    assert err.value.path == small_store / "manifest.json"


def test_manifest_with_bad_json_names_line_and_column(small_store):
    (small_store / "manifest.json").write_text('{\n  "format": "xmlai-framestore",\n  oops\n}')
    with pytest.raises(StoreError, match=r"manifest.json: line 3 column 3"):
        FrameStore(small_store)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "format"),
        ({"version": 2}, "version 2 not supported"),
        ({"edits": []}, "no edits"),
        ({"n_tracks": 3}, "expected n_tracks\\*9 = 27"),
        ({"modalities": ["audio", "frame_mask"]}, "no column list|reserved"),
        ({"modality_columns": {"audio": ["a"]}}, "no column list for modality 'visual'"),
        ({"track_columns": "t01_active"}, "track_columns: missing or not a list"),
    ],
)
def test_inconsistent_manifest_is_rejected(small_store, change, message):
    m = _manifest(small_store)
    m.update(change)
    _write_manifest(small_store, m)
    with pytest.raises(StoreError, match=message):
        FrameStore(small_store)


def test_empty_store_is_rejected(tmp_path, make_store):
    store = make_store([5])
    m = _manifest(store)
    m["edits"] = []
    _write_manifest(store, m)
    with pytest.raises(StoreError, match="no edits"):
        FrameStore(store)


@pytest.mark.parametrize("key", ["../../etc", "a/b", "..", "", "a\\b", " x"])
def test_unsafe_edit_key_is_rejected(small_store, key):
    m = _manifest(small_store)
    m["edits"][1]["key"] = key
    _write_manifest(small_store, m)
    with pytest.raises(StoreError, match=r"edits\[1\]: edit key"):
        FrameStore(small_store)


def test_duplicate_key_and_bad_frame_count(small_store):
    m = _manifest(small_store)
    m["edits"][1]["key"] = m["edits"][0]["key"]
    _write_manifest(small_store, m)
    with pytest.raises(StoreError, match="used by two edits"):
        FrameStore(small_store)
    m = _manifest(small_store)
    m["edits"][1]["key"] = m["edits"][2]["key"] + "x"
    m["edits"][1]["n_frames"] = -3
    _write_manifest(small_store, m)
    with pytest.raises(StoreError, match=r"edits\[1\]: n_frames -3"):
        FrameStore(small_store)


def test_missing_field_in_edit(small_store):
    m = _manifest(small_store)
    del m["edits"][2]["n_frames"]
    _write_manifest(small_store, m)
    with pytest.raises(StoreError, match=r"edits\[2\]: missing field 'n_frames'"):
        FrameStore(small_store)


def test_missing_array_file_is_named(small_store):
    target = _first_edit_dir(small_store) / "visual.npy"
    target.unlink()
    with pytest.raises(StoreError, match="missing array file") as err:
        FrameStore(small_store)
    assert err.value.path == target


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda p: p.write_bytes(b"this is not an npy file at all" * 10),  # bad magic
        lambda p: p.write_bytes(p.read_bytes()[:-100]),  # truncated data
        lambda p: p.write_bytes(p.read_bytes()[:40]),  # truncated header
        lambda p: p.write_bytes(b""),  # empty file
    ],
    ids=["garbage", "truncated-data", "truncated-header", "empty"],
)
def test_corrupt_npy_is_named(small_store, corrupt):
    target = _first_edit_dir(small_store) / "tracks.npy"
    corrupt(target)
    with pytest.raises(StoreError, match=r"not a readable \.npy file") as err:
        FrameStore(small_store)
    assert err.value.path == target
    assert str(target) in str(err.value)


def test_object_array_is_refused_without_unpickling(small_store):
    target = _first_edit_dir(small_store) / "audio.npy"
    np.save(target, np.array([{"x": 1}] * 537, dtype=object), allow_pickle=True)
    with pytest.raises(StoreError, match=r"not a readable \.npy file") as err:
        FrameStore(small_store)
    assert err.value.path == target


@pytest.mark.parametrize(
    ("name", "array", "message"),
    [
        ("tracks", np.zeros((537, 17), np.float32), r"shape \(537, 17\), expected \(537, 18\)"),
        ("audio", np.zeros((536, 3), np.float32), r"shape \(536, 3\), expected \(537, 3\)"),
        ("visual", np.zeros((537, 5), np.float64), "dtype float64, expected float32"),
        ("modality_mask", np.zeros((537, 3), np.float32), "expected \\(537, 2\\)"),
        ("timestamps", np.zeros(537, np.float32), "dtype float32, expected float64"),
    ],
)
def test_array_disagreeing_with_manifest_is_named(small_store, name, array, message):
    target = _first_edit_dir(small_store) / f"{name}.npy"
    np.save(target, array)
    with pytest.raises(StoreError, match=message) as err:
        FrameStore(small_store)
    assert err.value.path == target


def test_zero_frame_edit_is_accepted(make_store):
    store = FrameStore(make_store([0, 3]))
    assert store.arrays(0)["tracks"].shape == (0, 18)


def test_edit_index_out_of_range(small_store):
    store = FrameStore(small_store)
    with pytest.raises(StoreError, match="out of range"):
        store.arrays(5)


def test_store_copy_is_independent_of_path(small_store, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(small_store, moved)
    assert FrameStore(moved).n_frames.tolist() == FrameStore(small_store).n_frames.tolist()


def test_edit_key_may_use_any_script(small_store):
    m = _manifest(small_store)
    old = small_store / "edits" / m["edits"][0]["key"]
    m["edits"][0]["key"] = "montage_été_ß"
    old.rename(small_store / "edits" / "montage_été_ß")
    _write_manifest(small_store, m)
    assert FrameStore(small_store).arrays(0)["tracks"].shape == (537, 18)


def test_modality_without_columns_is_readable(make_store, tmp_path):
    from seqwin import WindowDataset, load_sequences, save_sequences

    store = FrameStore(make_store([12, 3], widths={"audio": 0, "visual": 4}))
    assert store.widths["audio"] == 0
    assert store.arrays(0)["audio"].shape == (12, 0)
    ds = WindowDataset(store, length=10, overlap=2)
    assert ds[0]["audio"].shape == (10, 0) and ds.gather([0, 1])["audio"].shape == (2, 10, 0)
    loaded = load_sequences(save_sequences(ds, tmp_path / "s.npz"))
    np.testing.assert_array_equal(loaded.gather([1])["visual"], ds.gather([1])["visual"])


def _corrupt_behind_the_header(file) -> None:
    data = bytearray(file.read_bytes())
    data[-8:-4] = b"\x7f\x7f\x7f\x7f"  # a float32 of 3.4e38: the header still reads
    file.write_bytes(bytes(data))


def test_verify_finds_bytes_changed_behind_an_intact_header(make_store):
    path = make_store([30, 40], checksums=True)
    assert FrameStore(path).verify() == 2 * 5  # tracks, audio, visual, mask, timestamps
    bad = path / "edits" / _manifest(path)["edits"][1]["key"] / "audio.npy"
    _corrupt_behind_the_header(bad)
    store = FrameStore(path)  # the header is intact: opening cannot tell
    with pytest.raises(StoreError, match="checksum mismatch") as caught:
        store.verify()
    assert str(caught.value).startswith(str(bad)) and "\n" not in str(caught.value)


def test_a_store_without_checksums_still_loads_and_says_it_is_not_verified(make_store, caplog):
    path = make_store([30])
    with caplog.at_level("INFO", logger="seqwin"):
        assert FrameStore(path).verify() == 0
    assert "no checksums" in caplog.text


@pytest.fixture
def group_umask():
    """A shared folder's umask (group may write); restored after the test."""
    import os

    old = os.umask(0o002)
    yield 0o002
    os.umask(old)


def test_files_written_atomically_have_the_users_file_mode(tmp_path, group_umask):
    import stat

    from seqwin._io import write_json_atomic

    write_json_atomic(tmp_path / "summary.json", {"a": 1})
    assert stat.S_IMODE((tmp_path / "summary.json").stat().st_mode) == 0o664
    assert json.loads((tmp_path / "summary.json").read_text()) == {"a": 1}


def test_the_layout_version_is_checked_and_an_older_manifest_is_layout_1(small_store):
    assert FrameStore(small_store).layout_version == 1
    m = _manifest(small_store)
    del m["layout_version"]  # a store written before the field existed
    _write_manifest(small_store, m)
    assert FrameStore(small_store).layout_version == 1
    m["layout_version"] = 2
    _write_manifest(small_store, m)
    with pytest.raises(StoreError, match="layout_version: track layout version 2 is not known"):
        FrameStore(small_store)


def test_track_columns_must_be_the_layouts(small_store):
    m = _manifest(small_store)
    m["track_columns"] = [f"t01_p{p}" for p in range(9)] + m["track_columns"][9:]
    _write_manifest(small_store, m)
    with pytest.raises(StoreError, match="track column 0 is 't01_p0', expected 't01_active'"):
        FrameStore(small_store)


@pytest.mark.parametrize("name", ["face-mesh", "Audio", "_x", "given_tracks"])
def test_a_modality_name_outside_the_one_rule_is_refused_at_open(small_store, name):
    """What featalign canonicalises at build (`x.face-mesh.csv` is face_mesh) cannot reach a
    model under another spelling: the store is refused when it is opened, not at train."""
    m = _manifest(small_store)
    m["modalities"][0] = name
    m["modality_columns"][name] = m["modality_columns"].pop("audio")
    _write_manifest(small_store, m)
    with pytest.raises(StoreError, match=f"modalities: modality name '{name}'"):
        FrameStore(small_store)


def test_implausible_frame_count_is_a_store_error(make_store):
    store = make_store([5, 3])
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["edits"][0]["n_frames"] = 10**30
    (store / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=r"manifest\.json: edits\[0\]: n_frames"):
        FrameStore(store)
