"""The frame-store manifest: what the writer writes, the reader reads, and nothing else."""

from __future__ import annotations

import json

import pytest

from trackcore import (
    LayoutError,
    Manifest,
    ManifestEdit,
    ManifestError,
    ModalityNameError,
    read_manifest,
    track_columns,
    write_manifest,
)
from trackcore.manifest import FORMAT, file_checksum


def _manifest(**changes) -> Manifest:
    fields = dict(
        n_tracks=2,
        modalities=["audio", "face_mesh"],
        modality_columns={"audio": ["rms", "speech"], "face_mesh": ["x"]},
        modality_kinds={"audio": {"rms": "continuous", "speech": "binary"}},
        edits=[
            ManifestEdit("edit one", "edit_one", 30, "a.mp4", 30.0, "30/1"),
            ManifestEdit("edit 2", "edit_2", 0, checksums={"tracks.npy": "sha256:00"}),
        ],
    )
    return Manifest(**{**fields, **changes})


def test_what_is_written_is_read_back(tmp_path):
    manifest = _manifest()
    path = write_manifest(tmp_path, manifest)
    assert path == tmp_path / "manifest.json"
    assert read_manifest(tmp_path) == manifest
    data = json.loads(path.read_text())
    assert list(data)[:4] == ["format", "version", "layout_version", "n_tracks"]
    assert (data["format"], data["version"], data["layout_version"]) == (FORMAT, 1, 1)
    assert data["track_columns"] == track_columns(2)
    assert "checksums" not in data["edits"][0] and data["edits"][1]["checksums"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_a_manifest_without_a_layout_version_is_layout_1(tmp_path):
    data = _manifest().to_dict()
    del data["layout_version"]
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    assert read_manifest(tmp_path).layout_version == 1


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"layout_version": 2}, LayoutError, "layout_version: track layout version 2"),
        ({"format": "other"}, ManifestError, "format 'other'"),
        ({"version": 2}, ManifestError, "version 2 not supported"),
        ({"n_tracks": 3}, LayoutError, r"track_columns: 18 track columns, expected n_tracks\*9"),
        ({"n_tracks": True}, ManifestError, "n_tracks: missing or not a int"),
        # named at once: listing 10**12 tracks' column names would never end
        (
            {"n_tracks": 10**12},
            LayoutError,
            r"18 track columns, expected n_tracks\*9 = 9000000000000",
        ),
        ({"modalities": ["audio", "face-mesh"]}, ManifestError, "no column list"),
        ({"edits": []}, ManifestError, "the store has no edits"),
        ({"normalisation": [1]}, ManifestError, "normalisation"),
    ],
)
def test_the_reader_names_what_is_wrong(tmp_path, change, error, message):
    data = {**_manifest().to_dict(), **change}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(error, match=message) as caught:
        read_manifest(tmp_path)
    assert caught.value.path == tmp_path / "manifest.json"


def test_modality_names_follow_the_one_rule_in_the_manifest(tmp_path):
    bad = _manifest(
        modalities=["audio", "face-mesh"],
        modality_columns={"audio": ["rms", "speech"], "face-mesh": ["x"]},
    )
    with pytest.raises(ModalityNameError, match="did you mean 'face_mesh'"):
        write_manifest(tmp_path, bad)  # the writer refuses what the reader would refuse
    assert not (tmp_path / "manifest.json").exists()
    (tmp_path / "manifest.json").write_text(json.dumps(bad.to_dict()))
    with pytest.raises(ModalityNameError, match="modalities: modality name 'face-mesh'"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"key": "../x"}, r"edits\[0\]: edit key '../x' is not a safe folder name"),
        ({"n_frames": -1}, r"edits\[0\]: n_frames -1"),
        ({"fps": "fast"}, r"edits\[0\]: bad field value"),
        ({"checksums": {"tracks.npy": "00"}}, r"edits\[0\]: checksums"),
    ],
)
def test_bad_edit_entries(tmp_path, edit, message):
    data = _manifest().to_dict()
    data["edits"][0].update(edit)
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path)


def test_duplicate_keys_missing_fields_and_missing_files(tmp_path):
    data = _manifest().to_dict()
    data["edits"][1]["key"] = data["edits"][0]["key"]
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="used by two edits"):
        read_manifest(tmp_path)
    del data["edits"][1]["n_frames"]
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"edits\[1\]: missing field 'n_frames'"):
        read_manifest(tmp_path)
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "nope")
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(ManifestError, match=r"missing manifest\.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{\n oops")
    with pytest.raises(ManifestError, match="line 2 column 2: invalid JSON"):
        read_manifest(tmp_path)


def test_file_checksum(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"abc")
    assert file_checksum(tmp_path / "a.npy") == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert file_checksum(tmp_path / "a.npy", "blake2b").startswith("blake2b:")
    with pytest.raises(ManifestError, match="unknown checksum algorithm"):
        file_checksum(tmp_path / "a.npy", "nope")
