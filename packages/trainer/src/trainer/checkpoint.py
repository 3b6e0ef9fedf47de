"""Checkpoints: atomic writes, safe loads (weights_only), RNG capture, cleanup, fallback.

A checkpoint is one `torch.save`d dict of tensors and plain Python values only, so
`torch.load(weights_only=True)` reads it back and a hostile file cannot execute code."""

from __future__ import annotations

import errno
import logging
import os
import pickle
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trackcore.atomic import atomic_open
from trackcore.atomic import temp_path as _temp_path
from trainer.errors import CheckpointError, DiskFullError

FORMAT = "xmlai-trainer-checkpoint"
VERSION = 1
_STEP_FILE = re.compile(r"^step-(\d{8,})\.pt$")
_TEMP_FILE = re.compile(r"^\.step-\d{8,}\.pt\.tmp-\d+$")  # what temp_path names (pid token)

log = logging.getLogger("trainer")


# --------------------------------------------------------------------------- RNG states
def rng_state() -> dict[str, torch.Tensor]:
    """Python, numpy and torch RNG states packed as fixed-size tensors (gatherable across ranks,
    loadable with weights_only=True)."""
    version, mt, gauss = random.getstate()
    _, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state(legacy=True)
    state = {
        "python": torch.tensor([version, *mt], dtype=torch.int64),
        "python_gauss": torch.tensor(
            [float("nan") if gauss is None else gauss, float(gauss is not None)],
            dtype=torch.float64,
        ),
        "numpy": torch.tensor([*np_keys.tolist(), np_pos, np_has_gauss], dtype=torch.int64),
        "numpy_gauss": torch.tensor([np_gauss], dtype=torch.float64),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, torch.Tensor]) -> None:
    py = state["python"].tolist()
    gauss_value, has_gauss = state["python_gauss"].tolist()
    random.setstate((py[0], tuple(py[1:]), gauss_value if has_gauss else None))
    npy = state["numpy"].tolist()
    keys = np.array(npy[:624], dtype=np.uint32)
    np.random.set_state(("MT19937", keys, npy[624], npy[625], float(state["numpy_gauss"][0])))
    torch.set_rng_state(state["torch"].cpu().to(torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"].cpu().to(torch.uint8))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- save / load
def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write `state` to `path` atomically: a temporary file in the same folder, fsync, rename.

    An interrupted save leaves at most a stray temporary file, never a half-written checkpoint."""
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **state}
    try:  # trackcore's atomic writer, on this process's temp_path (removed on any error)
        with atomic_open(path, "wb", fsync=True, token=str(os.getpid())) as fh:
            torch.save(payload, fh)
    except (OSError, RuntimeError) as exc:
        _raise_if_disk_full(path, payload, exc)
        raise
    return path


def temp_path(path: Path) -> Path:
    """Where a checkpoint is written before its rename (one per process):
    `.<name>.tmp-<pid>`, the name `remove_stale_temp_files` recognises."""
    return _temp_path(path, token=str(os.getpid()))


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete the temporary files of saves that a killed process never finished. Only for the
    holder of the run directory's lock: another process's save in progress looks the same."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if _TEMP_FILE.match(p.name)]
    for path in stale:
        path.unlink(missing_ok=True)
        log.info("removed %s, left by an interrupted checkpoint save", path)
    return stale


def _raise_if_disk_full(path: Path, state: dict[str, Any], exc: BaseException) -> None:
    # torch.save reports a failed write as a RuntimeError from inline_container.cc, with the
    # OSError(ENOSPC) of the write only in its context (and not always there)
    free = shutil.disk_usage(path.parent).free
    needed, basis = _space_needed(path, state)
    if not (_is_disk_full(exc) or (isinstance(exc, RuntimeError) and free < needed)):
        return
    raise DiskFullError(
        f"{path}: no space left on the device: the checkpoint needs about {_size(needed)} "
        f"({basis}), {_size(free)} is free; the earlier checkpoints are intact: free some "
        "space, then resume"
    ) from exc


def _is_disk_full(exc: BaseException | None) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _space_needed(path: Path, state: dict[str, Any]) -> tuple[int, str]:
    previous = [p for p in list_checkpoints(path.parent) if p != path]
    if previous:
        return previous[-1].stat().st_size, f"the size of {previous[-1].name}"
    return _tensor_bytes(state), "the size of its tensors"


def _tensor_bytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_tensor_bytes(v) for v in value)
    return 0


def _size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n_bytes < 1000:
            return f"{n_bytes:.0f} B" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:.1f} GB"


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a trainer checkpoint safely. Raises CheckpointError for a missing, corrupt or foreign
    file; never unpickles arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path}: refused: not a trainer checkpoint (it holds objects that are not "
            f"tensors or plain data; nothing was executed): {first_line}"
        ) from None
    except Exception as exc:  # truncated zip, bad magic number, EOF, ...
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: refused: not a trainer checkpoint (no {FORMAT!r} marker)")
    if state.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {state.get('version')} is not supported "
            f"(this trainer reads version {VERSION})"
        )
    for key in ("model", "step", "epoch", "position"):
        if key not in state:
            raise CheckpointError(f"{path}: corrupt checkpoint: missing {key!r}")
    return state


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}.pt"


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Step checkpoints in `folder`, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_FILE.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(folder: str | Path, map_location: str | torch.device = "cpu"):
    """(path, state) of the newest checkpoint that loads; a corrupt newer one is skipped with a
    warning. (None, None) when the folder holds no checkpoint at all."""
    candidates = list_checkpoints(folder)
    failures = []
    for path in reversed(candidates):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as exc:
            log.warning("skipping unusable checkpoint, falling back to the previous one: %s", exc)
            failures.append(str(exc))
    if candidates:
        raise CheckpointError(
            f"{folder}: none of the {len(candidates)} checkpoints loads:\n  "
            + "\n  ".join(failures)
        )
    return None, None


def cleanup_checkpoints(
    folder: str | Path, keep_last: int, keep: set[Path] | None = None
) -> list[Path]:
    """Delete step checkpoints except the newest `keep_last` and those in `keep` (the best)."""
    keep_names = {Path(p).name for p in keep or set()}
    files = list_checkpoints(folder)
    doomed = [p for p in files[: max(0, len(files) - keep_last)] if p.name not in keep_names]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


# --------------------------------------------------------------------------- architecture
def state_dict_differences(
    expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]
) -> list[str]:
    """Human-readable differences in parameter names and shapes (empty when they match)."""
    lines = []
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    if missing:
        lines.append(f"missing in checkpoint ({len(missing)}): {', '.join(missing[:8])}")
    if unexpected:
        lines.append(f"not in model ({len(unexpected)}): {', '.join(unexpected[:8])}")
    for key in expected:
        if key in found and tuple(expected[key].shape) != tuple(found[key].shape):
            lines.append(
                f"{key}: model {tuple(expected[key].shape)} vs checkpoint {tuple(found[key].shape)}"
            )
    return lines


def check_architecture(model: nn.Module, weights: dict[str, torch.Tensor], source: str) -> None:
    diffs = state_dict_differences(model.state_dict(), weights)
    if diffs:
        raise CheckpointError(
            f"{source}: checkpoint is of another architecture than this model:\n  "
            + "\n  ".join(diffs)
        )


def load_model_weights(model: nn.Module, path: str | Path, *, ema: bool = True) -> dict[str, Any]:
    """Load a checkpoint's weights into `model` (the EMA weights when present and ema=True).
    Returns the checkpoint's metadata (step, epoch, metrics)."""
    state = load_checkpoint(path)
    weights = state["ema"] if ema and state.get("ema") is not None else state["model"]
    check_architecture(model, weights, str(path))
    model.load_state_dict(weights)
    return {k: state.get(k) for k in ("step", "epoch", "position", "metrics", "best")}
