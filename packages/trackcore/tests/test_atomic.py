"""Atomic writes: the target is the old file or the new one, never half; the user's umask."""

from __future__ import annotations

import json
import os
import stat

import pytest

from trackcore.atomic import (
    TEMP_NAME,
    atomic_dir,
    atomic_open,
    atomic_path,
    is_temp_name,
    replace_dir,
    temp_dir,
    temp_path,
    write_bytes,
    write_json,
    write_text,
)


@pytest.fixture
def group_umask():
    """A shared folder's umask (group may write); restored after the test."""
    old = os.umask(0o002)
    yield 0o002
    os.umask(old)


def _hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_helpers_write_and_leave_no_temporary(tmp_path):
    assert write_text(tmp_path / "a" / "t.txt", "hé") == tmp_path / "a" / "t.txt"
    assert (tmp_path / "a" / "t.txt").read_text(encoding="utf-8") == "hé"
    write_bytes(tmp_path / "b.bin", b"\x00\x01", fsync=True)
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    write_json(tmp_path / "c.json", {"a": [1, 2]})
    assert json.loads((tmp_path / "c.json").read_text()) == {"a": [1, 2]}
    assert (tmp_path / "c.json").read_text().endswith("]\n}\n")
    assert _hidden(tmp_path) == [] and _hidden(tmp_path / "a") == []


def test_files_and_folders_get_the_users_umask(tmp_path, group_umask):
    write_text(tmp_path / "t.txt", "x")
    with atomic_path(tmp_path / "p.bin") as tmp:
        tmp.write_bytes(b"x")
    with atomic_open(tmp_path / "o.bin", "wb", fsync=True) as handle:
        handle.write(b"x")
    for name in ("t.txt", "p.bin", "o.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o664, name
    with atomic_dir(tmp_path / "store") as work:
        (work / "f").write_text("x")
    assert stat.S_IMODE((tmp_path / "store").stat().st_mode) == 0o775


def test_an_interrupted_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise KeyboardInterrupt
    with pytest.raises(ValueError, match="not JSON compliant"), atomic_open(target) as handle:
        handle.write("partial")
        json.dumps(float("nan"), allow_nan=False)
    with pytest.raises(TypeError):
        write_json(target, {"a": object()})
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_failed_rename_removes_the_temporary(tmp_path, monkeypatch):
    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_text(tmp_path / "x.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_temporary_names(tmp_path):
    random_name = temp_path(tmp_path / "summary.json")
    assert random_name.parent == tmp_path and is_temp_name(random_name.name, "summary.json")
    assert temp_path(tmp_path / "step-00000001.pt", token="4242").name == (
        ".step-00000001.pt.tmp-4242"
    )
    plot = temp_path(tmp_path / "curves.png", suffix=".png")
    assert plot.suffix == ".png" and TEMP_NAME.match(plot.name)["target"] == "curves.png"
    assert temp_path(tmp_path / "x") != temp_path(tmp_path / "x")
    for other in ("summary.json", ".summary.json", ".x.tmp", "x.tmp-1"):
        assert not is_temp_name(other)
    assert not is_temp_name(random_name.name, "other.json")
    with pytest.raises(ValueError, match="mode"):
        atomic_open(tmp_path / "x", "a").__enter__()


def test_a_named_temporary_left_by_a_killed_writer_is_overwritten(tmp_path):
    target = tmp_path / "step-00000002.pt"
    temp_path(target, token="77").write_bytes(b"half a checkpoint")
    with atomic_open(target, "wb", token="77") as handle:
        handle.write(b"whole")
    assert target.read_bytes() == b"whole" and list(tmp_path.iterdir()) == [target]


def test_a_folder_is_swapped_in_whole(tmp_path):
    target = tmp_path / "store"
    with atomic_dir(target) as work:
        assert work.name.startswith(".store.tmp-") and work.is_dir()
        (work / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(target) as work:
        (work / "b").write_text("2")
        raise RuntimeError("half-way")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    work = temp_dir(target)
    (work / "c").write_text("3")
    replace_dir(work, target)
    assert sorted(p.name for p in target.iterdir()) == ["c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # old and work are gone
