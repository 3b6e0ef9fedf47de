"""Training benchmark: CPU time per step through `trainer.Trainer` against a bare PyTorch loop
over the same model and data, measured in the same process (target: Trainer overhead < 3%), plus
the share of its own time the Trainer spends waiting for data (target < 5%).

What it compares. Both loops do the same essential work per step: collate 16 windows from the
same in-memory dataset in-process (num_workers=0), forward and loss (the same loss_fn), backward,
clip the global gradient norm to 1.0, AdamW (the Trainer's groups: no decay on 1-D tensors),
warmup-cosine schedule, zero_grad(set_to_none). The bare loop is that and nothing else (a torch
DataLoader, no host reads, no logging); the Trainer adds all it does per step: the non-finite
loss / gradient check (its one host read per step), gradient-norm statistics and spike check, the
epoch's running sums, timers, the checkpoint and max_steps decisions. Its checkpoint is written
at the epoch end, after the timed steps.

How. The two loops take turns, one whole step each, in one thread: the bare loop is a
generator that the Trainer's loss_fn advances by one step at each training call, so a drifting
machine load hits both alike, step by step. The Trainer's step is the interval between two of its
training calls less the nested bare step (data loading included in both); the first 2 steps of
each are warm-up. A round is one Trainer epoch with its bare twin; its ratio is the Trainer's
median step over the bare loop's, and the figure is the median of the rounds' ratios, with their
spread. --aa puts a second bare loop where the Trainer was: the same figure then shows the noise
floor (and any bias of the outer position). Times are CPU time of the process
(time.process_time: all threads, user + system), which other processes on a shared machine do
not inflate as they inflate wall time (printed too, for reference).

The allocator. With glibc's default malloc the top of the heap that backward frees is often
returned to the OS at the end of a step and faulted back in by the next forward: up to ~60k minor
page faults (~0.1 s of system time, ~10%) a step here, hitting one loop or the other depending on
the heap's layout, not on the loop's work. By default both loops run with malloc's thresholds
pinned (mallopt M_TRIM_THRESHOLD 1 GiB, M_MMAP_THRESHOLD 32 MiB: what MALLOC_TRIM_THRESHOLD_ /
MALLOC_MMAP_THRESHOLD_ do), so the ratio measures the loops; --system-malloc keeps glibc's
defaults (the two loops share one heap, so its faults fall on either). Page faults per step are
printed either way.

Model: xmlai's default `mttransformer.MultiTrackTransformer` at batch 16 x 100 frames; when that
package is not importable, a stand-in `nn.TransformerEncoder` (d_model 256, 8 heads, 6 layers,
ff 1024) on random (16, 100, features) windows, and the output says so.

    python tools/bench/bench_trainer.py                # 7 rounds of 8 timed steps per loop
    python tools/bench/bench_trainer.py --quick        # 1 round of 3 timed steps
    python tools/bench/bench_trainer.py --threads 1    # steadier on a shared machine
    python tools/bench/bench_trainer.py --system-malloc   # glibc's default heap trimming
    python tools/bench/bench_trainer.py --aa       # bare loop against itself: the noise floor
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import itertools
import logging
import math
import statistics
import tempfile
import time

import numpy as np
import torch
from torch import nn

from trainer import TrainConfig, Trainer
from trainer.schedule import warmup_cosine

try:
    import resource
except ImportError:  # Windows: no page-fault counts
    resource = None

BATCH, FRAMES, N_TRACKS = 16, 100, 20
AUDIO, VISUAL = 64, 128
WARMUP = 2


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


def pin_malloc() -> str:
    """Stop glibc from trimming the heap between steps; returns what the allocator does."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return "system default (no glibc)"
    m_trim_threshold, m_mmap_threshold = -1, -3
    if mallopt(m_trim_threshold, 1 << 30) and mallopt(m_mmap_threshold, 32 << 20):
        return "glibc, thresholds pinned (trim 1 GiB, mmap 32 MiB)"
    return "system default (mallopt refused)"


def snapshot() -> tuple[float, float, int]:
    """(wall s, CPU s of this process, minor page faults so far)."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource else 0
    return time.perf_counter(), time.process_time(), faults


class Paired:
    """A loss_fn wrapper that runs one step of a second loop (a generator) at each training call,
    so the two loops take turns, one whole step each. The outer loop's step is the interval
    between two of its training calls less the nested step; the nested loop's step is one
    `next()`. Both are [wall, CPU, page faults]."""

    def __init__(self, loss_fn, nested) -> None:
        self.loss_fn = loss_fn
        self.nested = nested
        self.calls: list[tuple] = []  # (outer step ends, nested step ends = outer step starts)

    def __call__(self, model, batch):
        if model.training:
            before = snapshot()
            next(self.nested, None)
            self.calls.append((before, snapshot()))
        return self.loss_fn(model, batch)

    def steps(self) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """(outer, nested) per-step lists after the warm-up steps, paired in time."""
        calls = self.calls[WARMUP:]
        outer = [(start[1], end[0]) for start, end in itertools.pairwise(calls)]
        nested = [(before, after) for before, after in calls[: len(outer)]]
        return _deltas(outer), _deltas(nested)


def _deltas(pairs) -> dict[str, list[float]]:
    return {
        name: [b[i] - a[i] for a, b in pairs] for i, name in enumerate(("wall", "cpu", "faults"))
    }


def adamw(model: nn.Module) -> torch.optim.AdamW:
    """The Trainer's optimizer: no weight decay on 1-D tensors (biases, norm gains)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.01},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=3e-4)


def bare_steps(model, loss_fn, data, steps: int, seed: int, wait: dict):
    """What a careful user writes by hand: DataLoader, AdamW, clipping, warmup-cosine. A
    generator: one step per next(); adds its data-loading time to wait["s"]."""
    loader = torch.utils.data.DataLoader(
        data, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    opt = adamw(model)
    sched = warmup_cosine(opt, warmup_steps=2, total_steps=steps, min_lr_ratio=0.0)
    model.train()
    it = iter(loader)
    for _ in range(steps):
        t0 = time.perf_counter()
        batch = next(it)
        wait["s"] += time.perf_counter() - t0
        out = loss_fn(model, batch)
        loss = out[0] if isinstance(out, tuple) else out
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        yield


def trainer_fit(model, loss_fn, data, steps: int, seed: int, run_dir: str) -> dict:
    config = TrainConfig(
        epochs=1,
        batch_size=BATCH,
        lr=3e-4,
        warmup_steps=2,
        seed=seed,
        run_dir=run_dir,
        progress=False,
        plots=False,
        device="cpu",
    )
    summary = Trainer(model, loss_fn, data, None, config).fit()
    assert summary["step"] == steps, summary
    return summary["final_metrics"]


def one_round(model, loss_fn, data, steps: int, seed: int, run_dir: str, aa: bool) -> dict:
    """The Trainer (or, with aa, a second bare loop) with the bare loop's steps nested in it."""
    wait = {"s": 0.0}
    clock = Paired(loss_fn, bare_steps(copy.deepcopy(model), loss_fn, data, steps, seed, wait))
    if aa:
        outer_wait, t0 = {"s": 0.0}, time.perf_counter()
        for _ in bare_steps(copy.deepcopy(model), clock, data, steps, seed + 1000, outer_wait):
            pass
        wall, waited = time.perf_counter() - t0, outer_wait["s"]
    else:
        row = trainer_fit(copy.deepcopy(model), clock, data, steps, seed, run_dir)
        wall, waited = row["time_s"], row["data_wait_frac"] * row["time_s"]
    ours, bare = clock.steps()
    nested_wall = sum(after[0] - before[0] for before, after in clock.calls)
    # the outer loop's time includes the nested bare steps: its own time is the rest
    ours["wait"] = waited / (wall - nested_wall) if wall > nested_wall else math.nan
    bare["wait"] = wait["s"] / nested_wall if nested_wall > 0 else math.nan
    return {"bare": bare, "trainer": ours}


def run_rounds(model, loss_fn, data, steps: int, rounds: int, aa: bool) -> list[dict]:
    runs: list[dict] = []
    med = statistics.median
    ours = "bare (A/A)" if aa else "Trainer"
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            result = one_round(model, loss_fn, data, steps, r, f"{tmp}/r{r}", aa)
            runs.append(result)
            b, t = result["bare"], result["trainer"]
            print(
                f"  round {r}: CPU s/step bare {med(b['cpu']):.3f} | {ours} {med(t['cpu']):.3f}"
                f" | ratio {med(t['cpu']) / med(b['cpu']):.3f} | wall {med(b['wall']):.3f} / "
                f"{med(t['wall']):.3f} | page faults/step {med(b['faults']):.0f} / "
                f"{med(t['faults']):.0f}",
                flush=True,
            )
    return runs


def report(runs: list[dict], aa: bool) -> None:
    med = statistics.median
    ours = "bare (A/A)" if aa else "Trainer"

    def pooled(which: str, key: str) -> list[float]:
        return [x for run in runs for x in run[which][key]]

    for which, name in (("bare", "bare loop"), ("trainer", ours)):
        wall, cpu = med(pooled(which, "wall")), med(pooled(which, "cpu"))
        wait = med(run[which]["wait"] for run in runs)
        print(
            f"{name:10s}: {1 / wall:.3f} steps/s = {BATCH / wall:.1f} windows/s, {cpu:.3f} CPU "
            f"s/step, {med(pooled(which, 'faults')):.0f} page faults/step (data wait {wait:.1%})"
        )
    for key, note in (("cpu", "target < 3%"), ("wall", "noisy on a shared machine")):
        ratios = sorted(med(r["trainer"][key]) / med(r["bare"][key]) for r in runs)
        print(
            f"{ours} / bare {key:4s} time per step: median {med(ratios):.3f} over {len(runs)} "
            f"round(s), spread {ratios[0]:.3f}..{ratios[-1]:.3f} "
            f"(overhead {med(ratios) - 1:+.1%}; {note})"
        )
    wait = med(run["trainer"]["wait"] for run in runs)
    print(f"{ours} data-wait share: {wait:.1%} of its own time (target < 5%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 timed steps")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 7)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run (default 8)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument(
        "--system-malloc", action="store_true", help="keep glibc's heap trimming between steps"
    )
    parser.add_argument(
        "--aa", action="store_true", help="the bare loop against itself: the noise floor"
    )
    args = parser.parse_args()
    allocator = "system default" if args.system_malloc else pin_malloc()
    rounds = args.rounds or (1 if args.quick else 7)
    timed = args.steps or (3 if args.quick else 8)
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = WARMUP + timed + 1

    torch.manual_seed(0)
    model, loss_fn, what = build_model()
    n_params = sum(p.numel() for p in model.parameters())
    data = Windows(steps * BATCH)
    print(f"model: {what}")
    print(
        f"parameters: {n_params:,} | batch {BATCH} x {FRAMES} frames | torch {torch.__version__}"
        f" | {torch.get_num_threads()} threads | {rounds} round(s) x {timed} timed steps per loop"
        f" | malloc: {allocator}"
    )
    logging.getLogger("trainer").setLevel(logging.WARNING)
    report(run_rounds(model, loss_fn, data, steps, rounds, args.aa), args.aa)


if __name__ == "__main__":
    main()
