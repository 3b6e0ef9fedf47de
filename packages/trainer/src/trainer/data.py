"""Data order and batching. The order of an epoch is a pure function of (seed, epoch), so a run
resumed in the middle of an epoch sees exactly the batches the uninterrupted run would have."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The shuffled indices 0..n-1 of one epoch, identical on every machine and every rank."""
    generator = torch.Generator().manual_seed(seed + epoch)
    return torch.randperm(n, generator=generator).tolist()


def shard(order: Sequence[int], rank: int, world_size: int, *, pad: bool = True) -> list[int]:
    """Rank `rank`'s share of `order`: every world_size-th index, starting at rank.

    With pad=True (training) the order is first extended by wrapping around so every rank gets
    the same number of samples (DDP needs equal step counts); evaluation uses pad=False so no
    sample is counted twice."""
    order = list(order)
    if pad and world_size > 1 and order:
        total = math.ceil(len(order) / world_size) * world_size
        order = (order * math.ceil(total / len(order)))[:total]
    return order[rank::world_size]


def epoch_batches(
    n: int,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    rank: int = 0,
    world_size: int = 1,
    drop_last: bool = False,
) -> list[list[int]]:
    """The list of training batches (dataset indices) this rank sees in `epoch`."""
    mine = shard(epoch_order(n, seed, epoch), rank, world_size)
    batches = [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def eval_batches(n: int, batch_size: int, rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """Validation batches in dataset order, sharded without padding."""
    mine = shard(range(n), rank, world_size, pad=False)
    return [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack a list of sample dicts into a dict of batched tensors.

    numpy arrays, numpy/python scalars and tensors are stacked along a new dim 0; anything else
    (strings, ids) is kept as a list."""
    if not items:
        raise ValueError("collate() got an empty list")
    if not isinstance(items[0], dict):
        raise TypeError(f"dataset items must be dicts, got {type(items[0]).__name__}")
    out: dict[str, Any] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        first = values[0]
        if isinstance(first, torch.Tensor):
            out[key] = torch.stack(values)
        elif isinstance(first, np.ndarray | np.generic | int | float | bool):
            out[key] = torch.from_numpy(np.stack([np.asarray(v) for v in values]))
        else:
            out[key] = values
    return out


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    non_blocking = device.type == "cuda"
    return {
        k: v.to(device, non_blocking=non_blocking) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }


def describe_batch(batch: dict[str, Any]) -> str:
    """`tracks (16, 100, 180) float32, start_frame (16,) int64` — for error messages."""
    parts = []
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            dtype = str(value.dtype).removeprefix("torch.")
            parts.append(f"{key} {tuple(value.shape)} {dtype}")
        else:
            parts.append(f"{key} <{type(value).__name__}>")
    return ", ".join(parts)


def empty_samples(batch: dict[str, Any]) -> list[int]:
    """Row numbers of samples whose `frame_mask` holds no real frame (empty when no mask)."""
    mask = batch.get("frame_mask")
    if not isinstance(mask, torch.Tensor) or mask.ndim == 0:
        return []
    real = mask.reshape(mask.shape[0], -1).ne(0).any(dim=1)
    return (~real).nonzero().flatten().tolist()


class BatchLoader:
    """Yields collated batches for a fixed list of index batches.

    num_workers=0 reads in-process (the default: simplest, exactly reproducible); with workers a
    torch DataLoader runs the same batch list. Either way the order comes from the index list, and
    the DataLoader is given its own generator so it never draws from the global torch RNG (which
    would shift dropout masks after a resume)."""

    def __init__(
        self,
        dataset: Any,
        batches: list[list[int]],
        num_workers: int = 0,
        pin_memory: bool = False,
        seed: int = 0,
    ) -> None:
        self.dataset = dataset
        self.batches = batches
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.seed = seed

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        if self.num_workers == 0:
            for indices in self.batches:
                batch = collate([self.dataset[i] for i in indices])
                yield batch if not self.pin_memory else _pin(batch)
            return
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_sampler=self.batches,
            collate_fn=collate,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            generator=torch.Generator().manual_seed(self.seed),
            persistent_workers=False,
        )
        yield from loader


def _pin(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v.pin_memory() if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
