"""The metrics of SPEC.md, on per-frame track blocks (n, N*9) of truth and prediction.

Every metric counts real frames only (the caller passes unpadded arrays). Regression errors are
measured on frames active in both truth and prediction; `coverage` says what share of the
truly active frames that is.
"""

from __future__ import annotations

import numpy as np

from trackcore import ACTIVE, ASSET, N_ASSETS, N_PARAMETERS, PARAMETER_NAMES, PARAMETERS, AssetRole
from xml2csv import DEFAULT_PARAMETERS, written_keyframes
from xmlai.smooth import NEUTRAL, TRACK_WIDTH, segments

PARAMETER_COLUMNS = tuple(p.column for p in DEFAULT_PARAMETERS)  # the block's PARAMETERS

ASSET_CLASSES = N_ASSETS
FIRST = PARAMETERS.start  # the block's column of the first parameter
SCALE, POS_X, POS_Y = (PARAMETER_NAMES.index(n) for n in ("scale", "pos_x", "pos_y"))
CROPS = [p for p, name in enumerate(PARAMETER_NAMES) if name.startswith("crop_")]


def f1(tp: float, fp: float, fn: float) -> float:
    if tp + fp + fn == 0:
        return 1.0  # nothing to find and nothing claimed
    return 2 * tp / (2 * tp + fp + fn)


def boundaries(active: np.ndarray) -> np.ndarray:
    """Frames where a track switches on or off (a cut on that track)."""
    a = active.astype(np.int8)
    return np.flatnonzero(a[1:] != a[:-1]) + 1


def boundary_f1(truth: np.ndarray, pred: np.ndarray, tolerance: int) -> tuple[float, int, int, int]:
    """Greedy one-to-one matching of boundaries within +-tolerance frames -> (F1, tp, fp, fn)."""
    t, p = boundaries(truth), boundaries(pred)
    used = np.zeros(len(p), dtype=bool)
    tp = 0
    for b in t:
        candidates = np.flatnonzero(~used & (np.abs(p - b) <= tolerance))
        if len(candidates):
            used[candidates[np.argmin(np.abs(p[candidates] - b))]] = True
            tp += 1
    return f1(tp, len(p) - tp, len(t) - tp), tp, len(p) - tp, len(t) - tp


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the classes present in truth (absent classes predicted count as FP)."""
    classes = np.unique(truth)
    if len(classes) == 0:
        return float("nan")
    scores = []
    for c in classes:
        tp = np.sum((truth == c) & (pred == c))
        scores.append(
            f1(tp, np.sum((truth != c) & (pred == c)), np.sum((truth == c) & (pred != c)))
        )
    return float(np.mean(scores))


def jitter(values: np.ndarray, active: np.ndarray) -> float:
    """Mean |second difference| per frame inside active segments."""
    total, count = 0.0, 0
    for start, end in segments(active):
        if end - start >= 3:
            d2 = np.abs(np.diff(values[start:end], n=2))
            total += d2.sum()
            count += len(d2)
    return total / count if count else 0.0


def keyframes(block: np.ndarray, active: np.ndarray) -> int:
    """The `<keyframe>`s the xmeml writer writes for one track's (n, 9) block, one item per
    active segment: what is counted is what a written edit holds."""
    return sum(
        written_keyframes({c: block[s:e, FIRST + p] for p, c in enumerate(PARAMETER_COLUMNS)})
        for s, e in segments(active)
    )


class Accumulator:
    """Collects counts over edits for one track, then reports the metrics."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.b2 = np.zeros(3)  # tp, fp, fn within +-2 frames
        self.bs = np.zeros(3)  # within +-0.5 s
        self.bsample = np.zeros(3)  # within one sample period of the coarsest modality
        self.sampled = False
        self.asset_truth: list[np.ndarray] = []
        self.asset_pred: list[np.ndarray] = []
        self.abs_err = np.zeros(N_PARAMETERS)
        self.both = 0
        self.truth_active = 0
        self.jitter_pred = self.jitter_truth = 0.0
        self.jitter_n = 0
        self.kf_pred = self.kf_truth = 0
        self.minutes = 0.0

    def add(self, truth: np.ndarray, pred: np.ndarray, fps: float, sample_frames=None) -> None:
        """truth, pred: (n, 9) blocks of one track on one edit; sample_frames: the coarsest
        feature's sample period there, in frames (a cut it drives cannot be placed closer)."""
        ta, pa = truth[:, ACTIVE] > 0.5, pred[:, ACTIVE] > 0.5
        self.tp += int(np.sum(ta & pa))
        self.fp += int(np.sum(~ta & pa))
        self.fn += int(np.sum(ta & ~pa))
        self.b2 += boundary_f1(ta, pa, 2)[1:]
        self.bs += boundary_f1(ta, pa, max(1, round(0.5 * fps)))[1:]
        if sample_frames is not None:
            # never below the ±2 frame column: a fast feature sets no limit of its own
            self.bsample += boundary_f1(ta, pa, max(2, int(sample_frames)))[1:]
            self.sampled = True
        self.asset_truth.append(truth[ta, ASSET].astype(int))
        self.asset_pred.append(np.where(pa[ta], pred[ta, ASSET], AssetRole.NONE).astype(int))
        both = ta & pa
        self.abs_err += np.abs(truth[both, PARAMETERS] - pred[both, PARAMETERS]).sum(axis=0)
        self.both += int(both.sum())
        self.truth_active += int(ta.sum())
        for p in (SCALE, POS_X, POS_Y):  # scale and position drive the look; crops rarely move
            self.jitter_pred += jitter(pred[:, FIRST + p], pa)
            self.jitter_truth += jitter(truth[:, FIRST + p], ta)
        self.kf_pred += keyframes(pred, pa)
        self.kf_truth += keyframes(truth, ta)
        self.jitter_n += 1
        self.minutes += len(truth) / fps / 60

    def report(self) -> dict:
        # no frame active in both: there is nothing to measure, which is not an error of 0
        mae = self.abs_err / self.both if self.both else np.full(N_PARAMETERS, np.nan)
        return {
            "frames_active_truth": self.truth_active,
            "frame_f1": f1(self.tp, self.fp, self.fn),
            "boundary_f1_2frames": f1(*self.b2),
            "boundary_f1_0.5s": f1(*self.bs),
            "boundary_f1_sample": f1(*self.bsample) if self.sampled else None,
            "asset_macro_f1": macro_f1(
                np.concatenate(self.asset_truth or [np.zeros(0)]),
                np.concatenate(self.asset_pred or [np.zeros(0)]),
            ),
            "coverage": self.both / self.truth_active if self.truth_active else float("nan"),
            "scale_mae_pct": float(mae[SCALE]),
            "position_mae_pct": float((mae[POS_X] + mae[POS_Y]) / 2 * 100),
            "position_mae_px": float((mae[POS_X] * 1920 + mae[POS_Y] * 1080) / 2),
            "crop_mae_pct": float(mae[CROPS].mean()),
            "jitter": self.jitter_pred / max(self.jitter_n, 1),
            "jitter_editor": self.jitter_truth / max(self.jitter_n, 1),
            "keyframes_per_min": self.kf_pred / self.minutes if self.minutes else 0.0,
            "keyframes_per_min_editor": self.kf_truth / self.minutes if self.minutes else 0.0,
        }


def evaluate(pairs, n_tracks: int, sample_frames=None) -> dict:
    """pairs: iterable of (truth (n, N*9), pred (n, N*9), fps) -> {"tracks": {k: metrics}}.
    sample_frames: per pair, the coarsest feature's sample period in frames (or None)."""
    accs = [Accumulator() for _ in range(n_tracks)]
    pairs = list(pairs)
    periods = sample_frames if sample_frames is not None else [None] * len(pairs)
    for (truth, pred, fps), period in zip(pairs, periods, strict=True):
        t = truth.reshape(len(truth), -1, TRACK_WIDTH)
        p = pred.reshape(len(pred), -1, TRACK_WIDTH)
        for k in range(n_tracks):
            accs[k].add(t[:, k], p[:, k], fps, period)
    return {f"V{k + 1}": acc.report() for k, acc in enumerate(accs)}


# "main source", "main source overlay", ..., "unresolved": every role that shows something
ROLE_NAMES = {int(r): r.name.lower().replace("_", " ") for r in AssetRole if r != AssetRole.NONE}


def evaluate_roles(pairs) -> dict:
    """Per asset role (xml2csv.AssetRole): frame F1 of "some track shows this role" and the
    boundary F1 of when it appears and goes, within +-2 frames. pairs as for `evaluate`."""
    counts = {role: np.zeros(6) for role in ROLE_NAMES}  # frames tp fp fn, cuts tp fp fn
    truth_frames = dict.fromkeys(ROLE_NAMES, 0)
    for truth, pred, _fps in pairs:
        t = truth.reshape(len(truth), -1, TRACK_WIDTH)
        p = pred.reshape(len(pred), -1, TRACK_WIDTH)
        for role in ROLE_NAMES:
            shown = ((t[..., ACTIVE] > 0.5) & (np.rint(t[..., ASSET]) == role)).any(axis=1)
            claimed = ((p[..., ACTIVE] > 0.5) & (np.rint(p[..., ASSET]) == role)).any(axis=1)
            truth_frames[role] += int(shown.sum())
            counts[role][:3] += (
                np.sum(shown & claimed),
                np.sum(~shown & claimed),
                np.sum(shown & ~claimed),
            )
            counts[role][3:] += boundary_f1(shown, claimed, 2)[1:]
    return {
        ROLE_NAMES[role]: {
            "frames_truth": truth_frames[role],
            "frame_f1": f1(*counts[role][:3]),
            "boundary_f1_2frames": f1(*counts[role][3:]),
        }
        for role in ROLE_NAMES
        if truth_frames[role] or counts[role][1]
    }


def when_on(stacked: np.ndarray) -> np.ndarray:
    """(rows, N, 9) training frames -> (N, 9): per track, on, its most common asset and its
    mean parameters over the frames where it is on (the neutral values for a track never on)."""
    block = np.tile(NEUTRAL, (stacked.shape[1], 1)).astype(np.float64)
    for k in range(stacked.shape[1]):
        active = stacked[:, k, ACTIVE] > 0.5
        if active.any():
            assets = stacked[active, k, ASSET].astype(int)
            block[k, ACTIVE] = 1
            block[k, ASSET] = np.bincount(assets, minlength=ASSET_CLASSES).argmax()
            block[k, PARAMETERS] = stacked[active, k, PARAMETERS].mean(axis=0)
    return block


def baseline_predictor(train_blocks: list[np.ndarray], n_tracks: int):
    """Majority active and asset, mean parameters, per track, from the training edits."""
    stacked = np.concatenate(train_blocks).reshape(-1, n_tracks, TRACK_WIDTH)
    block = when_on(stacked)
    block[(stacked[:, :, ACTIVE] > 0.5).mean(axis=0) <= 0.5] = NEUTRAL  # off most of the time
    flat = block.reshape(-1)

    def predict(n_frames: int) -> np.ndarray:
        return np.tile(flat, (n_frames, 1))

    return predict


def style_counts(blocks: np.ndarray, fps: float) -> dict:
    """(n, N, 9) -> the raw sums behind keyframes per minute and scale jitter of one edit."""
    on = blocks[..., ACTIVE] > 0.5
    counts = {
        "keyframes": 0,
        "minutes": on.any(axis=1).sum() / fps / 60,
        "jitter": 0.0,
        "tracks": 0,
    }
    for k in np.flatnonzero(on.any(axis=0)):
        counts["keyframes"] += keyframes(blocks[:, k], on[:, k])
        counts["jitter"] += jitter(blocks[:, k, FIRST + SCALE], on[:, k])
        counts["tracks"] += 1
    return counts


def style_summary(counts: list[dict]) -> dict:
    """Keyframes per minute and mean scale jitter over edits (None where undefined)."""
    minutes = sum(c["minutes"] for c in counts)
    tracks = sum(c["tracks"] for c in counts)
    return {
        "keyframes_per_min": float(sum(c["keyframes"] for c in counts) / minutes)
        if minutes
        else None,
        "scale_jitter": float(sum(c["jitter"] for c in counts) / tracks) if tracks else None,
    }
