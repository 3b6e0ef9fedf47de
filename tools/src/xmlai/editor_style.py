"""The editor's habits, learned from their training edits, so smoothing can finish a prediction
the way they would: no segment or gap shorter than they ever make, parameters they never move
inside a segment held constant, and plateaus on the values they actually use (100 %, 130 %, a
corner position) instead of 129.3 %.

Stored as JSON in the run folder (`inputs.json`, key "style"); durations are in seconds so one
style serves edits at any frame rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import pairwise

import numpy as np

from trackcore import ACTIVE, N_PARAMETERS, PARAMETERS
from xmlai.smooth import PARAM_TOLERANCE, TRACK_WIDTH, segments

N_PARAMS = N_PARAMETERS  # the track layout's regression parameters (trackcore.layout)
LEVEL_SHARE = 0.05  # a value held on at least this share of a track's active frames is a level
CONSTANT_SHARE = 0.98  # a parameter that stays put in this share of segments is held constant
FASTEST_QUANTILE = 0.999  # the editor's fastest move, ignoring the odd one-frame jump


@dataclass
class TrackStyle:
    min_on_s: float | None = None  # the shortest active run the editor makes
    min_off_s: float | None = None  # the shortest gap between two of their runs
    levels: list[list[float]] = field(default_factory=lambda: [[] for _ in range(N_PARAMS)])
    constant: list[bool] = field(default_factory=lambda: [False] * N_PARAMS)
    # the fastest the editor moves a parameter inside a segment, in units per second
    max_rate: list[float | None] = field(default_factory=lambda: [None] * N_PARAMS)
    # the P(on) level this track's hysteresis band is centred on, chosen on the validation
    # edits (xmlai.calibrate); None: the configured thresholds
    level: float | None = None
    # how much shorter than min_on_s / min_off_s a predicted segment or gap may be before
    # smoothing cleans it away, chosen with `level` (xmlai.calibrate); None: MIN_LENGTH_SLACK
    length_slack: float | None = None
    # per parameter held constant on two or more levels: the ascending lines between them that
    # place a segment's median prediction on a level, chosen on the validation edits
    # (xmlai.calibrate); empty: snap to the nearest level within tolerance
    cut_points: list[list[float]] = field(default_factory=lambda: [[] for _ in range(N_PARAMS)])

    def levels_array(self, p: int) -> np.ndarray:
        return np.asarray(self.levels[p], dtype=np.float64)


@dataclass
class EditorStyle:
    tracks: list[TrackStyle]

    def to_dict(self) -> dict:
        return {"tracks": [asdict(t) for t in self.tracks]}

    @classmethod
    def from_dict(cls, data: dict | None, n_tracks: int) -> EditorStyle:
        """None or a style for another track count (an older run) -> no habits."""
        tracks = (data or {}).get("tracks") or []
        if len(tracks) != n_tracks:
            return cls.neutral(n_tracks)
        return cls([TrackStyle(**t) for t in tracks])

    @classmethod
    def neutral(cls, n_tracks: int) -> EditorStyle:
        return cls([TrackStyle() for _ in range(n_tracks)])


def learn_editor_style(edits: list[tuple[np.ndarray, float]]) -> EditorStyle:
    """edits: [(tracks (n, N*9) in table units, fps)] of the training set -> EditorStyle."""
    if not edits:
        raise ValueError("learn_editor_style needs at least one edit")
    n_tracks = edits[0][0].shape[1] // TRACK_WIDTH
    blocks = [(t.reshape(len(t), n_tracks, TRACK_WIDTH), fps) for t, fps in edits]
    return EditorStyle([_track_style(blocks, k) for k in range(n_tracks)])


def _track_style(blocks: list[tuple[np.ndarray, float]], k: int) -> TrackStyle:
    on_s, off_s, values, rates = [], [], [], []
    moving, segment_count = np.zeros(N_PARAMS), 0
    for b, fps in blocks:
        on = b[:, k, ACTIVE] > 0.5
        runs = segments(on)
        # runs touching an edit's ends may be clipped by the recording, not chosen
        on_s += [(e - s) / fps for s, e in runs if s > 0 and e < len(on)]
        off_s += [(s2 - e1) / fps for (_, e1), (s2, _) in pairwise(runs)]
        for s, e in runs:
            params = b[s:e, k, PARAMETERS]
            moving += np.ptp(params, axis=0) > PARAM_TOLERANCE
            segment_count += 1
            if e - s > 1:
                rates.append(np.abs(np.diff(params, axis=0)) * fps)
        values.append(b[on, k, PARAMETERS])
    if not segment_count:
        return TrackStyle()
    values = np.concatenate(values)
    rates = np.concatenate(rates) if rates else np.zeros((0, N_PARAMS))
    return TrackStyle(
        min_on_s=min(on_s, default=None),
        min_off_s=min(off_s, default=None),
        levels=[_levels(values[:, p], PARAM_TOLERANCE[p]) for p in range(N_PARAMS)],
        constant=(moving <= (1 - CONSTANT_SHARE) * segment_count).tolist(),
        max_rate=[
            float(np.quantile(rates[:, p], FASTEST_QUANTILE)) if len(rates) else None
            for p in range(N_PARAMS)
        ],
    )


def _levels(values: np.ndarray, resolution: float) -> list[float]:
    """Values the editor holds on at least LEVEL_SHARE of the active frames."""
    bins = np.round(values / resolution).astype(np.int64)
    keys, counts = np.unique(bins, return_counts=True)
    levels = []
    for key in keys[counts >= LEVEL_SHARE * len(values)]:
        levels.append(float(np.median(values[bins == key])))
    return levels
