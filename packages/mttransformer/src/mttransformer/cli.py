"""`mttransformer info CHECKPOINT_DIR`: what a checkpoint was trained on, without training code."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Inspect mttransformer checkpoints.")


@app.callback()
def main() -> None:
    """mttransformer: a leak-free multi-track transformer (see the package README)."""


@app.command()
def info(
    checkpoint: Path = typer.Argument(..., help="A directory written by save_pretrained."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    """Task, input schema and parameter count of a checkpoint (its weights are verified)."""
    from rich.console import Console

    from mttransformer.checkpoint import from_pretrained, read_checkpoint_info
    from mttransformer.errors import MTTransformerError

    console = Console()
    try:
        meta = read_checkpoint_info(checkpoint)
        model = from_pretrained(checkpoint)  # loads and verifies the weights too
    except MTTransformerError as error:
        typer.echo(f"error: {error}", err=True)  # plain echo: rich would wrap the path
        raise typer.Exit(code=1) from None
    summary = {
        "checkpoint": str(checkpoint),
        "format_version": meta["format_version"],
        "library_version": meta.get("library_version"),
        "task": model.config.task,
        "input_schema": model.config.input_schema(),
        "n_parameters": model.count_parameters(),
        "config": model.config.to_dict(),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    schema = summary["input_schema"]
    console.print(f"checkpoint      {checkpoint}", highlight=False)
    console.print(
        f"format          v{summary['format_version']} "
        f"(mttransformer {summary['library_version']})",
        highlight=False,
    )
    console.print(f"task            {summary['task']}", highlight=False)
    console.print(
        "modalities      " + ", ".join(f"{k} ({v})" for k, v in schema["modalities"].items()),
        highlight=False,
    )
    console.print(
        f"tracks          {schema['n_tracks']} (given {schema['given_tracks']}, "
        f"predicted {schema['predicted_tracks']}, 0-based)",
        highlight=False,
    )
    console.print(f"parameters      {summary['n_parameters']:,}", highlight=False)
