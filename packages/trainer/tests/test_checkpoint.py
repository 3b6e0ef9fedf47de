import os
import pickle
import random
import re
from collections import namedtuple

import numpy as np
import pytest
import torch
from torch import nn

from trainer import CheckpointError, load_checkpoint, load_model_weights, save_checkpoint
from trainer import checkpoint as ckpt

DiskUsage = namedtuple("DiskUsage", "total used free")


def _state(step: int, value: float = 0.0) -> dict:
    return {"model": {"w": torch.full((2, 2), value)}, "step": step, "epoch": 0, "position": step}


def test_round_trip_and_only_plain_data(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", {**_state(3, 1.5), "rng": [ckpt.rng_state()]})
    state = load_checkpoint(path)
    assert state["step"] == 3 and torch.equal(state["model"]["w"], torch.full((2, 2), 1.5))
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]  # no temporary left


def test_rng_states_round_trip():
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    random.gauss(0, 1)  # leaves a cached gaussian in python's state
    state = ckpt.rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(1).item(), random.gauss(0, 1))
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    ckpt.set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item(), random.gauss(0, 1)) == expected


def test_interrupted_rename_leaves_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "step-00000001.pt"
    save_checkpoint(path, _state(1, 1.0))

    def boom(*args):
        raise OSError("disk vanished")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk vanished"):
        save_checkpoint(path, _state(2, 2.0))
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_write_dying_half_way_leaves_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "step-00000001.pt"
    save_checkpoint(path, _state(1, 1.0))
    real_save = torch.save

    def half_save(obj, fh):
        real_save(obj, fh)
        fh.truncate(fh.tell() // 2)  # some bytes made it to disk, then the process "died"
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, _state(2, 2.0))
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_corrupt_latest_falls_back_with_a_warning(tmp_path, caplog):
    for step in (1, 2, 3):
        save_checkpoint(tmp_path / ckpt.checkpoint_name(step), _state(step))
    newest = tmp_path / ckpt.checkpoint_name(3)
    newest.write_bytes(newest.read_bytes()[:100])
    path, state = ckpt.latest_checkpoint(tmp_path)
    assert path.name == ckpt.checkpoint_name(2) and state["step"] == 2
    assert "falling back" in caplog.text and "step-00000003.pt" in caplog.text


def test_all_corrupt_is_an_error_and_empty_is_none(tmp_path):
    assert ckpt.latest_checkpoint(tmp_path) == (None, None)
    (tmp_path / ckpt.checkpoint_name(1)).write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="none of the 1 checkpoints loads"):
        ckpt.latest_checkpoint(tmp_path)


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {_Payload.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_hostile_file_is_refused_without_executing_anything(tmp_path):
    marker = tmp_path / "pwned"
    _Payload.marker = marker
    evil = tmp_path / "evil.pt"
    torch.save({"model": _Payload()}, evil)  # torch.save pickles: a classic code-execution file
    with pytest.raises(CheckpointError, match="refused: not a trainer checkpoint"):
        load_checkpoint(evil)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)
    assert not marker.exists()


def test_a_torch_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match="no 'xmlai-trainer-checkpoint' marker"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_cleanup_keeps_last_k_and_the_best(tmp_path):
    for step in range(1, 8):
        save_checkpoint(tmp_path / ckpt.checkpoint_name(step), _state(step))
    best = tmp_path / ckpt.checkpoint_name(2)
    removed = ckpt.cleanup_checkpoints(tmp_path, keep_last=3, keep={best})
    kept = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert kept == [ckpt.checkpoint_name(s) for s in (2, 5, 6, 7)]
    assert len(removed) == 3


def test_another_architecture_is_named(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    other = nn.Sequential(nn.Linear(4, 16), nn.Linear(16, 1), nn.Linear(1, 1))
    path = save_checkpoint(
        tmp_path / "a.pt", {"model": other.state_dict(), "step": 0, "epoch": 0, "position": 0}
    )
    with pytest.raises(CheckpointError, match="another architecture") as info:
        load_model_weights(model, path)
    text = str(info.value)
    assert "0.weight: model (8, 4) vs checkpoint (16, 4)" in text
    assert "not in model (2): 2.weight, 2.bias" in text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_one_line_with_the_space_needed_and_free(tmp_path):
    previous = save_checkpoint(tmp_path / "step-00000001.pt", _state(1, 1.0))
    target = tmp_path / "step-00000002.pt"
    # every write to the temporary file lands on /dev/full: a real ENOSPC from the kernel
    ckpt.temp_path(target).symlink_to("/dev/full")
    big = {**_state(2, 2.0), "model": {"w": torch.zeros(256, 1024)}}
    with pytest.raises(ckpt.DiskFullError) as info:
        save_checkpoint(target, big)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{target}: no space left on the device")
    needed = re.search(r"needs about ([\d.]+) (B|KB) \(the size of step-00000001\.pt\), ", message)
    assert needed and re.search(r"\), [\d.]+ [KMG]?B is free;", message)
    assert float(needed[1]) * (1000 if needed[2] == "KB" else 1) == pytest.approx(
        previous.stat().st_size, rel=0.05
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [previous.name]  # temp file gone
    assert load_checkpoint(previous)["step"] == 1


def test_torch_saves_runtime_error_on_a_full_disk_is_recognised(tmp_path, monkeypatch):
    def fails_like_a_full_disk(obj, fh):
        fh.write(b"PK partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")

    monkeypatch.setattr(torch, "save", fails_like_a_full_disk)
    monkeypatch.setattr(ckpt.shutil, "disk_usage", lambda path: DiskUsage(10**9, 10**9, 2000))
    state = {**_state(1), "model": {"w": torch.zeros(1000, 1000)}}  # 4 MB of tensors
    with pytest.raises(
        ckpt.DiskFullError,
        match=r"needs about 4\.0 MB \(the size of its tensors"
        r"\), 2\.0 KB is free",
    ):
        save_checkpoint(tmp_path / "step-00000001.pt", state)
    assert list(tmp_path.iterdir()) == []

    # with room to spare the same error is not a full disk: it is raised as it is
    monkeypatch.setattr(ckpt.shutil, "disk_usage", lambda path: DiskUsage(10**13, 0, 10**12))
    with pytest.raises(RuntimeError, match="inline_container"):
        save_checkpoint(tmp_path / "step-00000001.pt", state)


def test_stale_temp_files_are_removed_and_nothing_else(tmp_path):
    stale = [tmp_path / ".step-00000007.pt.tmp-4242", tmp_path / ".step-00000012.pt.tmp-1"]
    kept = [
        tmp_path / "step-00000005.pt",
        tmp_path / ".step-notes.pt.tmp-1",  # not a step number
        tmp_path / "step-00000007.pt.tmp-1",  # not hidden: not our name
        tmp_path / ".config.json.tmp-1",
    ]
    for path in stale + kept:
        path.write_bytes(b"x")
    assert sorted(ckpt.remove_stale_temp_files(tmp_path)) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
