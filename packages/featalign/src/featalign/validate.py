"""Validate feature files one by one and as a corpus; write the report as CSV and Markdown."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from featalign.alignment import default_max_gap
from featalign.errors import FeatAlignError
from featalign.matching import FeatureIndex, discover_features
from featalign.normalise import write_text_atomic
from featalign.schema import FeatureSchema
from featalign.tables import load_features

log = logging.getLogger("featalign")

REPORT_COLUMNS = [
    "video", "modality", "file", "status", "rows", "duration_s", "rate_hz", "n_columns",
    "continuous", "binary", "discrete", "embedding", "dropped", "nonfinite_values",
    "bad_time_rows", "duplicate_rows", "unsorted", "gaps", "longest_gap_s", "message",
]  # fmt: skip


def validate_features(
    table, schema: FeatureSchema | None = None, max_gap_s: float | None = None
) -> dict:
    """One feature file (path or DataFrame) -> a report row; errors become status 'error'."""
    schema = schema or FeatureSchema()
    row = dict.fromkeys(REPORT_COLUMNS)
    row["file"] = str(table) if not isinstance(table, pd.DataFrame) else "<table>"
    try:
        ft = load_features(table, schema)
    except FeatAlignError as exc:
        row.update(status="error", message=str(exc))
        return row
    t = ft.times
    dt = np.diff(t)
    limit = default_max_gap(t) if max_gap_s is None else max_gap_s
    kinds = Counter(ft.resolved.kinds.values())
    warnings = list(ft.warnings)
    long = dt[dt > schema.gap_warn_s]
    if len(long):
        warnings.append(f"{len(long)} gaps longer than {schema.gap_warn_s:g} s")
    row.update(
        status="warning" if warnings else "ok",
        rows=len(t),
        duration_s=float(t[-1] - t[0]),
        rate_hz=float(1.0 / np.median(dt)) if len(dt) else float("nan"),
        n_columns=len(ft.columns),
        continuous=kinds.get("continuous", 0),
        binary=kinds.get("binary", 0),
        discrete=kinds.get("discrete", 0),
        embedding=" ".join(f"{g}:{len(c)}" for g, c in ft.resolved.groups.items()),
        dropped=len(ft.resolved.dropped),
        nonfinite_values=sum(ft.nonfinite.values()),
        bad_time_rows=ft.bad_time_rows,
        duplicate_rows=ft.duplicate_rows,
        unsorted=ft.was_unsorted,
        gaps=int((dt > limit).sum()),
        longest_gap_s=float(dt.max()) if len(dt) else 0.0,
        message="; ".join(warnings),
    )
    return row


def validate_corpus(
    features: str | Path | FeatureIndex,
    schema: FeatureSchema | dict[str, FeatureSchema] | None = None,
    videos: list[str] | None = None,
    max_gap_s: float | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Every feature file in a folder -> one report row each. With `videos` (source video
    names from track tables) a video without some modality gets a 'missing' row."""
    index = features if isinstance(features, FeatureIndex) else discover_features(features)
    rows = []
    jobs = [(k, m, p) for k, mods in sorted(index.files.items()) for m, p in sorted(mods.items())]
    iterator = jobs
    if progress:
        from rich.progress import track

        iterator = track(jobs, description="validating")
    for key, modality, path in iterator:
        sch = schema.get(modality) if isinstance(schema, dict) else schema
        row = validate_features(path, sch, max_gap_s)
        row.update(video=key, modality=modality)
        rows.append(row)
        if row["status"] == "error":
            log.error("%s", row["message"])
    frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    # Dimension check: a file whose width differs from its modality's usual width.
    for _, group in frame[frame.status != "error"].groupby("modality"):
        usual = group.n_columns.mode().iloc[0]
        odd = group.index[group.n_columns != usual]
        for k in odd:
            note = f"dimension mismatch: {frame.at[k, 'n_columns']} columns, usually {usual}"
            frame.at[k, "status"] = "warning"
            frame.at[k, "message"] = "; ".join(filter(None, [frame.at[k, "message"], note]))
    if videos is not None:
        extra = []
        for v in sorted(set(videos)):
            have = index.lookup(v)
            for m in index.modalities:
                if m not in have:
                    extra.append({"video": v, "modality": m, "status": "missing",
                                  "message": "no feature file: mask 0 for this video"})  # fmt: skip
        if extra:
            frame = pd.concat([frame, pd.DataFrame(extra, columns=REPORT_COLUMNS)])
    return frame.reset_index(drop=True)


def write_corpus_report(report: pd.DataFrame, out_dir: str | Path) -> tuple[Path, Path]:
    """report.csv and report.md in out_dir, each written atomically."""
    out_dir = Path(out_dir)
    csv_path, md_path = out_dir / "report.csv", out_dir / "report.md"
    write_text_atomic(csv_path, report.to_csv(index=False))
    counts = report.status.value_counts().to_dict()
    lines = [
        "# featalign corpus report",
        "",
        f"{len(report)} rows: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
        "",
        "| " + " | ".join(REPORT_COLUMNS) + " |",
        "|" + "---|" * len(REPORT_COLUMNS),
    ]
    for row in report.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                text = str(int(v)) if v.is_integer() else f"{v:.3g}"
                cells.append("" if np.isnan(v) else text)
            else:
                cells.append("" if v is None else str(v).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    write_text_atomic(md_path, "\n".join(lines) + "\n")
    return csv_path, md_path
