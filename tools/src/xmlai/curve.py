"""How many edits does it need? One build, then a model trained on the first 10, 20, 40, 80
of its training edits (a seeded order; smaller sets are inside the larger ones), each evaluated
on the same test edits: the first question an editor with a few dozen timelines asks."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from xmlai.config import RunConfig
from xmlai.runlog import PipelineError, held_output, log, logging_to, write_json, write_text

CURVE_SUMMARY = "curve.json"
DEFAULT_COUNTS = (10, 20, 40, 80)
CURVE_METRICS = ("frame_f1", "boundary_f1_2frames", "boundary_f1_0.5s", "asset_macro_f1")


def learning_curve(xml_dir, features_dir, out_dir, config: RunConfig, counts=DEFAULT_COUNTS,
                   overwrite: bool = False) -> dict:  # fmt: skip
    from xmlai.build import build
    from xmlai.evaluate import evaluate
    from xmlai.train import train

    started, out = time.perf_counter(), Path(out_dir)
    counts = sorted({int(c) for c in counts})
    if not counts or counts[0] < 1:
        raise PipelineError(f"--counts needs whole numbers >= 1, got {counts}")
    with held_output(out, overwrite, "curve"), logging_to(out / "curve.log"):
        build(xml_dir, features_dir, out / "build", config)
        split = json.loads((out / "build" / "split.json").read_text())
        order = sorted(split["train"])
        random.Random(config.data.seed).shuffle(order)
        usable = [c for c in counts if c <= len(order)]
        if not usable:
            raise PipelineError(f"only {len(order)} training edits; --counts starts at {counts[0]}")
        for skipped in sorted(set(counts) - set(usable)):
            log.warning("curve: %d edits asked for, only %d train; skipped", skipped, len(order))
        points = []
        for count in usable:
            run = out / "runs" / f"edits-{count:04d}"
            train(out / "build", run, config, train_edits=order[:count])
            metrics = evaluate(out / "build", run, run / "evaluation", config)
            points.append({"edits": count, "tracks": _track_metrics(metrics)})
            log.info("curve: %d edits -> %s", count, points[-1]["tracks"])
        summary = {
            "counts": usable,
            "skipped_counts": sorted(set(counts) - set(usable)),
            "test_edits": split.get("test") or split["val"],
            "points": points,
            "seconds": round(time.perf_counter() - started, 1),
        }
        write_json(out / CURVE_SUMMARY, summary)
        write_text(out / "curve.md", render_curve(summary))
        plot_curve(summary, out / "curve.png")
    return summary


def _track_metrics(metrics: dict) -> dict:
    return {
        track: {key: pair["model"][key] for key in CURVE_METRICS}
        for track, pair in metrics["tracks"].items()
    }


def render_curve(summary: dict) -> str:
    tracks = sorted({t for p in summary["points"] for t in p["tracks"]})
    lines = [
        "# How many edits does it need?",
        "",
        f"Test edits: {len(summary['test_edits'])}. Cut F1 within ±2 frames per track:",
        "",
        "| edits | " + " | ".join(tracks) + " |",
        "|---|" + "---|" * len(tracks),
    ]
    for point in summary["points"]:
        cells = [
            f"{point['tracks'][t]['boundary_f1_2frames']:.3f}" if t in point["tracks"] else "n/a"
            for t in tracks
        ]
        lines.append(f"| {point['edits']} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", "![curve](curve.png)", ""])


def plot_curve(summary: dict, path: Path) -> bool:
    from xmlai.report import _pyplot, _save

    plt = _pyplot()
    if plt is None:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    tracks = sorted({t for p in summary["points"] for t in p["tracks"]})
    for ax, key, title in zip(axes, ("boundary_f1_2frames", "frame_f1"),
                              ("cut F1 ±2 frames", "frame F1"), strict=True):  # fmt: skip
        for track in tracks:
            xs = [p["edits"] for p in summary["points"] if track in p["tracks"]]
            ys = [p["tracks"][track][key] for p in summary["points"] if track in p["tracks"]]
            ax.plot(xs, ys, marker="o", label=track)
        ax.set_xscale("log")
        ax.set_xticks(summary["counts"], [str(c) for c in summary["counts"]])
        ax.minorticks_off()
        ax.set_xlabel("training edits")
        ax.set_title(title)
        ax.set_ylim(0, 1.02)
    axes[0].legend()
    fig.tight_layout()
    _save(fig, plt, path)
    return True
