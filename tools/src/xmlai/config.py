"""One config for the whole pipeline: `xmlai run CONFIG.toml`, or the defaults that every CLI
option overrides. Unknown keys and wrong types are errors that name the key."""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediafeat import ExtractConfig
from xmlai.sections import ModelSection, TrainSection, model_settings, trainer_settings
from xmlai.smooth import SmoothingConfig


class ConfigError(ValueError):
    """A config file or option that cannot be used as given."""


# data.window, in frames. Below 8 a window holds too little context to place a cut; above
# 10 000 (5.5 minutes at 30 fps) one head's attention scores alone are 400 MB per window, and
# a window longer than a recording is all padding
WINDOW_FRAMES = (8, 10_000)


@dataclass
class DataConfig:
    n_tracks: int = 0  # 0: as many as the edits use (their highest video track shown)
    view: str = "source"  # source: one row per source frame (what a new recording gives)
    # 6.7 s at 30 fps: a frame must see a whole silence and its margins to know it is cut
    # (chosen on editors drawn from the families, not on the demo's; README "defaults")
    window: int = 200
    overlap: int = 50
    val_fraction: float = 0.2  # of the edits: early stopping (and any choice made on data)
    test_fraction: float = 0.2  # of the edits: the report, and nothing else
    seed: int = 0
    max_gap_s: float = 1.0  # feature gaps longer than this are masked
    workers: int = 0  # 0: all cores
    # feature file names, e.g. ["{stem}_{modality}.{ext}"]; empty: featalign's two layouts
    feature_naming: list[str] = field(default_factory=list)


@dataclass
class PathsConfig:
    xml_dir: str = ""
    features_dir: str = ""
    out: str = "runs/xmlai"


@dataclass
class RunConfig:
    paths: PathsConfig = field(default_factory=PathsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSection = field(default_factory=ModelSection)  # mttransformer's own settings
    train: TrainSection = field(default_factory=TrainSection)  # trainer's, and the loss weights
    smooth: SmoothingConfig = field(default_factory=SmoothingConfig)
    features: ExtractConfig = field(default_factory=ExtractConfig)  # mediafeat's own settings

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        lines = []
        for section, values in self.to_dict().items():
            lines.append(f"[{section}]")
            # TOML has no null: an unset optional path is left out
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items() if v is not None]
            lines.append("")
        return "\n".join(lines)


# the settings that decide how a recording is read and smoothed: stored with a trained run, so
# a model is used as it was trained, whatever today's defaults say
TRAINED_SETTINGS = (
    "data.window", "data.overlap", "data.max_gap_s",
    *(f"smooth.{f.name}" for f in dataclasses.fields(SmoothingConfig)),
)  # fmt: skip


def trained_settings(config: RunConfig | dict) -> dict:
    """TRAINED_SETTINGS -> value, of a config or of a run's config.json."""
    sections = config if isinstance(config, dict) else config.to_dict()
    values = {}
    for key in TRAINED_SETTINGS:
        section, name = key.split(".")
        values[key] = sections[section][name]
    return values


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def load_config(
    path: str | Path | None = None, overrides: dict | None = None, defaults: dict | None = None
) -> RunConfig:
    """RunConfig's defaults, then a command's own `defaults`, then the TOML file, then
    `overrides` (both {"section.key": value})."""
    data: dict[str, Any] = {}
    for dotted, value in (defaults or {}).items():
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})[key] = value
    if path is not None:
        from_file = _read_toml(path)
        for section, values in from_file.items():
            if isinstance(values, dict) and isinstance(data.get(section), dict):
                data[section].update(values)
            else:
                data[section] = values
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        data.setdefault(section, {})[key] = value
    return from_dict(data, source=str(path or "<options>"))


def _read_toml(path: str | Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}); TOML is UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None


def explicit_keys(path: str | Path | None, sets: list[str] | None) -> set[str]:
    """The "section.key"s a user gave, in a TOML file or as --set (not the defaults)."""
    keys = {item.partition("=")[0].strip() for item in sets or []}
    if path is not None:
        from_file = _read_toml(path)
        keys |= {
            f"{section}.{key}"
            for section, values in from_file.items()
            if isinstance(values, dict)
            for key in values
        }
    return keys


def from_dict(data: dict[str, Any], source: str = "<config>") -> RunConfig:
    config = RunConfig()
    for section, values in data.items():
        if not hasattr(config, section):
            known = [f.name for f in dataclasses.fields(RunConfig)]
            raise ConfigError(f"{source}: unknown section [{section}] (known: {known})")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        target = getattr(config, section)
        hints = typing.get_type_hints(type(target))
        given = {}
        for key, value in values.items():
            if key not in hints:
                raise ConfigError(f"{source}: unknown key {section}.{key} (known: {sorted(hints)})")
            given[key] = _coerce(value, hints[key], f"{source}: {section}.{key}")
        try:  # a section may be a library's frozen config, which checks itself
            setattr(config, section, dataclasses.replace(target, **given))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{source}: [{section}]: {err}") from None
    _check(config, source)
    return config


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, options[0], where)
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        (inner,) = typing.get_args(hint)
        return [_coerce(v, inner, where) for v in value]
    if origin is tuple:  # tuple[int, ...] or a fixed tuple[float, float]; TOML gives a list
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        inner = typing.get_args(hint)
        if len(inner) == 2 and inner[1] is Ellipsis:
            return tuple(_coerce(v, inner[0], where) for v in value)
        if len(value) != len(inner):
            raise ConfigError(f"{where} must be a list of {len(inner)}, got {value!r}")
        return tuple(_coerce(v, h, where) for v, h in zip(value, inner, strict=True))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and not (
        isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    ):
        raise ConfigError(f"{where} must be {hint.__name__}, got {value!r}")
    return value


def _check(config: RunConfig, source: str) -> None:
    d = config.data
    if d.view not in ("source", "sequence"):
        raise ConfigError(f"{source}: data.view must be 'source' or 'sequence', got {d.view!r}")
    if d.n_tracks < 0:
        raise ConfigError(
            f"{source}: data.n_tracks must be >= 0 (0: as the edits use), got {d.n_tracks}"
        )
    shortest, longest = WINDOW_FRAMES
    if not shortest <= d.window <= longest:
        raise ConfigError(
            f"{source}: data.window must be {shortest} to {longest} frames, got {d.window}"
        )
    if not 0 <= d.overlap < d.window:
        raise ConfigError(
            f"{source}: data.overlap must be >= 0 and smaller than data.window ({d.window}), "
            f"got {d.overlap}"
        )
    if not (0 <= d.val_fraction < 1 and 0 <= d.test_fraction < 1):
        raise ConfigError(f"{source}: data.val_fraction and data.test_fraction must be in [0, 1)")
    if d.val_fraction + d.test_fraction >= 1:
        raise ConfigError(
            f"{source}: data.val_fraction + data.test_fraction leave no training edit"
        )
    if not d.max_gap_s > 0:  # a gap limit of 0 or below would mask every feature
        raise ConfigError(f"{source}: data.max_gap_s must be > 0 seconds, got {d.max_gap_s}")
    if d.workers < 0:
        raise ConfigError(f"{source}: data.workers must be >= 0 (0: all cores), got {d.workers}")
    try:  # the library checks its own settings, and turns paths into Paths
        config.features = ExtractConfig(**vars(config.features))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{source}: [features]: {err}") from None
    s = config.smooth
    if not 0 <= s.off_threshold <= s.on_threshold <= 1:
        raise ConfigError(f"{source}: need 0 <= smooth.off_threshold <= on_threshold <= 1")
    for name in ("min_on_frames", "min_off_frames", "median_frames"):
        if getattr(s, name) < 0:
            raise ConfigError(f"{source}: smooth.{name} must be >= 0, got {getattr(s, name)}")
    if not 0 <= s.param_tolerance_scale < float("inf"):
        raise ConfigError(
            f"{source}: smooth.param_tolerance_scale must be >= 0 and finite, "
            f"got {s.param_tolerance_scale}"
        )
    _check_libraries(config, source)
    _check_device(config.train.device, source)


def _check_libraries(config: RunConfig, source: str) -> None:
    """The [model] and [train] values as the libraries check them, when the config is read
    (a stand-in modality and track count: the real ones come from the build)."""
    from mttransformer.config import MultiTrackConfig
    from trainer.config import TrainConfig

    settings = model_settings(config.model)
    stand_in = {
        "modalities": {"features": 1},
        "n_tracks": max(settings["given_tracks"], default=0) + 2,
    }
    for section, build in (
        ("model", lambda: MultiTrackConfig(**settings, **stand_in)),
        ("train", lambda: TrainConfig(**trainer_settings(config.train))),
    ):
        try:
            build()
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{source}: [{section}]: {err}") from None


def _check_device(device: str, source: str) -> None:
    """train.device against this machine, when the config is read: not an AssertionError from
    deep inside torch once training starts."""
    if device in ("auto", "cpu"):
        return  # always usable: no need to import torch for the default
    from trainer import TrainerError, check_device

    try:
        check_device(device)
    except TrainerError as err:
        raise ConfigError(f"{source}: train.device: {err}") from None
