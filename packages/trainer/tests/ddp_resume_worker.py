"""Run by test_ddp.py under `python -m torch.distributed.run --nproc_per_node 2` (not a test).

    ddp_resume_worker.py OUT PHASE   PHASE: straight | stopped | resumed | all (the three in one
                                     process group, one after the other, then `timed`)
Each phase saves this rank's final weights to OUT/<phase>-rank<R>.pt. `timed`: time-based
checkpoints with a clock that runs on rank 0 only, so the ranks must agree to save."""

import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from trainer import TrainConfig, Trainer, loop

STEPS_PER_EPOCH = 6  # 96 items / 2 ranks / batch 8
STOP_AT = 7  # one step into the second epoch: a mid-epoch checkpoint


class Jittered:
    """Draws from numpy's global RNG (seeded per rank), so a resume must restore every rank's."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        w = np.random.default_rng(1234).normal(size=(8, 1)).astype(np.float32)
        self.x = rng.normal(size=(n, 8)).astype(np.float32)
        self.y = (self.x @ w).astype(np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i] + np.float32(np.random.normal(0, 0.01)), "y": self.y[i]}


def mse(model, batch):
    return nn.functional.mse_loss(model(batch["x"]), batch["y"])


def fit(run_dir: Path, init_seed: int, **settings) -> nn.Module:
    torch.manual_seed(init_seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Dropout(0.2), nn.Linear(16, 1))
    settings = {"epochs": 3, **settings}
    config = TrainConfig(
        batch_size=8,
        lr=1e-2,
        keep_last=50,  # the test reads the checkpoint the resume started from
        progress=False,
        run_dir=str(run_dir),
        **settings,
    )
    Trainer(model, mse, Jittered(96, 0), Jittered(30, 1), config).fit()
    return model


def run_phase(out: Path, phase: str) -> None:
    if phase == "straight":
        model = fit(out / "straight", 0)
    elif phase == "stopped":
        model = fit(out / "stopped", 0, max_steps=STOP_AT)
    elif phase == "resumed":  # other initial weights: everything must come from the checkpoint
        model = fit(out / "stopped", 123, resume=True)
    else:
        steps = {"n": 0}
        rank = int(os.environ["RANK"])

        def clock():  # a minute a step on rank 0; stopped on rank 1
            steps["n"] += 1
            return 60.0 * steps["n"] if rank == 0 else 0.0

        loop.monotonic = clock
        model = fit(out / "timed", 0, epochs=1, checkpoint_every_minutes=2.5)
    torch.save(model.state_dict(), out / f"{phase}-rank{os.environ['RANK']}.pt")


if __name__ == "__main__":
    out, phase = Path(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(1)
    if phase != "all":
        run_phase(out, phase)
    else:  # one process group for all three: the trainer joins it and leaves it up
        dist.init_process_group("gloo")
        for each in ("straight", "stopped", "resumed", "timed"):
            run_phase(out, each)
        dist.barrier()
        dist.destroy_process_group()
