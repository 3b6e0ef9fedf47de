"""`featalign align` (track tables + feature files -> frame store) and `featalign validate`."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Align per-source features to every edit frame.")


@contextmanager
def _logging_to(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("featalign")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()


def _schemas(schema_path: Path | None, modalities: list[str]):
    from featalign.schema import FeatureSchema, load_schema

    if schema_path is None:
        return {m: FeatureSchema() for m in modalities}
    return {m: load_schema(schema_path, m) for m in modalities}


NAMING_HELP = (
    "feature file naming, e.g. '{stem}_{modality}.{ext}' (repeat to try several; default: "
    "'{stem}/{modality}.{ext}' then '{stem}.{modality}.{ext}')"
)


def _discover(features: Path, naming: list[str] | None):
    from featalign.matching import discover_features

    index = discover_features(features, naming or None)
    index.require_files()
    return index


def _write_summary(path: Path, data: dict) -> None:
    from featalign.normalise import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=1, default=str))


@app.command()
def align(
    tracks: list[Path] = typer.Argument(..., help="track tables (CSV/Parquet), many edits each"),
    features: Path = typer.Option(
        ..., "--features", "-f", help="FEATURES_DIR/<video>.<modality>.csv"
    ),
    out: Path = typer.Option(..., "--out", "-o", help="frame store folder to create"),
    schema: Path | None = typer.Option(None, help="TOML feature schema"),
    modality: list[str] | None = typer.Option(None, help="modalities, in mask order (repeat)"),
    max_gap_s: float | None = typer.Option(None, help="mask frames inside longer sample gaps"),
    fit_on: Path | None = typer.Option(None, help="text file, one training edit_id per line"),
    normalisers: Path | None = typer.Option(None, help="folder of <modality>.json normalisers"),
    naming: list[str] | None = typer.Option(None, help=NAMING_HELP),
    overwrite: bool = typer.Option(False, help="replace an existing store"),
) -> None:
    """Build the frame store: per edit tracks, features per modality, masks, timestamps."""
    from featalign.errors import FeatAlignError
    from featalign.normalise import Normaliser
    from featalign.store import build_frame_store

    log_path = out.with_name(out.name + ".align.log")
    summary_path = out.with_name(out.name + ".align.json")
    started = time.time()
    with _logging_to(log_path) as log:
        try:
            index = _discover(features, naming)
            mods = [m.casefold() for m in (modality or index.modalities)]
            fit_ids = None
            if fit_on is not None:
                try:
                    fit_ids = [s.strip() for s in fit_on.read_text("utf-8").splitlines()]
                except OSError as exc:
                    raise FeatAlignError(f"cannot read: {exc}", source=str(fit_on)) from None
                fit_ids = [s for s in fit_ids if s]
            norms = None
            if normalisers is not None:
                norms = {m: Normaliser.load(normalisers / f"{m}.json") for m in mods}
            summary = build_frame_store(
                [str(t) for t in tracks],
                index,
                out,
                schema=_schemas(schema, mods),
                modalities=mods,
                max_gap_s=max_gap_s,
                normalisers=norms,
                fit_on=fit_ids,
                overwrite=overwrite,
                progress=True,
            )
        except FeatAlignError as exc:
            log.error("%s", exc)
            _write_summary(summary_path, {"ok": False, "error": str(exc)})
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        data = {"ok": True, "seconds": round(time.time() - started, 3), **summary.to_dict()}
        _write_summary(summary_path, data)
        log.info("wrote %s: %d edits, %d frames", out, len(summary.edits), summary.n_frames)
    typer.echo(
        f"{out}: {len(summary.edits)} edits, {summary.n_frames} frames, modalities "
        f"{summary.modalities}; {len(summary.failures)} failures (see {summary_path.name})"
    )


@app.command()
def validate(
    features: Path = typer.Argument(..., help="features folder"),
    out: Path = typer.Option(Path("featalign-report"), "--out", "-o", help="report folder"),
    schema: Path | None = typer.Option(None, help="TOML feature schema"),
    tracks: list[Path] | None = typer.Option(None, help="track tables: report missing modalities"),
    max_gap_s: float | None = typer.Option(None, help="gap length counted in the report"),
    naming: list[str] | None = typer.Option(None, help=NAMING_HELP),
) -> None:
    """Check every feature file; write report.csv, report.md, validate.log, summary.json."""
    from featalign.errors import FeatAlignError
    from featalign.store import read_track_tables
    from featalign.validate import validate_corpus, write_corpus_report

    with _logging_to(out / "validate.log") as log:
        try:
            index = _discover(features, naming)
            videos = None
            if tracks:
                tables, failures = read_track_tables([str(t) for t in tracks])
                for f in failures:
                    log.error("%s", f["error"])
                videos = [
                    str(v)
                    for _, t in tables
                    if "source_video_name" in t
                    for v in t["source_video_name"].dropna().unique()
                ]
            report = validate_corpus(
                index, _schemas(schema, index.modalities), videos, max_gap_s, progress=True
            )
            csv_path, md_path = write_corpus_report(report, out)
        except FeatAlignError as exc:
            log.error("%s", exc)
            _write_summary(out / "summary.json", {"ok": False, "error": str(exc)})
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        counts = {k: int(v) for k, v in report.status.value_counts().items()}
        _write_summary(
            out / "summary.json",
            {"ok": counts.get("error", 0) == 0, "files": len(report), "status": counts,
             "warnings": index.warnings, "report_csv": str(csv_path), "report_md": str(md_path)},
        )  # fmt: skip
        log.info("validated %d files: %s", len(report), counts)
    typer.echo(f"{len(report)} rows: {counts}; report in {md_path}")
    if counts.get("error", 0):
        raise typer.Exit(1)
