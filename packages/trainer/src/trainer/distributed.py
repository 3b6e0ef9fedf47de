"""Just enough torch.distributed for DDP under torchrun: init from the environment, a few
collectives on small tensors, and knowing who is rank 0 (the only rank that writes)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from trainer.errors import ConfigError


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # we called init_process_group, so we destroy it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def available_devices() -> list[str]:
    """The devices this torch build and machine can train on: cpu, cuda:N, mps."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """auto | cpu | cuda | cuda:N | mps -> a device that exists here, or ConfigError naming
    what does (a CPU-only torch would otherwise fail later with a bare AssertionError)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = f"cuda:{local_rank}" if name == "cuda" else name
    if resolved != "cpu":
        available = available_devices()
        if resolved not in available:
            raise ConfigError(
                f"device {name!r} is not available here (available: {', '.join(available)})"
            )
    return torch.device(resolved)


def check_device(name: str) -> None:
    """Raise ConfigError unless the config value `device` can be used on this machine."""
    resolve_device(name)


def init_distributed(device_name: str) -> tuple[DistInfo, torch.device]:
    """Join the process group torchrun describes in RANK/WORLD_SIZE/LOCAL_RANK (gloo on CPU,
    nccl on CUDA). A single process, or one launched without torchrun, gets world size 1."""
    if dist.is_available() and dist.is_initialized():
        info = DistInfo(
            dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))
        )
        return info, resolve_device(device_name, info.local_rank)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo(), resolve_device(device_name)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, owns_group=True), device


def shutdown(info: DistInfo, together: bool = False) -> None:
    """`together`: every rank got here the same way (the run ended normally), so they wait for
    each other first; a rank that tears gloo down while its peer still writes its summary can
    abort that peer at exit ("terminate called without an active exception")."""
    if info.owns_group and dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()


def all_reduce(tensor: torch.Tensor, info: DistInfo, op: str = "sum") -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return tensor


def broadcast_str(text: str, info: DistInfo, device: torch.device) -> str:
    """Rank 0's string on every rank (e.g. a timestamped run directory name)."""
    if not info.enabled:
        return text
    data = torch.zeros(1024, dtype=torch.uint8, device=device)
    raw = text.encode("utf-8")[:1024]
    if info.is_main:
        data[: len(raw)] = torch.tensor(list(raw), dtype=torch.uint8)
    dist.broadcast(data, src=0)
    return bytes(data.cpu().tolist()).rstrip(b"\0").decode("utf-8")


def gather_tensors(
    state: dict[str, torch.Tensor], info: DistInfo, device: torch.device
) -> list[dict[str, torch.Tensor]]:
    """Every rank's copy of a dict of same-shaped tensors (used for per-rank RNG states)."""
    if not info.enabled:
        return [state]
    out: list[dict[str, torch.Tensor]] = [{} for _ in range(info.world_size)]
    for key in sorted(state):
        local = state[key].to(device)
        parts = [torch.empty_like(local) for _ in range(info.world_size)]
        dist.all_gather(parts, local)
        for rank, part in enumerate(parts):
            out[rank][key] = part.cpu()
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
