"""Two CPU processes under torchrun (gloo): same weights on both ranks, one run directory, and
the same result as one process with the two ranks' batches combined."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from trainer import TrainConfig, Trainer
from trainer import checkpoint as ckpt

WORKER = Path(__file__).with_name("ddp_worker.py")
RESUME_WORKER = Path(__file__).with_name("ddp_resume_worker.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(script: Path, *args) -> None:
    """Run `script` on 2 CPU processes (gloo), as `torchrun --nproc_per_node 2` would."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--nnodes",
        "1",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        str(script),
        *map(str, args),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_process_ddp_matches_one_process_with_the_combined_batch(tmp_path):
    runs = tmp_path / "runs"
    _torchrun(WORKER, tmp_path, runs / "ddp")

    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key, value in r0["weights"].items():
        assert torch.equal(r1["weights"][key], value), key
    assert r0["step"] == r1["step"] == 2 * 6  # 96 samples / 2 ranks / batch 8 per epoch
    assert r0["val_loss"] == r1["val_loss"]  # validation sharded, then all-reduced
    assert [p.name for p in runs.iterdir()] == ["ddp"]  # rank 0 alone writes
    assert (runs / "ddp" / "summary.json").is_file()
    assert "world 2" in (runs / "ddp" / "train.log").read_text()

    # the same order sharded over 2 ranks of 8 == one process with batches of 16
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)  # its dataset and loss; the __main__ part does not run
    torch.manual_seed(0)
    single = nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 1))
    summary = Trainer(
        single,
        worker.mse,
        worker.Regression(96, 0),
        worker.Regression(30, 1),
        TrainConfig(
            epochs=2, batch_size=16, lr=1e-2, progress=False, run_dir=str(tmp_path / "single")
        ),
    ).fit()
    assert summary["step"] == r0["step"]
    for key, value in single.state_dict().items():
        torch.testing.assert_close(r0["weights"][key], value, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        r0["val_loss"], summary["final_metrics"]["val_loss"], rtol=1e-4, atol=0
    )


def _assert_resumed_run_is_bit_identical(out: Path) -> None:
    stopped = ckpt.load_checkpoint(out / "stopped" / "checkpoints" / ckpt.checkpoint_name(7))
    assert (stopped["epoch"], stopped["position"]) == (1, 1)  # stopped mid-epoch
    straight = torch.load(out / "straight-rank0.pt", weights_only=True)
    for rank in (0, 1):
        resumed = torch.load(out / f"resumed-rank{rank}.pt", weights_only=True)
        for key, value in straight.items():
            assert torch.equal(resumed[key], value), (rank, key)
    summary = json.loads((out / "stopped" / "summary.json").read_text())
    assert summary["resumed_from"].endswith("step-00000007.pt") and summary["step"] == 18


def test_ddp_resume_mid_epoch_is_bit_identical(tmp_path):
    _torchrun(RESUME_WORKER, tmp_path, "all")  # the runs in one launch: fast
    _assert_resumed_run_is_bit_identical(tmp_path)
    # time-based checkpoints when only rank 0's clock says so: both ranks saved together
    timed = [p.name for p in ckpt.list_checkpoints(tmp_path / "timed" / "checkpoints")]
    assert timed == [ckpt.checkpoint_name(s) for s in (3, 6)]


@pytest.mark.heavy
def test_ddp_resume_in_new_processes_is_bit_identical(tmp_path):
    for phase in ("straight", "stopped", "resumed"):  # each in processes of its own
        _torchrun(RESUME_WORKER, tmp_path, phase)
    _assert_resumed_run_is_bit_identical(tmp_path)
