"""report.md and the pictures: training curves, and truth against prediction as lanes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from trackcore import ACTIVE, ASSET, N_ASSETS, field_index
from trackcore.atomic import atomic_path
from xmlai.smooth import TRACK_WIDTH, segments

SCALE = field_index("scale")
# short names and colours of the asset roles (trackcore.AssetRole), for the lanes' legend
ROLE_NAMES = [
    "none",
    "main",
    "main overlay",
    "other video",
    "still",
    "text",
    "matte",
    "nested",
    "graphic",
    "unresolved",
]
ROLE_COLOURS = [
    "#cccccc",
    "#1f77b4",
    "#17becf",
    "#9467bd",
    "#ff7f0e",
    "#2ca02c",
    "#7f7f7f",
    "#8c564b",
    "#e377c2",
    "#d62728",
]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _save(fig, plt, path: Path) -> None:
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)


def plot_training(trainer_dir: Path, path: Path) -> bool:
    plt = _pyplot()
    metrics = trainer_dir / "metrics.csv"
    if plt is None or not metrics.exists():
        return False
    rows = list(csv.DictReader(metrics.open()))
    if not rows:
        return False
    keys = [k for k in rows[0] if k.endswith("loss") or k.startswith(("train_", "val_"))]
    keys = [k for k in keys if all(_number(r[k]) is not None for r in rows)][:8]
    epochs = [int(float(r.get("epoch", n + 1))) for n, r in enumerate(rows)]
    fig, ax = plt.subplots(figsize=(8, 4))
    for key in keys:
        ax.plot(epochs, [_number(r[key]) for r in rows], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("training curves")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, plt, path)
    return True


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def plot_timeline(
    truth: np.ndarray, pred: np.ndarray, fps: float, title: str, path: Path, max_tracks: int = 5
) -> bool:
    """Tracks as lanes (truth above prediction, bars coloured by role), then scale and position."""
    plt = _pyplot()
    if plt is None:
        return False
    t = truth.reshape(len(truth), -1, TRACK_WIDTH)
    p = pred.reshape(len(pred), -1, TRACK_WIDTH)
    used = [k for k in range(t.shape[1]) if t[:, k, ACTIVE].any() or p[:, k, ACTIVE].any()]
    used = used[:max_tracks]
    if not used:
        return False
    seconds = np.arange(len(t)) / fps
    fig, axes = plt.subplots(
        3,
        1,
        figsize=(12, 2 + 1.2 * len(used)),
        sharex=True,
        gridspec_kw={"height_ratios": [len(used), 1.2, 1.2]},
    )
    lanes = axes[0]
    for row, k in enumerate(used):
        for offset, block, label in ((0.42, t, "truth"), (0.0, p, "pred")):
            for start, end in segments(block[:, k, ACTIVE] > 0.5):
                role = int(np.bincount(block[start:end, k, ASSET].astype(int)).argmax())
                lanes.broken_barh(
                    [(start / fps, (end - start) / fps)],
                    (row + offset, 0.38),
                    color=ROLE_COLOURS[role % N_ASSETS],
                )
            lanes.text(
                -0.01,
                row + offset + 0.19,
                f"V{k + 1} {label}",
                ha="right",
                va="center",
                fontsize=7,
                transform=lanes.get_yaxis_transform(),
            )
    lanes.set_yticks([])
    lanes.set_title(f"{title}: truth (upper) and prediction (lower) per track")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ROLE_COLOURS[1:8]]
    lanes.legend(handles, ROLE_NAMES[1:8], fontsize=7, ncol=7, loc="upper right")
    k = used[0]
    axes[1].plot(seconds, t[:, k, SCALE], label=f"V{k + 1} scale truth")
    axes[1].plot(seconds, p[:, k, SCALE], "--", label=f"V{k + 1} scale pred")
    axes[1].set_ylabel("scale %")
    axes[1].legend(fontsize=7)
    k2 = used[1] if len(used) > 1 else used[0]
    for comp, name in ((field_index(n), n) for n in ("pos_x", "pos_y")):
        axes[2].plot(seconds, t[:, k2, comp], label=f"V{k2 + 1} {name} truth")
        axes[2].plot(seconds, p[:, k2, comp], "--", label=f"V{k2 + 1} {name} pred")
    axes[2].set_ylabel("position")
    axes[2].set_xlabel("seconds")
    axes[2].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    _save(fig, plt, path)
    return True


COLUMNS = [
    ("frame_f1", "frame F1", "{:.3f}"),
    ("boundary_f1_2frames", "cut F1 ±2f", "{:.3f}"),
    ("boundary_f1_0.5s", "cut F1 ±0.5s", "{:.3f}"),
    ("boundary_f1_sample", "cut F1 ±1 sample", "{:.3f}"),
    ("asset_macro_f1", "asset F1", "{:.3f}"),
    ("scale_mae_pct", "scale MAE %", "{:.2f}"),
    ("position_mae_pct", "pos MAE %", "{:.2f}"),
    ("position_mae_px", "pos MAE px", "{:.1f}"),
    ("crop_mae_pct", "crop MAE %", "{:.2f}"),
    ("jitter", "jitter", "{:.4f}"),
    ("keyframes_per_min", "kf/min", "{:.1f}"),
]


ROW_LABELS = {"boosted": "gradient-boosted", "dead_air_cutter": "dead-air cutter"}


def _held_out_kind(metrics: dict) -> str:
    if metrics.get("evaluated_on") == "test":
        return "the test split: neither training nor early stopping saw them"
    return "the validation split (the build has no test split): early stopping saw them"


def render_report(metrics: dict, pictures: list[str]) -> str:
    held = metrics["held_out_edits"]
    names = ", ".join(held[:8]) + ("…" if len(held) > 8 else "")
    lines = [
        "# xmlai evaluation",
        "",
        f"Held-out edits: {len(held)} ({names}), {_held_out_kind(metrics)}",
        "",
        "Model against the training-set baseline (majority active and asset, mean "
        "parameters, per track), a gradient-boosted per-frame model on windowed context "
        "features (LightGBM, smoothed like the model) and, on V1, a dead-air cutter (cut "
        "silences longer than a threshold, keep a margin; column, level, length and margin "
        "fitted on the training edits). Regression errors on frames active in both; jitter "
        "and keyframes per minute beside the editor's own.",
        "",
    ]
    lines += [f"![{p}]({p})" for p in pictures[:1]] + [""]
    header = "| track | who | " + " | ".join(c[1] for c in COLUMNS) + " |"
    lines += [header, "|" + "---|" * (len(COLUMNS) + 2)]
    for track, pair in metrics["tracks"].items():
        for who in [w for w in ("model", "baseline", "boosted", "dead_air_cutter") if w in pair]:
            m = pair[who]
            cells = [
                fmt.format(m[key]) if _number(m.get(key)) is not None else "n/a"
                for key, _, fmt in COLUMNS
            ]
            label = {"boosted": "gradient-boosted", "dead_air_cutter": "dead-air cutter"}.get(
                who, who
            )
            lines.append(f"| {track} | {label} | " + " | ".join(cells) + " |")
        m = pair["model"]
        lines.append(
            f"| {track} | editor |{' |' * (len(COLUMNS) - 2)} {m['jitter_editor']:.4f} | "
            f"{m['keyframes_per_min_editor']:.1f} |"
        )
    lines += _beaten(metrics["tracks"])
    lines += _role_table(metrics.get("roles", {}))
    lines += ["", *[f"![{p}]({p})" for p in pictures[1:]], ""]
    return "\n".join(lines)


BASELINE_LABELS = {"baseline": "the training-set baseline", "boosted": "the gradient-boosted "
                   "baseline", "dead_air_cutter": "the dead-air cutter"}  # fmt: skip
BEATEN_COLUMNS = (("boundary_f1_2frames", "cut F1 ±2f"), ("boundary_f1_0.5s", "cut F1 ±0.5s"))


def _beaten(tracks: dict) -> list[str]:
    """Every track and cut column where a baseline does as well as the model or better, said
    in words: a weak model must not hide in a table."""
    found = []
    for track, pair in tracks.items():
        model = pair["model"]
        for who, label in BASELINE_LABELS.items():
            for key, name in BEATEN_COLUMNS:
                theirs = _number(pair.get(who, {}).get(key))
                if theirs is not None and theirs > 0 and theirs >= (_number(model.get(key)) or 0):
                    found.append(f"- {track}: {label} reaches {name} {theirs:.3f}, the model "
                                 f"{model.get(key) or 0:.3f}")  # fmt: skip
    if not found:
        return ["", "The model beats every baseline on cut F1 (±2 frames and ±0.5 s) of every "
                "track."]  # fmt: skip
    return ["", "Where the model does not beat a baseline:", "", *found]


def _role_table(roles: dict) -> list[str]:
    """Per asset role: is something of this kind on screen, frame by frame, and when it comes
    and goes (whatever track it is on)."""
    if not roles:
        return []
    lines = [
        "",
        "Per asset role (on any track): frame F1 of the role being on screen, and F1 of the "
        "frames where it appears or goes, within ±2 frames.",
        "",
        "| asset role | frames (truth) | frame F1 model | baseline | cut F1 ±2f model | baseline |",
        "|---|---|---|---|---|---|",
    ]
    for role, pair in roles.items():
        m, b = pair["model"], pair["baseline"]
        lines.append(
            f"| {role} | {m['frames_truth']} | {m['frame_f1']:.3f} | {b['frame_f1']:.3f} | "
            f"{m['boundary_f1_2frames']:.3f} | {b['boundary_f1_2frames']:.3f} |"
        )
    return lines
