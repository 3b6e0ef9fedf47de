"""Training benchmark: steps/s through `trainer.Trainer` against a bare PyTorch loop over the same
model and data, measured in the same run (target: Trainer overhead < 3%), plus the share of step
time the Trainer spends waiting for data (target < 5%).

Model: xmlai's default `mttransformer.MultiTrackTransformer` at batch 16 x 100 frames; when that
package is not importable, a stand-in `nn.TransformerEncoder` (d_model 256, 8 heads, 6 layers,
ff 1024) on random (16, 100, features) windows, and the output says so.

    python tools/bench/bench_trainer.py            # 3 alternating rounds of 8 timed steps
    python tools/bench/bench_trainer.py --quick    # 1 round of 3 timed steps
    python tools/bench/bench_trainer.py --threads 1   # steadier on a shared machine
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import tempfile
import time

import numpy as np
import torch
from torch import nn

from trainer import TrainConfig, Trainer
from trainer.schedule import warmup_cosine

BATCH, FRAMES, N_TRACKS = 16, 100, 20
AUDIO, VISUAL = 64, 128


class Windows:
    """Window items in seqwin's layout, held in memory (as memory-mapped views would be)."""

    def __init__(self, n: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        tracks = np.zeros((n, FRAMES, N_TRACKS * 9), np.float32)
        tracks[..., 0::9] = rng.integers(0, 2, (n, FRAMES, N_TRACKS))  # active
        tracks[..., 1::9] = rng.integers(0, 10, (n, FRAMES, N_TRACKS)) * tracks[..., 0::9]
        tracks[..., 2::9] = 100 + rng.normal(0, 10, (n, FRAMES, N_TRACKS))
        self.items = [
            {
                "tracks": tracks[i],
                "audio": rng.normal(size=(FRAMES, AUDIO)).astype(np.float32),
                "visual": rng.normal(size=(FRAMES, VISUAL)).astype(np.float32),
                "modality_mask": np.ones((FRAMES, 2), np.float32),
                "frame_mask": np.ones(FRAMES, np.float32),
                "start_frame": np.int64(i * 80),
                "edit_index": np.int64(0),
            }
            for i in range(n)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


class StandIn(nn.Module):
    """nn.TransformerEncoder d256/8 heads/6 layers/ff1024 over concatenated features."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(AUDIO + VISUAL, 256)
        layer = nn.TransformerEncoderLayer(256, 8, 1024, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 6, enable_nested_tensor=False)
        self.head = nn.Linear(256, N_TRACKS * 9)

    def forward(self, audio, visual, frame_mask):
        x = self.embed(torch.cat([audio, visual], dim=-1))
        return self.head(self.encoder(x, src_key_padding_mask=frame_mask == 0))


def standin_loss(model, batch):
    pred = model(batch["audio"], batch["visual"], batch["frame_mask"])
    return nn.functional.mse_loss(pred, batch["tracks"] / 100.0)


def build_model():
    try:
        from mttransformer import BatchLoss, MultiTrackConfig, MultiTrackTransformer

        config = MultiTrackConfig(modalities={"audio": AUDIO, "visual": VISUAL})
        return MultiTrackTransformer(config), BatchLoss(config), "mttransformer default config"
    except Exception as exc:  # not built yet, or its API changed: say so and use the stand-in
        reason = f"{type(exc).__name__}: {exc}"
        return StandIn(), standin_loss, f"STAND-IN nn.TransformerEncoder ({reason})"


class Clock:
    """Wraps a loss_fn and notes when each training call starts, in wall-clock and in CPU time
    of this process. Each interval between two calls is one whole step, identical for both loops.
    CPU time is what to compare on a shared machine: other processes stealing the cores inflate
    wall-clock time at random but not the CPU time this process spends."""

    def __init__(self, loss_fn) -> None:
        self.loss_fn = loss_fn
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __call__(self, model, batch):
        if model.training:
            self.wall.append(time.perf_counter())
            self.cpu.append(time.process_time())
        return self.loss_fn(model, batch)

    def intervals(self, warmup: int) -> tuple[list[float], list[float]]:
        """(wall, cpu) seconds per step after the warm-up steps."""
        wall, cpu = self.wall[warmup:], self.cpu[warmup:]
        return (
            [b - a for a, b in itertools.pairwise(wall)],
            [b - a for a, b in itertools.pairwise(cpu)],
        )


def bare_loop(model, loss_fn, data, steps: int, seed: int) -> tuple[float, float]:
    """What a careful user writes by hand: DataLoader, AdamW, clipping, warmup-cosine."""
    clock = Clock(loss_fn)
    loader = torch.utils.data.DataLoader(
        data, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    sched = warmup_cosine(opt, warmup_steps=2, total_steps=steps, min_lr_ratio=0.0)
    model.train()
    wait, t_start = 0.0, time.perf_counter()
    it = iter(loader)
    for _ in range(steps):
        t0 = time.perf_counter()
        batch = next(it)
        wait += time.perf_counter() - t0
        out = clock(model, batch)
        loss = out[0] if isinstance(out, tuple) else out
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    total = time.perf_counter() - t_start
    return clock, wait / total


def trainer_loop(model, loss_fn, data, steps: int, seed: int, run_dir: str):
    clock = Clock(loss_fn)
    config = TrainConfig(
        epochs=1,
        batch_size=BATCH,
        lr=3e-4,
        warmup_steps=2,
        seed=seed,
        run_dir=run_dir,
        progress=False,
        plots=False,
        log_every_steps=10**6,
        device="cpu",
    )
    summary = Trainer(model, clock, data, None, config).fit()
    assert summary["step"] == steps, summary
    return clock, summary["final_metrics"]["data_wait_frac"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 timed steps")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per round")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    timed = args.steps or (3 if args.quick else 8)
    if args.threads:
        torch.set_num_threads(args.threads)
    warmup = 2
    steps = warmup + timed + 1

    torch.manual_seed(0)
    model, loss_fn, what = build_model()
    n_params = sum(p.numel() for p in model.parameters())
    data = Windows(steps * BATCH)
    print(f"model: {what}")
    print(
        f"parameters: {n_params:,} | batch {BATCH} x {FRAMES} frames | torch {torch.__version__}"
        f" | {torch.get_num_threads()} threads | {rounds} round(s) x {timed} timed steps"
    )

    import logging

    logging.getLogger("trainer").setLevel(logging.WARNING)
    bare_wall, bare_cpu, ours_wall, ours_cpu, bare_wait, ours_wait = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):  # alternate so drifting machine load hits both alike
            clock, wait = bare_loop(copy.deepcopy(model), loss_fn, data, steps, seed=r)
            wall, cpu = clock.intervals(warmup)
            bare_wall, bare_cpu = bare_wall + wall, bare_cpu + cpu
            bare_wait.append(wait)
            clock, wait = trainer_loop(copy.deepcopy(model), loss_fn, data, steps, r, f"{tmp}/r{r}")
            wall, cpu = clock.intervals(warmup)
            ours_wall, ours_cpu = ours_wall + wall, ours_cpu + cpu
            ours_wait.append(wait)
            print(
                f"  round {r}: median step wall/cpu s: bare "
                f"{statistics.median(bare_wall[-timed:]):.3f}/{statistics.median(bare_cpu[-timed:]):.3f}"
                f" | trainer {statistics.median(ours_wall[-timed:]):.3f}/"
                f"{statistics.median(ours_cpu[-timed:]):.3f}"
            )
    med = statistics.median
    # medians are robust to other processes stealing the CPU for a moment
    bare, ours = 1 / med(bare_wall), 1 / med(ours_wall)
    print(
        f"bare loop : {bare:.3f} steps/s = {bare * BATCH:.1f} windows/s, "
        f"{med(bare_cpu):.3f} CPU s/step (data wait {med(bare_wait):.1%})"
    )
    print(
        f"Trainer   : {ours:.3f} steps/s = {ours * BATCH:.1f} windows/s, "
        f"{med(ours_cpu):.3f} CPU s/step (data wait {med(ours_wait):.1%})"
    )
    print(
        f"Trainer / bare CPU time per step : {med(ours_cpu) / med(bare_cpu):.3f} "
        f"(overhead {med(ours_cpu) / med(bare_cpu) - 1:+.1%}; target < 3%)"
    )
    print(
        f"Trainer / bare wall time per step: {bare / ours:.3f} "
        f"(overhead {bare / ours - 1:+.1%}; noisy on a shared machine)"
    )
    print(f"Trainer data-wait share: {med(ours_wait):.1%} of epoch time (target < 5%)")


if __name__ == "__main__":
    main()
