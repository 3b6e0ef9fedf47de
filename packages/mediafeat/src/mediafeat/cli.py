"""`mediafeat extract VIDEO... -o FEATURES_DIR` and `mediafeat probe VIDEO`."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Recordings -> feature files, offline.")
BATCH_LOG, BATCH_JSON = "mediafeat.log", "mediafeat.json"


@contextmanager
def logging_to(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("mediafeat")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()


def _check_out(out: Path) -> None:
    """FEATURES_DIR must be a folder (or a new one) whose mediafeat.json, if any, is a batch
    summary mediafeat wrote: someone else's file of that name is never replaced."""
    for parent in (out, *out.parents):
        if parent.exists() and not parent.is_dir():
            raise _fail(f"{parent}: exists and is not a folder (output {out})")
        if parent.exists():
            break
    summary = out / BATCH_JSON
    if summary.exists() or summary.is_symlink():
        try:
            ours = "out_dir" in json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, TypeError):
            ours = False
        if not ours:
            raise _fail(f"{summary}: exists and is not a mediafeat batch summary; not replacing it")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


def config_from_options(**options):
    """ExtractConfig from CLI options (None: the default); a bad value is one line, exit 2."""
    from mediafeat.config import ExtractConfig

    try:
        return ExtractConfig(**{k: v for k, v in options.items() if v is not None})
    except (TypeError, ValueError) as err:
        raise _fail(str(err)) from None


@app.command()
def probe(
    video: Annotated[Path, typer.Argument(help="A recording.")],
) -> None:
    """Print what a recording is (media.json's facts) as JSON."""
    from mediafeat.errors import MediaError
    from mediafeat.probe import probe as run_probe

    try:
        info = run_probe(video)
    except MediaError as err:
        raise _fail(str(err)) from None
    typer.echo(json.dumps(info.to_dict(), indent=2, ensure_ascii=False))


@app.command()
def extract(
    videos: Annotated[list[Path], typer.Argument(help="Recordings or folders (recursive).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="FEATURES_DIR")],
    workers: Annotated[int | None, typer.Option(min=1, help="Processes [one per core].")] = None,
    visual_rate: Annotated[float | None, typer.Option(help="Visual rows per second [5].")] = None,
    audio_rate: Annotated[float | None, typer.Option(help="Audio rows per second [50].")] = None,
    text_rate: Annotated[float | None, typer.Option(help="OCR runs per second [1].")] = None,
    clip_onnx: Annotated[Path | None, typer.Option(help="CLIP image encoder (ONNX).")] = None,
    asr_model: Annotated[Path | None, typer.Option(help="faster-whisper model folder.")] = None,
    transcript: Annotated[Path | None, typer.Option(help="SRT / VTT / JSON words.")] = None,
    optical_flow: Annotated[bool, typer.Option(help="Farneback flow magnitude.")] = False,
    audio: Annotated[bool, typer.Option(help="Audio features.")] = True,
    visual: Annotated[bool, typer.Option(help="Visual features.")] = True,
    overwrite: Annotated[bool, typer.Option(help="Redo recordings that are current.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
) -> None:
    """Extract features; a recording whose features are current is skipped. Exit code 1 when
    some recordings failed (the others are written), 2 when nothing could be done."""
    from mediafeat.batch import extract_batch, write_summary
    from mediafeat.errors import MediaError

    config = config_from_options(
        visual_rate_hz=visual_rate, audio_rate_hz=audio_rate, text_rate_hz=text_rate,
        clip_onnx=clip_onnx, asr_model=asr_model, transcript=transcript,
        optical_flow=optical_flow, audio=audio, visual=visual,
    )  # fmt: skip
    if transcript is not None and len(videos) > 1:
        raise _fail("--transcript names one recording's words; give one recording with it")
    _check_out(out)
    try:
        with logging_to(out / BATCH_LOG):
            summary = extract_batch(videos, out, config, workers, overwrite, progress)
    except MediaError as err:
        raise _fail(str(err)) from None
    except OSError as err:  # the features folder itself (unwritable, full)
        raise _fail(f"{out}: cannot write: {err.strerror or err}") from None
    try:
        write_summary(summary, out / BATCH_JSON)
    except OSError as err:
        raise _fail(f"{out / BATCH_JSON}: cannot write: {err.strerror or err}") from None
    for failed in summary.failed:
        typer.secho(f"failed: {failed.error}", fg=typer.colors.RED, err=True)
    counts = summary.counts()
    typer.echo(", ".join(f"{n} {status}" for status, n in counts.items()) + f" -> {out}")
    if summary.failed:
        raise typer.Exit(1)
