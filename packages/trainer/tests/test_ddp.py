"""Two CPU processes under torchrun (gloo): same weights on both ranks, one run directory, and
the same result as one process with the two ranks' batches combined."""

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from trainer import TrainConfig, Trainer

WORKER = Path(__file__).with_name("ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_process_ddp_matches_one_process_with_the_combined_batch(tmp_path):
    runs = tmp_path / "runs"
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
        str(WORKER),
        str(tmp_path),
        str(runs / "ddp"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]

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
