"""Learning-rate schedule: linear warmup, then cosine decay to `min_lr_ratio * lr`."""

from __future__ import annotations

import functools
import math

import torch


def lr_factor(
    step: int, *, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.0
) -> float:
    """Multiplier of the base lr for optimizer step `step` (0-based).

    Warmup: (step + 1) / warmup_steps, reaching 1.0 at the last warmup step. Then cosine from 1.0
    at step == warmup_steps down to min_lr_ratio at step == total_steps (and after)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine(
    optimizer: torch.optim.Optimizer, *, warmup_steps: int, total_steps: int, min_lr_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    # a partial (not a lambda) so the scheduler's state_dict stays plain data
    fn = functools.partial(
        lr_factor, warmup_steps=warmup_steps, total_steps=total_steps, min_lr_ratio=min_lr_ratio
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)
