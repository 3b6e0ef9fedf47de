"""Run by test_ddp.py under `python -m torch.distributed.run --nproc_per_node 2` (not a test)."""

import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainer import TrainConfig, Trainer


class Regression:
    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        w = np.random.default_rng(1234).normal(size=(8, 1)).astype(np.float32)
        self.x = rng.normal(size=(n, 8)).astype(np.float32)
        self.y = (self.x @ w).astype(np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i]}


def mse(model, batch):
    return nn.functional.mse_loss(model(batch["x"]), batch["y"])


if __name__ == "__main__":
    out, run_dir = Path(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 1))
    config = TrainConfig(
        epochs=2, batch_size=8, lr=1e-2, progress=False, run_dir=run_dir, checkpoint_every_steps=4
    )
    summary = Trainer(model, mse, Regression(96, 0), Regression(30, 1), config).fit()
    rank = int(os.environ["RANK"])
    torch.save(
        {
            "weights": model.state_dict(),
            "step": summary["step"],
            "val_loss": summary["final_metrics"]["val_loss"],
        },
        out / f"rank{rank}.pt",
    )
