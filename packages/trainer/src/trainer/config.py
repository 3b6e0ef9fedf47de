"""`TrainConfig`: one flat dataclass, loadable from TOML/YAML/JSON and `key=value` overrides.

Kept free of torch so the CLI can parse and validate a config before the heavy import.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class TrainConfig:
    # data order and length
    seed: int = 0
    epochs: int = 10
    batch_size: int = 32
    val_batch_size: int | None = None  # None: same as batch_size
    drop_last: bool = False
    num_workers: int = 0  # >0 uses DataLoader workers; the order stays a function of (seed, epoch)
    max_steps: int = 0  # >0: stop after this many optimizer steps; the lr schedule is unchanged
    # optimisation
    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0  # cosine decays from lr to lr * min_lr_ratio
    grad_clip: float | None = 1.0  # max global grad norm; None or 0 disables clipping
    grad_accum_steps: int = 1
    precision: str = "fp32"  # fp32 | bf16 (CPU and CUDA autocast) | fp16 (CUDA, GradScaler)
    compile: bool = False
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps; checked against the machine
    deterministic: bool = False  # torch.use_deterministic_algorithms (warn_only)
    ema_decay: float = 0.0  # 0 disables EMA; when on, validation and best weights use the EMA
    # anomalies
    max_anomalies: int = 10  # abort after this many skipped (non-finite) steps
    grad_spike_factor: float = 10.0  # warn when grad norm > factor * its running mean; 0 = off
    # validation, checkpoints, early stopping
    monitor: str = "val_loss"
    monitor_mode: str = "min"  # min | max
    early_stopping_patience: int = 0  # epochs without improvement before stopping; 0 = off
    early_stopping_min_delta: float = 0.0
    checkpoint_every_steps: int = 0  # 0: only at the end of each epoch
    # also mid-epoch once this much wall time has passed since the last save; None or 0: off
    checkpoint_every_minutes: float | None = None
    keep_last: int = 3  # newest checkpoints kept; the best one is kept on top of these
    # run directory and logging
    run_dir: str = ""  # "" -> runs/<UTC timestamp>
    resume: bool = False  # continue from the newest valid checkpoint in run_dir
    log_every_steps: int = 50
    progress: bool = True  # rich progress bar (never shown when stderr is not a terminal)
    tensorboard: bool = False  # only when tensorboard is installed
    plots: bool = True  # curves.png when matplotlib is installed
    extra: dict[str, Any] = field(default_factory=dict)  # free-form, recorded in the snapshot

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)  # TOML/JSON give lists
        _check_types(self)
        _check_values(self)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<dict>") -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = [k for k in data if k not in known]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, known, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ConfigError(f"{source}: unknown config key(s): {', '.join(hints)}")
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
        return load_config(path, overrides)

    def with_overrides(self, overrides: list[str]) -> TrainConfig:
        data = self.to_dict()
        data.update(parse_overrides(overrides))
        return TrainConfig.from_dict(data, source="--set")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a TOML, YAML (if PyYAML is installed) or JSON file of top-level keys, then apply
    `key=value` overrides. No file: defaults plus overrides."""
    data: dict[str, Any] = {}
    source = "--set"
    if path is not None:
        path = Path(path)
        source = str(path)
        data = _read_mapping(path)
    data.update(parse_overrides(overrides or []))
    if path is not None and overrides:
        source += " + --set"
    return TrainConfig.from_dict(data, source=source)


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """`["lr=3e-4", "precision=bf16", "betas=[0.9, 0.95]", "grad_clip=none"]` -> typed dict.

    Values are parsed as TOML literals; anything that is not one is taken as a bare string, so
    `run_dir=runs/a` and `precision=bf16` need no quotes."""
    out: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        raw = raw.strip()
        if raw.lower() in ("none", "null"):
            out[key] = None
            continue
        try:
            out[key] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = raw
    return out


def _read_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise ConfigError(
                    f"{path}: YAML configs need PyYAML (pip install pyyaml)"
                ) from None
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        else:
            raise ConfigError(
                f"{path}: unknown config format {suffix!r} (use .toml, .yaml or .json)"
            )
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse: {exc}") from None
    except Exception as exc:  # yaml's own error types, without importing yaml at module level
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{path}: cannot parse: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return data


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:  # an int is a fine float (lr = 1)
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        args = typing.get_args(hint)
        return (
            isinstance(value, tuple | list)
            and len(value) == len(args)
            and all(_matches(v, a) for v, a in zip(value, args, strict=True))
        )
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, hint)


def _check_types(cfg: TrainConfig) -> None:
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if not _matches(value, hints[f.name]):
            hint = hints[f.name]
            expected = hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
            raise ConfigError(
                f"config key {f.name!r} must be {expected}, got {value!r} ({type(value).__name__})"
            )
        if hints[f.name] in (float, float | None) and isinstance(value, int):
            setattr(cfg, f.name, float(value))


def _check_values(cfg: TrainConfig) -> None:
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ConfigError(message)

    need(cfg.epochs >= 1, f"epochs must be >= 1, got {cfg.epochs}")
    need(cfg.batch_size >= 1, f"batch_size must be >= 1, got {cfg.batch_size}")
    need(cfg.val_batch_size is None or cfg.val_batch_size >= 1, "val_batch_size must be >= 1")
    need(cfg.grad_accum_steps >= 1, f"grad_accum_steps must be >= 1, got {cfg.grad_accum_steps}")
    need(cfg.num_workers >= 0, "num_workers must be >= 0")
    need(cfg.max_steps >= 0, "max_steps must be >= 0")
    need(cfg.lr > 0, f"lr must be > 0, got {cfg.lr}")
    need(cfg.weight_decay >= 0, "weight_decay must be >= 0")
    need(cfg.warmup_steps >= 0, "warmup_steps must be >= 0")
    need(0.0 <= cfg.min_lr_ratio <= 1.0, "min_lr_ratio must be in [0, 1]")
    need(cfg.grad_clip is None or cfg.grad_clip >= 0, "grad_clip must be >= 0 or none")
    need(
        cfg.precision in PRECISIONS, f"precision must be one of {PRECISIONS}, got {cfg.precision!r}"
    )
    need(0.0 <= cfg.ema_decay < 1.0, f"ema_decay must be in [0, 1), got {cfg.ema_decay}")
    need(cfg.max_anomalies >= 0, "max_anomalies must be >= 0")
    need(cfg.grad_spike_factor >= 0, "grad_spike_factor must be >= 0")
    need(
        cfg.monitor_mode in ("min", "max"),
        f"monitor_mode must be min or max, got {cfg.monitor_mode!r}",
    )
    need(cfg.early_stopping_patience >= 0, "early_stopping_patience must be >= 0")
    need(cfg.checkpoint_every_steps >= 0, "checkpoint_every_steps must be >= 0")
    need(
        cfg.checkpoint_every_minutes is None or cfg.checkpoint_every_minutes >= 0,
        f"checkpoint_every_minutes must be >= 0 or none, got {cfg.checkpoint_every_minutes}",
    )
    need(cfg.keep_last >= 1, f"keep_last must be >= 1, got {cfg.keep_last}")
    need(cfg.log_every_steps >= 1, "log_every_steps must be >= 1")
    need(
        cfg.device in ("auto", "cpu", "mps") or cfg.device.startswith("cuda"),
        f"device must be auto, cpu, cuda, cuda:N or mps, got {cfg.device!r}",
    )
