"""Where the model was unsure, as sequence markers an editor can jump between in Premiere: a
stretch whose on/off probability hovers near the threshold, or an asset choice with a close
second. The model's confidence is the only input; nothing here changes the edit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackcore import ACTIVE
from xmlai.metrics import ROLE_NAMES
from xmlai.smooth import FIRST_ROLE, segments


@dataclass(frozen=True)
class ReviewConfig:
    band: float = 0.12  # probabilities this close to the decision level count as unsure
    min_seconds: float = 0.5  # shorter doubts are noise, not decisions
    close_second: float = 0.15  # an asset whose share is this close to the winner's
    max_markers: int = 100  # the most doubtful first; an editor reviews dozens, not thousands


@dataclass(frozen=True)
class Doubt:
    start: int  # source frames [start, end)
    end: int
    track: int  # 0-based
    score: float  # 0 (sure) .. 1 (a coin toss)
    comment: str


def review_doubts(
    active_prob: np.ndarray,
    asset_prob: np.ndarray,
    blocks: np.ndarray,
    level: float,
    fps: float,
    config: ReviewConfig = ReviewConfig(),
) -> list[Doubt]:
    """(n, N) P(active), (n, N, n_assets) asset probabilities and the smoothed (n, N, 9) edit -> the
    most doubtful decisions, in time order."""
    doubts = []
    for k in range(active_prob.shape[1]):
        doubts += track_doubts(
            active_prob[:, k], asset_prob[:, k], blocks[:, k], k, level, fps, config
        )
    return most_doubtful(doubts, config)


def track_doubts(active_prob, asset_prob, block, track: int, level: float, fps: float,
                 config: ReviewConfig = ReviewConfig()) -> list[Doubt]:  # fmt: skip
    """One track's doubts: (n,) P(active), (n, n_assets) asset shares, its smoothed (n, 9)
    block."""
    min_frames = max(1, round(config.min_seconds * fps))
    on = block[:, ACTIVE] > 0.5
    return [
        *_threshold_doubts(active_prob, on, track, level, min_frames, config),
        *_asset_doubts(asset_prob, block, track, min_frames, config),
    ]


def most_doubtful(doubts: list[Doubt], config: ReviewConfig = ReviewConfig()) -> list[Doubt]:
    """At most `max_markers`, the most doubtful first, returned in time order."""
    doubts = sorted(doubts, key=lambda d: -d.score)[: config.max_markers]
    return sorted(doubts, key=lambda d: (d.start, d.track))


def _threshold_doubts(prob, on, track, level, min_frames, config) -> list[Doubt]:
    near = np.abs(prob - level) < config.band
    doubts = []
    for start, end in segments(near):
        if end - start < min_frames:
            continue
        kept = on[start:end].mean() >= 0.5
        mean = float(prob[start:end].mean())
        verb = "kept" if kept else "left out"
        comment = f"V{track + 1} {verb} on a close call (P(on) {mean:.2f} for {end - start} frames)"
        score = 1 - abs(mean - level) / config.band
        doubts.append(Doubt(start, end, track, score, comment))
    return doubts


def _asset_doubts(shares, block, track, min_frames, config) -> list[Doubt]:
    """Within each segment the smoother gave one asset: is another nearly as likely?"""
    doubts = []
    for start, end in segments(block[:, ACTIVE] > 0.5):
        if end - start < min_frames:
            continue
        mean = shares[start:end, FIRST_ROLE:].mean(axis=0)  # role 0 ("none"): the on/off question
        first, second = np.argsort(mean)[::-1][:2]
        gap = float(mean[first] - mean[second])
        if gap >= config.close_second:
            continue
        chosen, other = ROLE_NAMES[int(first) + FIRST_ROLE], ROLE_NAMES[int(second) + FIRST_ROLE]
        comment = f"V{track + 1}: {chosen} or {other}? ({mean[first]:.2f} vs {mean[second]:.2f})"
        doubts.append(Doubt(start, end, track, 1 - gap / config.close_second, comment))
    return doubts


def to_sequence_markers(doubts: list[Doubt], kept: np.ndarray):
    """Source-frame doubts -> `xml2csv.Marker`s on the written sequence's frames (the frames
    kept before the doubt begins; a doubt wholly in a cut marks the cut as a point)."""
    from xml2csv import Marker

    n_sequence = int(kept.sum())
    kept_frames = np.flatnonzero(kept)
    markers = []
    for doubt in doubts:
        if n_sequence == 0:
            break
        first = int(np.searchsorted(kept_frames, doubt.start))
        start = min(first, n_sequence - 1)
        inside = kept[doubt.start : doubt.end]
        end = start + int(inside.sum())
        out = end if inside.any() and end > start else -1
        markers.append(Marker(f"review V{doubt.track + 1}", doubt.comment, start, out))
    return markers
