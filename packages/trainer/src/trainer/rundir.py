"""The run directory: config snapshot, environment, metrics (CSV + JSONL), log, curves, summary.

Only rank 0 writes; every other rank gets a RunDir with `enabled=False` whose methods do nothing.

    RUN_DIR/config.json        the TrainConfig used (reload with load_config)
    RUN_DIR/environment.json   python/torch/numpy versions, platform, device, world size, git commit
    RUN_DIR/train.log          the log of every run/resume into this folder (appended)
    RUN_DIR/metrics.csv        one row per epoch, identical columns in every row
    RUN_DIR/metrics.jsonl      the same rows as JSON objects
    RUN_DIR/curves.png         loss and metric curves (needs matplotlib: extra `plots`)
    RUN_DIR/tensorboard/       event files (config tensorboard=true and tensorboard installed)
    RUN_DIR/checkpoints/       step-XXXXXXXX.pt, the newest keep_last plus the best
    RUN_DIR/summary.json       final status, best metric and checkpoint, counts, timings
    RUN_DIR/.lock              held (flock) by the command writing the folder; names it
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from trackcore.atomic import atomic_path, write_text
from trainer.errors import RunDirLockedError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

log = logging.getLogger("trainer")

LOCK_FILE = ".lock"


def write_atomic(path: Path, text: str) -> None:
    """A temporary `.<name>.tmp-<token>` renamed into place (trackcore's atomic writer)."""
    write_text(path, text)


def to_json(data: Any) -> str:
    def clean(value: Any) -> Any:  # NaN/inf are not JSON: write null
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(data), indent=2, sort_keys=False) + "\n"


def git_commit(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(device: str, world_size: int) -> dict[str, Any]:
    import numpy
    import torch

    from trainer.__about__ import __version__

    env = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "trainer": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": device,
        "cuda": torch.version.cuda,
        "world_size": world_size,
        "num_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        "argv": sys.argv,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return env


# --------------------------------------------------------------------------- the folder's lock
class RunDirLock:
    """An exclusive lock on a run directory, held from `acquire()` to `release()` (or a `with`).

    An OS advisory lock (flock) on RUN_DIR/.lock: the kernel drops it when its process ends,
    however it ends, so a killed command never leaves a stale lock. The file's text (pid, host,
    command, since) only names the holder for the refusal message. Where flock is unavailable
    (Windows, some network filesystems) the folder is used unlocked, with a warning."""

    def __init__(self, folder: str | Path, command: str | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.command = command or current_command()
        self._handle: IO[str] | None = None

    def acquire(self) -> RunDirLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")  # never truncates the holder's text
        try:
            if not _try_flock(handle, self.path):
                raise RunDirLockedError(
                    f"{self.folder} is in use by {_describe_holder(handle)}; wait for it to "
                    "finish (or stop it), then run again"
                )
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": self.command,
                "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(holder) + "\n")
            handle.flush()
        except BaseException:
            handle.close()  # closing drops a lock we may hold
            raise
        self._handle = handle
        return self

    def release(self) -> None:
        # the file stays: deleting it would let a newcomer lock a new file while a waiter still
        # holds the old one open
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_run_dir(folder: str | Path, command: str | None = None) -> RunDirLock:
    """`with lock_run_dir(path):` the folder is this command's alone, or RunDirLockedError."""
    return RunDirLock(folder, command)


def current_command() -> str:
    """This process's command line, as a user would have typed it (`xmlai train ...`)."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path(sys.executable)
    name = program.parent.name if program.name == "__main__.py" else program.name
    return shlex.join([name, *sys.argv[1:]]).replace("\n", " ")[:300]


def _try_flock(handle: IO[str], path: Path) -> bool:
    if fcntl is None:
        log.warning("%s: no file locking on this system; the run directory is not locked", path)
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:  # ENOLCK, EOPNOTSUPP: a filesystem without flock
        log.warning("%s: cannot lock (%s); the run directory is not locked", path, exc.strerror)
    return True


def _describe_holder(handle: IO[str]) -> str:
    handle.seek(0)
    try:
        holder = json.loads(handle.read())
        return (
            f"pid {holder['pid']} on {holder['host']} ({holder['command']}) since {holder['since']}"
        )
    except (ValueError, KeyError, TypeError):  # the holder is between lock and write
        return "another process"


# --------------------------------------------------------------------------- the folder
class RunDir:
    def __init__(self, path: str | Path, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self.columns: list[str] | None = None
        self.history: list[dict[str, Any]] = []
        self._extra_warned: set[str] = set()
        self._file_handler: logging.Handler | None = None
        self._tb = None
        if enabled:
            self.checkpoints.mkdir(parents=True, exist_ok=True)

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    # ---------------------------------------------------------------- logging
    def open_log(self) -> None:
        if not self.enabled:
            return
        handler = logging.FileHandler(self.path / "train.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        self._file_handler = handler

    def open_tensorboard(self) -> None:
        if not self.enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.warning("tensorboard=true but tensorboard is not installed; not writing events")
            return
        self._tb = SummaryWriter(str(self.path / "tensorboard"))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._file_handler is not None:
            log.removeHandler(self._file_handler)
            self._file_handler.close()
            self._file_handler = None

    # ---------------------------------------------------------------- snapshots
    def write_json(self, name: str, data: Any) -> None:
        if self.enabled:
            write_atomic(self.path / name, to_json(data))

    # ---------------------------------------------------------------- metrics
    def restore_history(self, history: list[dict[str, Any]]) -> None:
        """After a resume: the rows of the completed epochs, as recorded in the checkpoint
        (rows written after that checkpoint are dropped, since those epochs run again)."""
        self.history = [dict(row) for row in history]
        self.columns = list(history[0]) if history else None
        self._rewrite_metrics()

    def append_epoch(self, row: dict[str, Any]) -> dict[str, Any]:
        """Add one epoch's row. The first row fixes the columns; a later row missing a column gets
        NaN, a new key is dropped with a warning, so every row has exactly the same keys."""
        if self.columns is None:
            self.columns = list(row)
        for key in row:
            if key not in self.columns and key not in self._extra_warned:
                self._extra_warned.add(key)
                log.warning("metric %r first appeared after epoch 0; not recorded", key)
        full = {k: row.get(k, float("nan")) for k in self.columns}
        self.history.append(full)
        if self.enabled:
            self._rewrite_metrics()
            if self._tb is not None:
                for key, value in full.items():
                    if isinstance(value, int | float) and key not in ("epoch", "step"):
                        self._tb.add_scalar(key, value, full.get("step", len(self.history)))
                self._tb.flush()
        return full

    def _rewrite_metrics(self) -> None:
        # a few hundred rows at most: rewriting whole files keeps both atomic and consistent
        if not self.enabled:
            return
        buffer = io.StringIO()
        if self.columns:
            writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.history)
        write_atomic(self.path / "metrics.csv", buffer.getvalue())
        lines = [json.dumps(json.loads(to_json(row))) + "\n" for row in self.history]
        write_atomic(self.path / "metrics.jsonl", "".join(lines))

    # ---------------------------------------------------------------- curves
    def plot(self) -> Path | None:
        if not self.enabled or not self.history:
            return None
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            log.info("matplotlib is not installed (extra `plots`); skipping curves.png")
            return None
        epochs = [row["epoch"] for row in self.history]
        skip = {"epoch", "step", "lr", "time_s", "samples_per_s", "data_wait_frac", "skipped_steps"}
        names = [k for k in self.columns or [] if k not in skip and not k.startswith("grad_norm")]
        # one panel per quantity, train and validation together: loss, then each metric
        panels: dict[str, list[str]] = {}
        for key in names:
            panels.setdefault(key.removeprefix("train_").removeprefix("val_"), []).append(key)
        fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.6 * len(panels)), squeeze=False)
        for ax, (quantity, keys) in zip(axes[:, 0], panels.items(), strict=True):
            for key in keys:
                ax.plot(epochs, [row[key] for row in self.history], marker="o", label=key)
            values = [row[k] for row in self.history for k in keys]
            if quantity == "loss" and all(isinstance(v, float) and v > 0 for v in values):
                ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_ylabel(quantity)
            ax.legend()
            ax.grid(alpha=0.3)
        fig.tight_layout()
        out = self.path / "curves.png"
        try:
            with atomic_path(out, suffix=".png") as tmp:  # savefig picks the format by suffix
                fig.savefig(tmp, dpi=100)
        finally:
            plt.close(fig)
        return out
