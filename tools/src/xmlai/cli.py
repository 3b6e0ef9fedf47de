"""`xmlai`: synth, features, build, train, evaluate, curve, predict, preview, demo, run. Each
command is a few lines over library calls; `--config FILE` and `--set section.key=value` reach
every setting."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Learn an editor's style from their timelines.")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="A TOML run config.")]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override a setting: section.key=value (repeat).")
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")]


def _config(path: Path | None, sets: list[str] | None, defaults: dict | None = None, **extra):
    from xmlai.config import load_config

    overrides = {}
    for item in sets or []:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key:
            raise _fail(f"--set takes section.key=value, got {item!r}")
        overrides[key.strip()] = _value(raw.strip())
    overrides.update({k: v for k, v in extra.items() if v is not None})
    return load_config(path, overrides, defaults)


def _value(raw: str):
    """`--set` values as TOML would read them: true/false, numbers, lists, else a string."""
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw  # a bare word is a string


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


def _guard(fn, *args, **kwargs):
    """Known failures become one clear message and exit code 2, never a traceback."""
    from featalign import FeatAlignError
    from mediafeat import MediaError
    from seqwin import SeqwinError
    from xml2csv import XmemlError
    from xmlai.config import ConfigError
    from xmlai.runlog import PipelineError
    from xmlai.synth import SynthError

    known = (
        PipelineError, ConfigError, XmemlError, FeatAlignError, SeqwinError, SynthError, MediaError
    )  # fmt: skip
    try:
        return fn(*args, **kwargs)
    except known as err:
        raise _fail(str(err)) from None
    except Exception as err:
        if type(err).__module__.split(".")[0] in ("mttransformer", "trainer"):
            raise _fail(f"{type(err).__name__}: {err}") from None
        raise


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Folder for the synthetic corpus.")],
    edits: Annotated[int, typer.Option(min=1, help="Recordings (and edits).")] = 110,
    seconds: Annotated[float, typer.Option(min=1, help="Length of each recording.")] = 30.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    overwrite: OverwriteOpt = False,
    media: Annotated[
        bool, typer.Option("--media", help="Also render each recording as media/<name>.mp4.")
    ] = False,
    media_size: Annotated[
        str | None,
        typer.Option(help="Size of the rendered videos [default: 640x360].", metavar="WxH"),
    ] = None,
    styles: Annotated[
        int | None,
        typer.Option(
            min=1, help="Draw this many editors from the rule families: OUT/<editor>/ each."
        ),
    ] = None,
) -> None:
    """Write a synthetic corpus: recordings' features and an editor's xmeml edits of them
    (with --styles, one corpus per editor drawn from broad families of rules)."""
    from xmlai.synth import synthesize
    from xmlai.synth.styles import synthesize_styles

    options = {}
    if media_size is not None and not media:
        raise _fail("--media-size needs --media")
    if media:
        options["media"] = True
    if media_size is not None:
        width, sep, height = media_size.lower().partition("x")
        if not (sep and width.strip().isdigit() and height.strip().isdigit()):
            raise _fail(f"--media-size takes WIDTHxHEIGHT, e.g. 640x360, not {media_size!r}")
        options["media_size"] = (int(width), int(height))
    if styles is not None:
        manifest = _guard(
            synthesize_styles, out, styles, n_edits=edits, seconds=seconds, seed=seed,
            overwrite=overwrite, **options,
        )  # fmt: skip
        for e in manifest["editors"]:
            naming = " ".join(f"--set 'data.feature_naming=[\"{p}\"]'" for p in e["feature_naming"])
            typer.echo(f"synth: {e['name']}: {e['edits']} edits, tracks {e['tracks']} {naming}")
        typer.echo(f"synth: {len(manifest['editors'])} editors -> {out}")
        return
    summary = _guard(
        synthesize, out, n_edits=edits, seconds=seconds, seed=seed, overwrite=overwrite, **options
    )
    typer.echo(f"synth: {summary.n_edits} edits -> {out}" + (" (with media)" if media else ""))


@app.command()
def features(
    recordings: Annotated[list[Path], typer.Argument(help="Recordings or folders (recursive).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Features folder.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Processes [one per core].")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    overwrite: Annotated[bool, typer.Option(help="Redo recordings that are current.")] = False,
) -> None:
    """Recordings -> feature files (audio, visual, words), resumable; `[features]` settings."""
    from xmlai.features import extract_features

    cfg = _guard(_config, config, set_)
    summary = _guard(extract_features, recordings, out, cfg, workers, overwrite)
    for item in summary["files"]:
        if item["status"] == "failed":
            typer.secho(f"failed: {item['error']}", fg="red", err=True)
    counts = ", ".join(f"{n} {status}" for status, n in summary["counts"].items())
    typer.echo(f"features: {counts}, {summary['realtime_factor']}x realtime -> {out}")
    if summary["counts"]["failed"]:
        raise typer.Exit(1)


@app.command()
def build(
    xml_dir: Annotated[Path, typer.Argument(help="Folder of xmeml edits.")],
    features_dir: Annotated[Path, typer.Argument(help="Folder of feature files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    config: ConfigOpt = None,
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Edits + features -> track tables -> split -> frame store."""
    from xmlai.build import build as run_build

    cfg = _guard(_config, config, set_)
    summary = _guard(run_build, xml_dir, features_dir, out, cfg, overwrite=overwrite)
    typer.echo(
        f"build: {summary['edits_stored']} edits, {summary['frames']} frames "
        f"({summary['train_edits']} train / {summary['val_edits']} validation / "
        f"{summary['test_edits']} test) -> {out}"
    )
    for skipped in summary["edits_without_features"]:
        typer.secho(f"skipped {skipped['edit_id']}: {skipped['reason']}", fg="yellow", err=True)


@app.command()
def train(
    build_dir: Annotated[Path, typer.Argument(help="A folder made by `xmlai build`.")],
    run_dir: Annotated[Path, typer.Option("--run", "-r", help="Run folder (resumes if present).")],
    epochs: Annotated[int | None, typer.Option(help="Training epochs.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train the model on a built set; re-running resumes an interrupted run."""
    from xmlai.train import train as run_train

    cfg = _guard(_config, config, set_, **{"train.epochs": epochs})
    result = _guard(run_train, build_dir, run_dir, cfg)
    status = result["trainer"]["status"]
    typer.echo(
        f"train: {status} after {result['trainer']['step']} steps; model -> {result['model']}"
    )


@app.command()
def evaluate(
    build_dir: Annotated[Path, typer.Argument(help="The built set the model was trained on.")],
    run_dir: Annotated[Path, typer.Option("--run", "-r", help="The training run folder.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Report folder.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Metrics on the held-out edits beside the baselines: report.md, metrics.json, PNGs."""
    from xmlai.evaluate import evaluate as run_evaluate

    cfg = _guard(_config, config, set_)
    target = out or run_dir / "evaluation"
    metrics = _guard(run_evaluate, build_dir, run_dir, target, cfg)
    typer.echo(
        f"evaluate: {len(metrics['held_out_edits'])} held-out edits -> {target / 'report.md'}"
    )


@app.command()
def curve(
    xml_dir: Annotated[Path, typer.Argument(help="Folder of xmeml edits.")],
    features_dir: Annotated[Path, typer.Argument(help="Folder of feature files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    counts: Annotated[
        str, typer.Option(help="Training-edit counts, comma-separated.")
    ] = "10,20,40,80",
    config: ConfigOpt = None,
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """How many edits does it need? Train on 10, 20, 40, 80 edits; test metrics per count."""
    from xmlai.curve import learning_curve

    try:
        numbers = [int(c) for c in counts.split(",") if c.strip()]
    except ValueError:
        raise _fail(f"--counts takes whole numbers like 10,20,40, not {counts!r}") from None
    cfg = _guard(_config, config, set_)
    summary = _guard(learning_curve, xml_dir, features_dir, out, cfg, numbers, overwrite)
    typer.echo(f"curve: {len(summary['points'])} counts -> {out / 'curve.md'}")


@app.command()
def editors(
    styles_dir: Annotated[Path, typer.Argument(help="A folder `xmlai synth --styles` wrote.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    only: Annotated[
        list[str] | None, typer.Option("--editor", help="Only this editor (repeat).")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """One config on many editors: build, train and evaluate each, one table against the
    targets (with the demo's time budget under --config and --set)."""
    from xmlai.across import across_editors

    cfg = _guard(_config, config, set_, DEMO_DEFAULTS)
    summary = _guard(across_editors, styles_dir, out, cfg, only, overwrite)
    typer.echo(
        f"editors: {summary['tracks_meeting_targets']} of {summary['tracks']} tracks meet "
        f"every target -> {out / 'editors.md'}"
    )
    if summary["failures"]:
        raise _fail(f"{len(summary['failures'])} editor(s) failed; see {out / 'editors.json'}")


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Option("--run", "-r", help="The training run folder.")],
    features_dir: Annotated[Path, typer.Argument(help="Folder with the recording's features.")],
    video: Annotated[
        str,
        typer.Argument(
            help="The recording (its features are made if missing), a folder of recordings "
            "(one edit each), or a recording's name in the features folder."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    fps: Annotated[float | None, typer.Option(help="The recording's frame rate.")] = None,
    markers: Annotated[
        str, typer.Option(help="Review markers where the model is unsure: on or off.")
    ] = "on",
    config: ConfigOpt = None,
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """A new recording -> per-frame CSV -> smoothed -> xmeml for Premiere, read and smoothed
    with the trained run's own window and smoothing settings (a --set of one is logged)."""
    from xmlai.config import explicit_keys
    from xmlai.predict import predict as run_predict

    if markers not in ("on", "off"):
        raise _fail(f"--markers takes on or off, not {markers!r}")
    cfg = _guard(_config, config, set_)
    explicit = explicit_keys(config, set_)
    summary = _guard(
        run_predict, run_dir, features_dir, video, out, cfg, fps=fps, overwrite=overwrite,
        explicit=explicit, markers=markers == "on",
    )  # fmt: skip
    if "recordings" in summary:
        typer.echo(
            f"predict: {summary['ok']} edits written, {summary['failed']} failed -> "
            f"{out / 'predict.json'}"
        )
        if summary["failed"]:
            raise typer.Exit(1)
        return
    typer.echo(
        f"predict: {summary['sequence_frames']} of {summary['source_frames']} frames kept, "
        f"{summary['markers']} review markers -> {summary['xmeml']}"
    )


@app.command()
def preview(
    edit: Annotated[Path, typer.Argument(help="An xmeml edit (FCP7 / Premiere XML).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The video to write (.mp4, .mov, .mkv).")
    ],
    media_root: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Where to look for media the edit's paths miss."),
    ] = None,
    height: Annotated[
        int | None,
        typer.Option(
            min=2, metavar="H", help="Output height, keeping the aspect (default: the sequence's)."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Render an edit to a video with its sound, to watch it without Premiere."""
    from xmlai.preview import render_preview

    summary = _guard(
        render_preview, edit, out, media_root=media_root, height=height, overwrite=overwrite
    )
    for miss in summary["missing_media"]:
        typer.secho(
            f"missing {miss['role']} {miss['path'] or miss['file']}: {miss['reason']} "
            f"(drawn as {miss['drawn']})",
            fg="yellow",
            err=True,
        )
    sound = f", {summary['audio_seconds']:.1f} s of sound" if summary["audio"] else ", no sound"
    typer.echo(
        f"preview: {summary['frames']} frames at {summary['fps']} fps, "
        f"{summary['width']}x{summary['height']}{sound} -> {out}"
    )


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="A TOML run config with [paths].")],
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """The whole pipeline from one config: build -> train -> evaluate into paths.out."""
    from xmlai.pipeline import run_pipeline

    cfg = _guard(_config, config, set_)
    result = _guard(run_pipeline, cfg, overwrite=overwrite)
    typer.echo(f"run: report -> {result['report']}")


DEMO_DEFAULTS = {"train.epochs": 20}


@app.command()
def demo(
    out: Annotated[Path, typer.Argument(help="Output folder.")] = Path("out/xmlai-demo"),
    # 150: with a fifth of them for the test and a fifth for validation, 90 train the model
    edits: Annotated[int, typer.Option(min=4, help="Synthetic recordings.")] = 150,
    seconds: Annotated[float, typer.Option(min=2, help="Seconds per recording.")] = 30.0,
    epochs: Annotated[
        int | None,
        typer.Option(help=f"Training epochs [default: {DEMO_DEFAULTS['train.epochs']}]."),
    ] = None,
    tracks: Annotated[
        int | None,
        typer.Option(help="Tracks to model [default: those the edits use].", min=0),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """synth -> build -> train -> evaluate -> predict a held-out recording, in one folder."""
    from xmlai.pipeline import run_demo

    # the demo's own defaults sit under --config and --set; explicit options win over both
    extra = {"train.epochs": epochs, "data.n_tracks": tracks}
    cfg = _guard(_config, config, set_, DEMO_DEFAULTS, **extra)
    result = _guard(run_demo, out, cfg, n_edits=edits, seconds=seconds, overwrite=overwrite)
    typer.echo(
        f"demo finished in {result['seconds']:.0f} s: report -> {result['report']}, "
        f"predicted edit -> {result['xmeml']}"
    )


def main() -> None:  # pragma: no cover - console entry for `python -m xmlai`
    sys.exit(app())
