"""The training loop. Read it top to bottom: `fit()` = setup -> train (epochs of steps, validation,
checkpoints) -> cleanup. Everything a resumed run needs lives in `TrainState` and the checkpoint.

Vocabulary: a *micro-batch* is one `loss_fn` call; a *step* is one optimizer update, made from
`grad_accum_steps` micro-batches; `position` counts the micro-batches done in the current epoch.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic
from typing import Any

import torch
from torch import nn

from trainer import checkpoint as ckpt
from trainer import distributed as dist_utils
from trainer.config import TrainConfig
from trainer.data import BatchLoader, describe_batch, empty_samples, epoch_batches, eval_batches
from trainer.data import to_device as batch_to_device
from trainer.ema import EMA
from trainer.errors import AnomalyError, BatchError, ConfigError, RunDirLockedError, TrainerError
from trainer.rundir import RunDir, RunDirLock, environment
from trainer.schedule import warmup_cosine

log = logging.getLogger("trainer")

LossOutput = torch.Tensor | tuple[torch.Tensor, dict[str, Any]]
LossFn = Callable[[nn.Module, dict[str, Any]], LossOutput]


@dataclass
class TrainState:
    """Counters that a checkpoint carries so a resumed run continues exactly."""

    step: int = 0  # optimizer steps done (skipped ones included: the lr follows the data)
    epoch: int = 0  # the epoch in progress (== epochs completed when position == 0)
    position: int = 0  # micro-batches of `epoch` already consumed
    anomalies: int = 0  # skipped steps in the whole run
    best_value: float | None = None
    best_path: str | None = None
    bad_epochs: int = 0  # epochs since the monitored metric last improved
    epoch_sums: dict[str, float] = field(default_factory=dict)  # partial-epoch train sums

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Trainer:
    """Train any nn.Module: `Trainer(model, loss_fn, train_data, val_data, config).fit()`.

    loss_fn(model, batch) -> loss | (loss, {name: scalar}) calls the model itself, so the trainer
    never needs to know the batch layout. Datasets are map-style: len() and [i] -> dict of numpy
    arrays / tensors / scalars."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        train_data: Any,
        val_data: Any | None = None,
        config: TrainConfig | None = None,
    ) -> None:
        for name, data in (("train_data", train_data), ("val_data", val_data)):
            if data is not None and not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
                raise TrainerError(f"{name} must be a map-style dataset (len() and [i])")
        if len(train_data) == 0:
            raise TrainerError("train_data is empty")
        self.model = model
        self.loss_fn = loss_fn
        self.train_data = train_data
        self.val_data = val_data if val_data is not None and len(val_data) > 0 else None
        self.config = config or TrainConfig()
        self.state = TrainState()
        self.summary: dict[str, Any] = {}

    # ================================================================== fit
    def fit(self) -> dict[str, Any]:
        """Train to the end (or early stop / max_steps / abort); returns the run summary."""
        status, error = "failed", None
        try:
            self._setup()
            status = self._train()
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            status = "aborted" if isinstance(exc, AnomalyError) else "failed"
            raise
        finally:
            self._cleanup(status, error)
        return self.summary

    # ================================================================== setup
    def _setup(self) -> None:
        """Everything `_train` needs, in order: each step uses only what the ones before made."""
        self._setup_process()
        self._setup_run_dir()
        self._setup_model()
        self._setup_data()
        self._setup_optimizer()
        self._setup_state()
        self._setup_wrappers()
        self._log_setup()

    def _setup_process(self) -> None:
        """Join the process group (under torchrun), pick the device, seed."""
        cfg = self.config
        self.dist, self.device = dist_utils.init_distributed(cfg.device)
        if cfg.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("precision=fp16 needs CUDA (GradScaler); use bf16 on CPU")
        # Seed per rank so dropout masks differ between ranks; the data order does not use these.
        ckpt.seed_everything(cfg.seed + self.dist.rank)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.t_start = time.perf_counter()

    def _setup_run_dir(self) -> None:
        """Lock the run directory, refuse a fresh run over checkpoints, write config and
        environment. Rank 0 writes; the name is agreed on so every rank can read back."""
        cfg = self.config
        default_dir = "runs/" + time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        run_dir = dist_utils.broadcast_str(cfg.run_dir or default_dir, self.dist, self.device)
        self._lock = self._lock_run_dir(run_dir)
        if self.dist.is_main:  # the lock is ours: no other process is in the middle of a save
            ckpt.remove_stale_temp_files(Path(run_dir) / "checkpoints")
        existing = ckpt.list_checkpoints(Path(run_dir) / "checkpoints")
        if existing and not cfg.resume:
            raise ConfigError(
                f"{run_dir}: run directory already holds {len(existing)} checkpoint(s); set "
                "resume=true (or `trainer resume RUN_DIR`) or choose another run_dir"
            )
        self.run = RunDir(run_dir, enabled=self.dist.is_main)
        self.run_dir = self.run.path
        self._console = _attach_console(self.dist.is_main)
        self.run.open_log()
        if cfg.tensorboard:
            self.run.open_tensorboard()
        self.run.write_json("config.json", cfg.to_dict())
        self.run.write_json("environment.json", environment(str(self.device), self.dist.world_size))

    def _setup_model(self) -> None:
        self.model.to(self.device)
        decay = self.config.ema_decay
        self.ema = EMA(self.model, decay) if decay > 0 else None

    def _setup_data(self) -> None:
        """Batch sizes and the step counts the schedule needs (the batches come per epoch)."""
        cfg = self.config
        self.batch_size_val = cfg.val_batch_size or cfg.batch_size
        n_micro = len(self._epoch_batches(0))
        self.steps_per_epoch = math.ceil(n_micro / cfg.grad_accum_steps)
        self.total_steps = self.steps_per_epoch * cfg.epochs

    def _setup_optimizer(self) -> None:
        """AdamW, the warmup-cosine schedule, the fp16 GradScaler, the autocast dtype."""
        cfg = self.config
        self.optimizer = _adamw(self.model, cfg)
        self.scheduler = warmup_cosine(
            self.optimizer,
            warmup_steps=cfg.warmup_steps,
            total_steps=self.total_steps,
            min_lr_ratio=cfg.min_lr_ratio,
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.precision == "fp16")
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision)

    def _setup_state(self) -> None:
        """The metric to monitor, then resume: the newest checkpoint that loads (a corrupt one
        falls back to the previous)."""
        cfg = self.config
        self.history: list[dict[str, Any]] = []
        self.monitor = cfg.monitor
        if self.val_data is None and self.monitor.startswith("val_"):
            self.monitor = "train_" + self.monitor.removeprefix("val_")
            log.info("no validation data: monitoring %s instead of %s", self.monitor, cfg.monitor)
        self.resumed_from: str | None = None
        if cfg.resume:
            path, state = ckpt.latest_checkpoint(self.run.checkpoints, map_location=self.device)
            if state is None:
                log.info(
                    "resume=true but %s holds no checkpoint: starting fresh", self.run.checkpoints
                )
            else:
                self._load_state(path, state)

    def _setup_wrappers(self) -> None:
        """DDP for gradient averaging, torch.compile for speed (after resume: DDP broadcasts the
        loaded weights); the per-run trackers of the loop."""
        cfg = self.config
        core: nn.Module = self.model
        if self.dist.enabled:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            core = nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        self.train_model = torch.compile(core) if cfg.compile else core
        # evaluation does not need gradient sync; each rank evaluates its own shard
        self.eval_model = self.model if self.dist.enabled or not cfg.compile else self.train_model
        self._first_call = {"train": True, "val": True}
        self._grad_norm_mean: float | None = None
        self._checkpoint_interval_s = (cfg.checkpoint_every_minutes or 0.0) * 60.0
        self._last_save = monotonic()

    def _log_setup(self) -> None:
        n_params = sum(p.numel() for p in self.model.parameters())
        log.info(
            "run %s | %s params | device %s | world %d | %d steps/epoch x %d epochs | %s",
            self.run_dir,
            f"{n_params:,}",
            self.device,
            self.dist.world_size,
            self.steps_per_epoch,
            self.config.epochs,
            self.config.precision,
        )

    def _lock_run_dir(self, run_dir: str) -> RunDirLock | None:
        """Rank 0 holds the folder's lock for the whole fit; every rank learns if it could not
        (and stops, before writing anything)."""
        lock, refusal = None, ""
        if self.dist.is_main:
            try:
                lock = RunDirLock(run_dir).acquire()
            except RunDirLockedError as exc:
                refusal = str(exc)
        refusal = dist_utils.broadcast_str(refusal, self.dist, self.device)
        if refusal:
            raise RunDirLockedError(refusal)
        return lock

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        ckpt.check_architecture(self.model, state["model"], str(path))
        # `position` counts batches of the old data order: mid-epoch, that order must not change
        saved = {**state.get("config", {}), "world_size": state.get("world_size", 1)}
        now = {**self.config.to_dict(), "world_size": self.dist.world_size}
        order_keys = ("seed", "batch_size", "grad_accum_steps", "drop_last", "world_size")
        changed = [f"{k} {saved.get(k)} -> {now[k]}" for k in order_keys if saved.get(k) != now[k]]
        if changed and state["position"] > 0:
            raise ConfigError(
                f"{path}: cannot resume in the middle of epoch {state['epoch']} with a different "
                f"data order ({', '.join(changed)}); resume with the original settings"
            )
        if changed:
            log.warning("resuming at an epoch boundary with %s", ", ".join(changed))
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        elif self.ema is not None:
            log.warning("%s has no EMA weights; the EMA restarts from the current weights", path)
        self.state = TrainState(**state["train_state"])
        self.history = list(state.get("history", []))
        self.run.restore_history(self.history)
        rng = state.get("rng", [])
        if len(rng) == self.dist.world_size:
            ckpt.set_rng_state(rng[self.dist.rank])
        else:  # another world size: exact continuation is impossible, stay deterministic
            log.warning(
                "checkpoint was written by %d rank(s), now %d: RNG re-seeded",
                len(rng),
                self.dist.world_size,
            )
            ckpt.seed_everything(self.config.seed + self.dist.rank + self.state.step)
        self.resumed_from = str(path)
        log.info(
            "resumed from %s (epoch %d, position %d, step %d)",
            path,
            self.state.epoch,
            self.state.position,
            self.state.step,
        )

    # ================================================================== train
    def _train(self) -> str:
        cfg = self.config
        progress = _progress(enabled=cfg.progress and self.dist.is_main and sys.stderr.isatty())
        with progress:
            while self.state.epoch < cfg.epochs:
                epoch = self.state.epoch
                stopped = self._train_epoch(epoch, progress)
                if stopped:  # max_steps reached inside the epoch (checkpoint written)
                    return "max_steps"
                row = self._end_of_epoch(epoch)
                log.info("epoch %d | %s", epoch, _format_row(row))
                if self.config.early_stopping_patience and (
                    self.state.bad_epochs >= self.config.early_stopping_patience
                ):
                    log.info(
                        "early stopping: %s has not improved for %d epochs",
                        self.monitor,
                        self.state.bad_epochs,
                    )
                    return "early_stopped"
                if cfg.max_steps and self.state.step >= cfg.max_steps:
                    return "max_steps"
        return "completed"

    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        return epoch_batches(
            len(self.train_data),
            self.config.batch_size,
            seed=self.config.seed,
            epoch=epoch,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            drop_last=self.config.drop_last,
        )

    def _train_epoch(self, epoch: int, progress) -> bool:
        """Run the rest of `epoch` from `state.position`. True when max_steps stopped it."""
        cfg = self.config
        batches = self._epoch_batches(epoch)
        start = self.state.position
        loader = BatchLoader(
            self.train_data,
            batches[start:],
            num_workers=cfg.num_workers,
            pin_memory=self.device.type == "cuda",
            seed=cfg.seed + epoch,
        )
        self._sums = _Sums(self.device, self.state.epoch_sums)
        self._timers = {"data": 0.0, "total": 0.0}
        task = progress.add_task(f"epoch {epoch}", total=len(batches), completed=start)
        self.train_model.train()
        accum = cfg.grad_accum_steps
        group: list[tuple[torch.Tensor, dict[str, torch.Tensor], int]] = []  # (loss, metrics, n)

        t_epoch = time.perf_counter()
        iterator = iter(loader)
        for b in range(start, len(batches)):
            t0 = time.perf_counter()
            batch = next(iterator)
            self._check_real_frames(batch, batches[b], epoch, b)  # on the host: no GPU sync
            batch = batch_to_device(batch, self.device)
            self._timers["data"] += time.perf_counter() - t0

            group_start = (b // accum) * accum
            group_size = min(accum, len(batches) - group_start)
            last_in_group = b == group_start + group_size - 1
            # DDP: all-reduce gradients only on the last micro-batch of a step
            sync = contextlib.nullcontext()
            if self.dist.enabled and not last_in_group:
                sync = self.train_model.no_sync()
            with sync:
                with self._autocast():
                    loss, metrics = self._call_loss(self.train_model, batch, "train", epoch, b)
                # mean over the step's micro-batches, so accumulation == one larger batch
                self.scaler.scale(loss / group_size).backward()
            group.append((loss.detach().float(), metrics, len(batches[b])))

            if last_in_group:
                timed = self._optimizer_step(group, epoch, (group_start, b))
                group = []
                if self._after_step(epoch, b + 1, len(batches), timed):
                    return True
            progress.update(task, completed=b + 1)
            self._timers["total"] = time.perf_counter() - t_epoch
        progress.remove_task(task)
        return False

    def _after_step(self, epoch: int, position: int, n_batches: int, timed: bool) -> bool:
        """Note the position; checkpoint mid-epoch when due (the end of an epoch checkpoints
        after validation, in _end_of_epoch). True when max_steps stops the epoch here."""
        cfg = self.config
        self.state.position = position
        if position == n_batches:
            return False
        every = cfg.checkpoint_every_steps
        periodic = every and self.state.step % every == 0
        at_limit = bool(cfg.max_steps) and self.state.step >= cfg.max_steps
        if periodic or at_limit or timed:
            self._save_checkpoint()
        if at_limit:
            log.info("max_steps=%d reached in epoch %d", cfg.max_steps, epoch)
        return at_limit

    def _optimizer_step(self, group, epoch: int, batch_range: tuple[int, int]) -> bool:
        """One update from the step's micro-batches. True when checkpoint_every_minutes is due."""
        self.scaler.unscale_(self.optimizer)  # no-op unless fp16: clip the true gradients
        losses = torch.stack([loss for loss, _, _ in group])
        bad_loss, norm, timed, mean_loss = self._read_step(losses, self._grad_norm())
        grad_ok = math.isfinite(norm)
        # with fp16 an overflow (grad_ok False) is the scaler's business: it skips the update
        # and lowers the scale; that is not an anomaly.
        if bad_loss or (not grad_ok and not self.scaler.is_enabled()):
            self._skip_step("loss" if bad_loss else "gradient", epoch, batch_range)
        else:
            self._apply_step(group, norm if grad_ok else None, epoch)
        self.optimizer.zero_grad(set_to_none=True)
        self._advance_schedule()
        self.state.step += 1
        if mean_loss is not None:
            lr = self.optimizer.param_groups[0]["lr"]
            log.info(
                "step %d | loss %.5g | grad_norm %.3g | lr %.3g",
                self.state.step,
                mean_loss,
                norm,
                lr,
            )
        return timed

    def _grad_norm(self) -> torch.Tensor:
        """The global gradient norm, after clipping to grad_clip when that is set."""
        params = [p for p in self.model.parameters() if p.grad is not None]
        if self.config.grad_clip:
            return torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        if hasattr(torch.nn.utils, "get_total_norm"):  # torch >= 2.6: no pass that scales by 1
            return torch.nn.utils.get_total_norm([p.grad for p in params])
        return torch.nn.utils.clip_grad_norm_(params, math.inf)

    def _read_step(self, losses: torch.Tensor, grad_norm: torch.Tensor):
        """The step's one host read -> (non-finite loss, gradient norm, time-based checkpoint
        due, mean loss on a logging step else None). Every rank must take the same decisions
        (skip, save), or DDP deadlocks at the next collective: the max over ranks decides."""
        bad_loss = (~torch.isfinite(losses)).any().float()
        interval = self._checkpoint_interval_s
        timed = bool(interval) and monotonic() - self._last_save >= interval
        flags = [bad_loss, grad_norm.float()]
        if interval and self.dist.enabled:  # the ranks' clocks differ: one due is all due
            flags.append(bad_loss.new_tensor(float(timed)))
        agreed = dist_utils.all_reduce(torch.stack(flags), self.dist, "max")
        logging_step = (self.state.step + 1) % self.config.log_every_steps == 0
        if logging_step:  # this rank's mean loss rides along (it is not all-reduced)
            agreed = torch.cat([agreed, losses.mean().reshape(1)])
        bad_loss_value, norm, *rest = agreed.tolist()
        if interval and self.dist.enabled:
            timed = bool(rest.pop(0))
        return bool(bad_loss_value), norm, timed, rest[0] if logging_step else None

    def _advance_schedule(self) -> None:
        if self.scheduler.last_epoch > 0:
            self.scheduler.step()
            return
        with warnings.catch_warnings():  # a skipped first step still advances the schedule
            warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step")
            self.scheduler.step()

    def _skip_step(self, what: str, epoch: int, batch_range: tuple[int, int]) -> None:
        """Drop the step's gradients (the caller zeroes them); count it; abort past the limit."""
        cfg = self.config
        self.state.anomalies += 1
        log.warning(
            "non-finite %s at step %d (epoch %d, batches %d-%d): step skipped (%d of %d tolerated)",
            what,
            self.state.step,
            epoch,
            *batch_range,
            self.state.anomalies,
            cfg.max_anomalies,
        )
        self._sums.add_host("skipped_steps", 1.0)
        if self.state.anomalies > cfg.max_anomalies:
            raise AnomalyError(
                f"aborting: {self.state.anomalies} steps had a non-finite loss or gradient "
                f"(max_anomalies={cfg.max_anomalies}); last at step {self.state.step}, "
                f"epoch {epoch}, batches {batch_range[0]}-{batch_range[1]}"
            )
        if self.scaler.is_enabled():
            self.scaler.update()

    def _apply_step(self, group, norm: float | None, epoch: int) -> None:
        """Update the weights (and the EMA); add the step to the epoch's sums. `norm` is None
        when fp16 overflowed (the scaler then skips the update itself)."""
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update(self.model)
        sums = self._sums
        if norm is not None:
            self._check_spike(norm, epoch)
            sums.add_host("grad_norm", norm)
            sums.add_host("steps", 1.0)
        for loss, metrics, n in group:
            sums.add_device("loss", loss, n)
            for key, value in metrics.items():
                sums.add_device("m:" + key, value, n)
            sums.add_host("n", float(n))

    def _end_of_epoch(self, epoch: int) -> dict[str, Any]:
        """Validate, record the epoch's row, track the best, checkpoint, clean up."""
        sums = self._reduce(self._sums.totals())
        n = max(sums.get("n", 0.0), 1.0)
        row: dict[str, Any] = {
            "epoch": epoch,
            "step": self.state.step,
            "lr": self.optimizer.param_groups[0]["lr"],
        }
        row["train_loss"] = sums.get("loss", math.nan) / n if sums.get("n") else math.nan
        for key in sorted(k for k in sums if k.startswith("m:")):
            row["train_" + key[2:]] = sums[key] / n
        if self.val_data is not None:
            row.update(self._validate())
        row["grad_norm"] = sums["grad_norm"] / sums["steps"] if sums.get("steps") else math.nan
        row["skipped_steps"] = int(sums.get("skipped_steps", 0))
        elapsed = self._timers["total"]
        row["time_s"] = elapsed
        row["samples_per_s"] = sums.get("n", 0.0) / elapsed if elapsed > 0 else math.nan
        row["data_wait_frac"] = self._timers["data"] / elapsed if elapsed > 0 else math.nan
        row = self.run.append_epoch(row)
        self.history = self.run.history

        if self.monitor not in row:
            raise ConfigError(
                f"monitor={self.monitor!r} is not an epoch metric; available: {', '.join(row)}"
            )
        value = float(row[self.monitor])
        best = self.state.best_value
        delta = self.config.early_stopping_min_delta
        improved = math.isfinite(value) and (
            best is None
            or (value < best - delta if self.config.monitor_mode == "min" else value > best + delta)
        )
        self.state.bad_epochs = 0 if improved else self.state.bad_epochs + 1
        self.state.epoch, self.state.position, self.state.epoch_sums = epoch + 1, 0, {}
        if improved:
            self.state.best_value = value
            self.state.best_path = str(self.run.checkpoints / ckpt.checkpoint_name(self.state.step))
        self._save_checkpoint(metrics=row)
        return row

    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        batches = eval_batches(
            len(self.val_data), self.batch_size_val, self.dist.rank, self.dist.world_size
        )
        loader = BatchLoader(
            self.val_data,
            batches,
            num_workers=self.config.num_workers,
            pin_memory=self.device.type == "cuda",
            seed=self.config.seed,
        )
        sums = _Sums(self.device)
        self.eval_model.eval()
        weights = self.ema.applied(self.model) if self.ema is not None else contextlib.nullcontext()
        with weights:
            for b, batch in enumerate(loader):
                self._check_real_frames(batch, batches[b], None, b)
                batch = batch_to_device(batch, self.device)
                with self._autocast():
                    loss, metrics = self._call_loss(self.eval_model, batch, "val", None, b)
                n = float(len(batches[b]))
                sums.add_device("loss", loss.detach().float(), n)
                for key, value in metrics.items():
                    sums.add_device("m:" + key, value, n)
                sums.add_host("n", n)
        self.train_model.train()
        totals = self._reduce(sums.totals())
        n = max(totals.get("n", 0.0), 1.0)
        out = {"val_loss": totals.get("loss", math.nan) / n}
        for key in sorted(k for k in totals if k.startswith("m:")):
            out["val_" + key[2:]] = totals[key] / n
        return out

    # ================================================================== checkpoints
    def _save_checkpoint(self, metrics: dict[str, Any] | None = None) -> Path | None:
        # every rank takes part in gathering the RNG states; only rank 0 writes
        self._last_save = monotonic()
        rng = dist_utils.gather_tensors(ckpt.rng_state(), self.dist, self.device)
        if self.state.position > 0:  # mid-epoch: the partial sums make the epoch's row exact
            self.state.epoch_sums = self._sums.totals()
        if not self.dist.is_main:
            return None
        path = self.run.checkpoints / ckpt.checkpoint_name(self.state.step)
        ckpt.save_checkpoint(
            path,
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "rng": rng,
                "step": self.state.step,
                "epoch": self.state.epoch,
                "position": self.state.position,
                "train_state": self.state.to_dict(),
                "history": self.history,
                "metrics": metrics,
                "config": self.config.to_dict(),
                "world_size": self.dist.world_size,
            },
        )
        keep = {Path(self.state.best_path)} if self.state.best_path else set()
        ckpt.cleanup_checkpoints(self.run.checkpoints, self.config.keep_last, keep)
        self.last_checkpoint = str(path)
        return path

    # ================================================================== cleanup
    def _cleanup(self, status: str, error: str | None) -> None:
        if not hasattr(self, "run"):  # setup failed before the run directory existed
            self._release_lock()
            if hasattr(self, "dist"):
                dist_utils.shutdown(self.dist)
            return
        history = getattr(self, "history", [])
        self.summary = {
            "status": status,
            "error": error,
            "run_dir": str(self.run_dir),
            "epochs_completed": self.state.epoch,
            "step": self.state.step,
            "skipped_steps": self.state.anomalies,
            "best": {
                "metric": getattr(self, "monitor", self.config.monitor),
                "mode": self.config.monitor_mode,
                "value": self.state.best_value,
                "checkpoint": self.state.best_path,
            },
            "last_checkpoint": getattr(self, "last_checkpoint", None),
            "resumed_from": getattr(self, "resumed_from", None),
            "final_metrics": history[-1] if history else None,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "world_size": self.dist.world_size,
            "device": str(self.device),
            "wall_time_s": time.perf_counter() - self.t_start,
        }
        try:
            if self.config.plots:
                self.run.plot()
            self.run.write_json("summary.json", self.summary)
            log.info(
                "%s after %d steps; summary in %s",
                status,
                self.state.step,
                self.run_dir / "summary.json",
            )
        except OSError as exc:
            if error is None:
                raise
            # a full disk that failed a checkpoint fails this too: its error is the one to show
            log.warning("could not write summary.json after the failure: %s", exc)
        finally:
            self.run.close()
            self._release_lock()
            _detach_console(getattr(self, "_console", None))
            self._release_wrappers()
            dist_utils.shutdown(self.dist, together=error is None)

    def _release_wrappers(self) -> None:
        """Free the DDP wrapper now: it holds the process group, and one that a reference cycle
        keeps alive until interpreter exit tears gloo down there and aborts the process
        ("terminate called without an active exception"), after a run that succeeded."""
        if hasattr(self, "train_model"):
            self.train_model = self.eval_model = self.model
            if self.dist.enabled:
                gc.collect()

    def _release_lock(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.release()

    # ================================================================== helpers
    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def _call_loss(self, model, batch, phase: str, epoch: int | None, b: int):
        where = f"{phase} batch {b}" + (f" of epoch {epoch}" if epoch is not None else "")
        first = self._first_call[phase]
        try:
            out = self.loss_fn(model, batch)
        except RuntimeError as exc:
            if not first:
                raise
            # the first forward is where a batch/model mismatch shows: name both sides
            param = next(iter(self.model.named_parameters()), None)
            model_side = "-"
            if param is not None:
                dtype = str(param[1].dtype).removeprefix("torch.")
                model_side = f"{param[0]} {tuple(param[1].shape)} {dtype}"
            raise BatchError(
                f"loss_fn failed on the first {where}: {exc}\n  batch: {describe_batch(batch)}"
                f"\n  model's first parameter: {model_side}"
            ) from exc
        self._first_call[phase] = False
        loss, metrics = out if isinstance(out, tuple) else (out, {})
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1 or not isinstance(metrics, dict):
            raise TrainerError(
                f"loss_fn must return a scalar tensor or (tensor, dict); got {type(loss).__name__}"
                + (f" of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else "")
            )
        metrics = {
            k: (
                v.detach().float().reshape(())
                if isinstance(v, torch.Tensor)
                else torch.tensor(float(v), device=self.device)
            )
            for k, v in metrics.items()
        }
        return loss.reshape(()), metrics

    def _check_real_frames(self, batch, indices: list[int], epoch: int | None, b: int) -> None:
        empty = empty_samples(batch)
        if empty:
            where = "validation" if epoch is None else f"epoch {epoch}"
            raise BatchError(
                f"{where}, batch {b}: dataset item(s) {[indices[i] for i in empty]} have no real "
                "frame (frame_mask is all zero); a window without real frames must not be emitted"
            )

    def _check_spike(self, norm: float, epoch: int) -> None:
        factor = self.config.grad_spike_factor
        mean = self._grad_norm_mean
        if factor and mean is not None and self.state.step >= 10 and norm > factor * mean:
            log.warning(
                "gradient norm spike at step %d (epoch %d): %.3g > %g x running mean %.3g",
                self.state.step,
                epoch,
                norm,
                factor,
                mean,
            )
        self._grad_norm_mean = norm if mean is None else 0.9 * mean + 0.1 * norm

    def _reduce(self, sums: dict[str, float]) -> dict[str, float]:
        """Sum per-rank totals over all ranks (keys must be the same on every rank)."""
        if not self.dist.enabled:
            return dict(sums)
        keys = sorted(sums)
        values = torch.tensor([sums[k] for k in keys], dtype=torch.float64, device=self.device)
        dist_utils.all_reduce(values, self.dist)
        return dict(zip(keys, values.tolist(), strict=True))


class _Sums:
    """Running sums of an epoch (or a validation pass). What the host already knows (sample and
    step counts, gradient norms, skipped steps) is added as floats on the host; losses and
    metrics stay on the device, one in-place add each per micro-batch, and are read to the host
    together, once, by totals(): at a checkpoint and at the epoch's end."""

    def __init__(self, device: torch.device, totals: dict[str, float] | None = None) -> None:
        self.device = device
        self.host: dict[str, float] = {}
        self.on_device: dict[str, torch.Tensor] = {}
        for key, value in (totals or {}).items():  # a resumed epoch goes on where it was
            if _on_device(key):
                self.on_device[key] = torch.tensor(value, dtype=torch.float64, device=device)
            else:
                self.host[key] = value

    def add_host(self, key: str, value: float) -> None:
        self.host[key] = self.host.get(key, 0.0) + value

    def add_device(self, key: str, value: torch.Tensor, weight: float) -> None:
        """sum += weight * value, in float64, without a host read (key: see _on_device)."""
        total = self.on_device.get(key)
        if total is None:
            total = self.on_device[key] = torch.zeros((), dtype=torch.float64, device=self.device)
        total.add_(value, alpha=weight)

    def totals(self) -> dict[str, float]:
        keys = list(self.on_device)
        values = torch.stack([self.on_device[k] for k in keys]).tolist() if keys else []
        return {**dict(zip(keys, values, strict=True)), **self.host}


def _on_device(key: str) -> bool:
    """The sums of device values: the loss and the loss_fn's metrics (`m:<name>`)."""
    return key == "loss" or key.startswith("m:")


def _adamw(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    # no weight decay on biases and norm gains (1-D tensors): decaying them only hurts
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)


def _format_row(row: dict[str, Any]) -> str:
    return " ".join(
        f"{k} {v:.5g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in row.items()
        if k not in ("epoch",)
    )


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *args, **kwargs):
        return 0

    def update(self, *args, **kwargs):
        pass

    def remove_task(self, *args):
        pass


def _progress(enabled: bool):
    if not enabled:
        return _NoProgress()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


def _attach_console(is_main: bool) -> logging.Handler | None:
    """Show INFO logs on stderr unless the application configured logging itself."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not is_main or logging.getLogger().handlers:
        return None
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.addHandler(handler)
    return handler


def _detach_console(handler: logging.Handler | None) -> None:
    if handler is not None:
        log.removeHandler(handler)
