"""`xml2csv convert | batch | inspect`: a thin layer over the library."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    help="Turn Premiere / Final Cut Pro 7 XML (xmeml) edits into per-frame track tables.",
)

TracksOpt = Annotated[int, typer.Option("--tracks", "-n", min=1, help="Video tracks per row.")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Extra parameter column: rotation, opacity (repeat)."),
]
SourceViewOpt = Annotated[
    bool, typer.Option("--source-view", help="One row per frame of the main source video.")
]
SequenceOpt = Annotated[
    str | None, typer.Option("--sequence", "-s", help="Sequence name or id to read.")
]


def _exit_on_sigterm(signum, frame) -> None:
    """A batch stopped by `kill` (a timeout, a scheduler) unwinds like Ctrl-C, so it removes
    its temporary parts instead of leaving them."""
    raise SystemExit(128 + signum)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@app.command()
def convert(
    file: Annotated[Path, typer.Argument(help="An xmeml file.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output .csv or .parquet.")
    ] = None,
    tracks: TracksOpt = 20,
    param: ParamOpt = None,
    sequence: SequenceOpt = None,
    source_view: SourceViewOpt = False,
) -> None:
    """Convert one file into a table (CSV, or Parquet by the output's extension)."""
    from xml2csv.batch import ConvertOptions, convert_file, write_failure
    from xml2csv.errors import XmemlError
    from xml2csv.io import write_table

    options = ConvertOptions(tracks, tuple(param or ()), sequence, source_view)
    target = output or Path(f"{file.stem}.csv")
    try:
        table, result = convert_file(file, options)
        write_table(table, target)
    except (XmemlError, ValueError) as err:
        raise _fail(str(err)) from None
    except OSError as err:
        raise _fail(str(write_failure(err, target))) from None
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"{file} -> {target}: {result.rows} rows, {result.tracks} video tracks"
        + (
            f" ({result.tracks_truncated} dropped above {tracks})"
            if result.tracks_truncated
            else ""
        )
    )


@app.command()
def batch(
    input_dir: Annotated[Path, typer.Argument(help="Folder searched recursively for *.xml.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, help="Processes (default: all cores).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or parquet.")] = "csv",
    per_edit: Annotated[bool, typer.Option("--per-edit", help="One file per edit.")] = False,
    tracks: TracksOpt = 20,
    param: ParamOpt = None,
    sequence: SequenceOpt = None,
    source_view: SourceViewOpt = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Convert every xmeml file below a folder; exit code 1 if any file failed, 2 if an output
    could not be written."""
    from xml2csv.batch import ConvertOptions, convert_dir
    from xml2csv.errors import XmemlError

    options = ConvertOptions(tracks, tuple(param or ()), sequence, source_view)
    before = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        summary = convert_dir(input_dir, output, workers, fmt, per_edit, options, progress)
    except (XmemlError, ValueError) as err:
        raise _fail(str(err)) from None
    finally:
        signal.signal(signal.SIGTERM, before)
    for failure in summary.failed:
        typer.secho(f"failed: {failure['error']}", fg=typer.colors.RED, err=True)
    typer.echo(
        f"{summary.files_ok} ok, {summary.files_failed} failed, {summary.rows} rows, "
        f"{summary.seconds:.2f} s -> {output} (log: xml2csv.log, summary: summary.json)"
    )
    if not summary.ok:
        raise typer.Exit(1)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="An xmeml file.")],
    sequence: SequenceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Sequences, tracks, item counts, rate, main source, and what the reader had to guess."""
    from xml2csv.errors import XmemlError
    from xml2csv.inspect import describe, render

    try:
        info = describe(file, sequence)
    except XmemlError as err:
        raise _fail(str(err)) from None
    if as_json:
        json.dump(info, sys.stdout, indent=2, ensure_ascii=False)
        typer.echo()
    else:
        typer.echo(render(info))


@app.command()
def version() -> None:
    """Print the version."""
    from xml2csv.__about__ import __version__

    typer.echo(__version__)
