"""`trainer` CLI: fit a model given as module:factory on data given as module:factory; resume a
run directory; describe a checkpoint. torch is imported only inside the commands."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from trainer.config import load_config
from trainer.errors import ConfigError, DiskFullError, RunDirLockedError, TrainerError

app = typer.Typer(
    no_args_is_help=True,
    help="A small, explicit, resumable training loop for any torch.nn.Module.",
)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def load_object(spec: str, what: str) -> Any:
    """`package.module:name` or `path/to/file.py:name` -> the object."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise TrainerError(f"--{what} {spec!r}: expected module:name or path/file.py:name")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise TrainerError(f"--{what} {spec!r}: file {path} not found")
            name = f"_trainer_factory_{path.stem}"  # never shadow a real module
            mod_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = module
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TrainerError(f"--{what} {spec!r}: cannot import {module_name}: {exc}") from None
    if not hasattr(module, attr):
        raise TrainerError(f"--{what} {spec!r}: {module_name} has no attribute {attr!r}")
    return getattr(module, attr)


def build(model_spec: str, data_spec: str, loss_spec: str | None):
    """Call the factories. Model factory: () -> model or (model, loss_fn); --loss names the
    loss_fn(model, batch) itself. Data factory: () -> (train, val) or train."""
    from torch import nn

    made = load_object(model_spec, "model")()
    model, loss_fn = made if isinstance(made, tuple) else (made, None)
    if loss_spec:
        loss_fn = load_object(loss_spec, "loss")
    if not isinstance(model, nn.Module):
        raise TrainerError(
            f"--model {model_spec}: factory returned {type(model).__name__}, "
            "not a torch.nn.Module (or a (module, loss_fn) pair)"
        )
    if not callable(loss_fn):
        raise TrainerError(
            f"--model {model_spec}: returned no loss_fn; return (model, loss_fn) "
            "or pass --loss module:loss_fn"
        )
    data = load_object(data_spec, "data")()
    train, val = data if isinstance(data, tuple) else (data, None)
    return model, loss_fn, train, val


def _run(cfg) -> None:
    from trainer.checkpoint import seed_everything
    from trainer.loop import Trainer

    launch = cfg.extra["launch"]
    seed_everything(cfg.seed)  # the model's initial weights depend on the seed too
    model, loss_fn, train, val = build(launch["model"], launch["data"], launch.get("loss"))
    summary = Trainer(model, loss_fn, train, val, cfg).fit()
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, one report is enough
        return
    best = summary["best"]
    out.print(
        f"{summary['status']}: {summary['epochs_completed']} epochs, {summary['step']} steps; "
        f"best {best['metric']} {best['value']} at {best['checkpoint']}; run dir "
        f"{summary['run_dir']}"
    )


# what the user can fix by changing the command or the machine: exit code 2, like bad usage
USAGE_ERRORS = (ConfigError, RunDirLockedError, DiskFullError)


def _fail(exc: Exception) -> None:
    err.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(2 if isinstance(exc, USAGE_ERRORS) else 1)


@app.command()
def fit(
    model: str = typer.Option(
        ..., "--model", help="module:factory returning model or (model, loss_fn)"
    ),
    data: str = typer.Option(..., "--data", help="module:factory returning (train, val) datasets"),
    loss: str | None = typer.Option(None, "--loss", help="module:loss_fn(model, batch)"),
    config: Path | None = typer.Option(None, "--config", help="TOML/YAML/JSON TrainConfig"),
    set_: list[str] = typer.Option([], "--set", help="override: key=value (repeatable)"),
    run_dir: str | None = typer.Option(
        None, "--run-dir", help="run directory (default runs/<time>)"
    ),
) -> None:
    """Train a model. Works the same under `torchrun --nproc_per_node N -m trainer fit ...`."""
    try:
        cfg = load_config(config, set_)
        launch = {"model": model, "data": data, "loss": loss}
        cfg = dataclasses.replace(
            cfg,
            extra={**cfg.extra, "launch": launch},
            run_dir=run_dir if run_dir is not None else cfg.run_dir,
        )
        _run(cfg)
    except TrainerError as exc:
        _fail(exc)


@app.command()
def resume(
    run_dir: Path = typer.Argument(..., help="a run directory written by `trainer fit`"),
    set_: list[str] = typer.Option([], "--set", help="override: key=value, e.g. epochs=20"),
) -> None:
    """Continue a run from its newest valid checkpoint (bit-exact on CPU)."""
    try:
        snapshot = run_dir / "config.json"
        if not snapshot.is_file():
            raise TrainerError(f"{run_dir}: not a run directory (no config.json)")
        cfg = load_config(snapshot, set_)
        if "launch" not in cfg.extra:
            raise TrainerError(
                f"{run_dir}: was not started by `trainer fit`; resume from Python "
                "with TrainConfig(resume=True, run_dir=...)"
            )
        _run(dataclasses.replace(cfg, resume=True, run_dir=str(run_dir)))
    except TrainerError as exc:
        _fail(exc)


@app.command()
def info(
    checkpoint: Path = typer.Argument(..., help="a step-XXXXXXXX.pt checkpoint"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Describe a checkpoint: position, metrics, parameter count, config (loads safely)."""
    try:
        from trainer.checkpoint import load_checkpoint

        state = load_checkpoint(checkpoint)
    except TrainerError as exc:
        _fail(exc)
    weights = state["model"]
    summary = {
        "checkpoint": str(checkpoint),
        "step": state["step"],
        "epoch": state["epoch"],
        "position": state["position"],
        "parameters": sum(t.numel() for t in weights.values() if t.is_floating_point()),
        "tensors": len(weights),
        "has_ema": state.get("ema") is not None,
        "world_size": state.get("world_size"),
        "best": {k: state["train_state"].get(k) for k in ("best_value", "best_path")},
        "metrics": state.get("metrics"),
        "config": state.get("config"),
    }
    if as_json:
        out.print_json(json.dumps(summary, default=str))
        return
    for key, value in summary.items():
        if key != "config":
            out.print(f"[bold]{key}[/bold]: {value}", highlight=False)


if __name__ == "__main__":
    app()
