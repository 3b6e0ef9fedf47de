"""One config on many editors: build -> train -> evaluate each editor of an `xmlai synth
--styles` folder (or any folder of corpora with a styles.json) and one table against the
targets, so defaults are chosen on some editors and reported on others.

    OUT/<editor>/build, run, evaluation    as `xmlai run` writes them
    OUT/editors.json, editors.md           per editor and track: the model, the baselines, targets
    OUT/editors.log
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from xmlai.config import RunConfig
from xmlai.runlog import PipelineError, held_output, log, logging_to, write_json, write_text

# the targets, per feature-driven track (cuts) and per edit (assets, placement, feel)
TARGETS = {
    "boundary_f1_0.5s": 0.9,
    "boundary_f1_2frames": 0.8,
    "asset_macro_f1": 0.95,
    "scale_mae_pct": 3.0,  # below
    "position_mae_pct": 2.0,  # below
    "jitter_ratio": 1.5,  # at most
    "keyframes_ratio": 2.0,  # within this factor either way
}
CUT_COLUMNS = ("boundary_f1_2frames", "boundary_f1_0.5s", "boundary_f1_sample")


def across_editors(
    styles_dir, out_dir, config: RunConfig, only: list[str] | None = None, overwrite=False
) -> dict:
    """Every editor (or those named in `only`) with `config`; each editor's own
    data.feature_naming comes from styles.json. A failing editor is reported, not fatal."""
    from xmlai.build import build
    from xmlai.evaluate import evaluate
    from xmlai.train import train

    styles_dir, out = Path(styles_dir), Path(out_dir)
    entries = _entries(styles_dir, only)
    started, rows, failures = time.perf_counter(), [], []
    with held_output(out, overwrite, "editors"), logging_to(out / "editors.log"):
        for entry in entries:
            name, corpus = entry["name"], styles_dir / entry["folder"]
            cfg = copy.deepcopy(config)
            cfg.data.feature_naming = list(entry.get("feature_naming") or [])
            here = out / name
            try:
                build(corpus / "xml", corpus / "features", here / "build", cfg, progress=False)
                train(here / "build", here / "run", cfg)
                metrics = evaluate(here / "build", here / "run", here / "evaluation", cfg)
            except PipelineError as exc:
                log.error("%s: %s", name, exc)
                failures.append({"editor": name, "error": str(exc)})
                continue
            rows += editor_rows(name, entry.get("tracks"), metrics)
        summary = {
            "styles": str(styles_dir),
            "editors": [e["name"] for e in entries],
            "failures": failures,
            "rows": rows,
            "targets": TARGETS,
            "tracks_meeting_targets": sum(not r["missed"] for r in rows),
            "tracks": len(rows),
            "seconds": round(time.perf_counter() - started, 1),
        }
        write_json(out / "editors.json", summary)
        write_text(out / "editors.md", render(summary))
    return summary


def _entries(styles_dir: Path, only: list[str] | None) -> list[dict]:
    path = styles_dir / "styles.json"
    if not path.is_file():
        raise PipelineError(f"{styles_dir}: no styles.json (write one with `xmlai synth --styles`)")
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["editors"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PipelineError(f"{path}: not a styles manifest ({exc})") from None
    if only:
        unknown = sorted(set(only) - {e["name"] for e in entries})
        if unknown:
            raise PipelineError(f"{path}: no editor named {unknown}")
        entries = [e for e in entries if e["name"] in only]
    return entries


def editor_rows(name: str, kinds: list[str] | None, metrics: dict) -> list[dict]:
    """One row per track the held-out edits show: the model's figures, the best baseline's
    cut F1, and the targets it misses."""
    rows = []
    for track, scores in metrics["tracks"].items():
        model = scores["model"]
        baselines = {
            k: scores[k] for k in ("baseline", "dead_air_cutter", "boosted") if k in scores
        }
        index = int(track[1:]) - 1
        row = {
            "editor": name,
            "track": track,
            "kind": kinds[index] if kinds and index < len(kinds) else "",
            **{c: model.get(c) for c in ("frame_f1", *CUT_COLUMNS, "asset_macro_f1")},
            "scale_mae_pct": model["scale_mae_pct"],
            "position_mae_pct": model["position_mae_pct"],
            "jitter_ratio": _ratio(model["jitter"], model["jitter_editor"]),
            "keyframes_ratio": _ratio(
                model["keyframes_per_min"], model["keyframes_per_min_editor"]
            ),
            "best_baseline": {
                c: max((b.get(c) or 0.0 for b in baselines.values()), default=0.0)
                for c in ("frame_f1", *CUT_COLUMNS)
            },
        }
        row["missed"] = missed_targets(row)
        rows.append(row)
    return rows


def _ratio(value: float, reference: float) -> float | None:
    if reference and reference > 0:
        return value / reference
    return None if value else 1.0


def missed_targets(row: dict) -> list[str]:
    missed = [c for c in ("boundary_f1_0.5s", "boundary_f1_2frames", "asset_macro_f1")
              if (row[c] or 0.0) < TARGETS[c]]  # fmt: skip
    missed += [c for c in ("scale_mae_pct", "position_mae_pct") if row[c] >= TARGETS[c]]
    if row["jitter_ratio"] is not None and row["jitter_ratio"] > TARGETS["jitter_ratio"]:
        missed.append("jitter_ratio")
    kf = row["keyframes_ratio"]
    if kf is not None and not 1 / TARGETS["keyframes_ratio"] <= kf <= TARGETS["keyframes_ratio"]:
        missed.append("keyframes_ratio")
    missed += [f"beats baselines on {c}" for c in CUT_COLUMNS[:2]
               if (row[c] or 0.0) <= row["best_baseline"][c]]  # fmt: skip
    return missed


def render(summary: dict) -> str:
    def num(v, digits=3):
        return "" if v is None else f"{v:.{digits}f}"

    lines = [
        "# One config across editors",
        "",
        f"{summary['tracks_meeting_targets']} of {summary['tracks']} tracks meet every target "
        f"({len(summary['editors'])} editors from {summary['styles']}, "
        f"{summary['seconds']:.0f} s). Cut F1 is the model's, with the best baseline's "
        "(always-on, dead-air cutter, gradient-boosted) after the slash.",
        "",
        "| editor | track | kind | frame F1 | cut F1 ±2 f | ±0.5 s | ±1 sample | asset F1 "
        "| scale MAE % | pos MAE % | jitter x | keyframes x | missed |",
        "|" + "---|" * 13,
    ]
    for r in summary["rows"]:
        best = r["best_baseline"]
        cuts = [f"{num(r[c])} / {num(best[c])}" for c in CUT_COLUMNS]
        lines.append(
            f"| {r['editor']} | {r['track']} | {r['kind']} | {num(r['frame_f1'])} | "
            + " | ".join(cuts)
            + f" | {num(r['asset_macro_f1'])} | {num(r['scale_mae_pct'], 2)} | "
            f"{num(r['position_mae_pct'], 2)} | {num(r['jitter_ratio'], 2)} | "
            f"{num(r['keyframes_ratio'], 2)} | {', '.join(r['missed']) or '-'} |"
        )
    for f in summary["failures"]:
        lines.append(f"\n{f['editor']} failed: {f['error']}")
    return "\n".join(lines) + "\n"
