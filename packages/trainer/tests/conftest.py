"""Shared fixtures: a tiny MLP on synthetic linear regression, small enough for 2 slow cores."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from trainer import TrainConfig

torch.set_num_threads(1)  # small models: threads only add scheduling noise on shared cores


class Regression:
    """y = x @ w + noise; items are dicts of numpy arrays, like a real map-style dataset."""

    def __init__(self, n: int, d_in: int = 8, seed: int = 0, noise: float = 0.01) -> None:
        rng = np.random.default_rng(seed)
        w = np.random.default_rng(1234).normal(size=(d_in, 1)).astype(np.float32)
        self.x = rng.normal(size=(n, d_in)).astype(np.float32)
        self.y = (self.x @ w + noise * rng.normal(size=(n, 1))).astype(np.float32)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        return {"x": self.x[i], "y": self.y[i]}


def make_mlp(d_in: int = 8, hidden: int = 32, dropout: float = 0.0, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
    )


def mse_loss(model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
    pred = model(batch["x"])
    loss = nn.functional.mse_loss(pred, batch["y"])
    return loss, {"mae": (pred - batch["y"]).abs().mean()}


@pytest.fixture
def data():
    return Regression(96, seed=0), Regression(32, seed=1)


@pytest.fixture
def cfg(tmp_path):
    def make(**overrides) -> TrainConfig:
        base = dict(epochs=2, batch_size=8, lr=1e-2, progress=False, run_dir=str(tmp_path / "run"))
        base.update(overrides)
        return TrainConfig(**base)

    return make


@pytest.fixture
def mlp():
    return make_mlp


@pytest.fixture
def loss_fn():
    return mse_loss


@pytest.fixture
def regression():
    return Regression


HOLDER = textwrap.dedent("""
    import sys, time
    from trainer.rundir import RunDirLock
    lock = RunDirLock(sys.argv[1], command="holder --run here").acquire()
    print("locked", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def holder():
    """`holder(folder)`: a process that locks `folder` until the test ends (then it is killed)."""
    started = []

    def start(folder):
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True
        )
        started.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait(timeout=30)
