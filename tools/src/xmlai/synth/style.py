"""The demo editor's style: deterministic rules from features to a track table (the rules
themselves, for this editor and every other, are in `editors`).

Every rule reads the features as the model will see them at the edit frame (values looked up
at `source_timestamp` the way featalign aligns them, 0 where a modality is missing), so a
model that sees the features can reproduce the edit:

  cut    V1 (role 1) drops dead air: a run of source frames with audio present, is_speaking 0
         and rms < 0.1 lasting >= 1.5 s is removed, keeping 0.25 s at each end
  zoom   V1 scale 100 -> 130 % while motion >= 0.5, ramping 0.4 s up and 0.4 s down
  cam    V2 (role 2, same source) while is_speaking == 1 and face_count >= 1: scale 35 %,
         cropped to the webcam region, in the corner where face_x/face_y put the webcam
  still  V3 (role 4) while rms >= 0.6 (loud peaks last ~1 s): scale 60 %, top centre
  title  V4 (role 5) while text_present == 1: scale 100 %, lower third
Binary rules are cleaned in edit frames: gaps < 0.3 s between segments are filled, then
segments < 0.3 s are dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from itertools import pairwise

import numpy as np
import pandas as pd

import trackcore
from trackcore import ACTIVE, ASSET, FIELD_NAMES

PARAMS = trackcore.PARAMETER_NAMES  # scale, pos_x, pos_y, crop l/r/t/b (the track layout)
NEUTRAL = trackcore.PARAMETER_NEUTRAL
META_COLUMNS = list(trackcore.META_COLUMNS)
ROLE_FIELDS = (FIELD_NAMES[ACTIVE], FIELD_NAMES[ASSET])
RULE_FEATURES = ("is_speaking", "rms", "motion", "face_count", "face_x", "face_y", "text_present")


@dataclass(frozen=True)
class Style:
    # dead air (source frames)
    dead_rms: float = 0.1
    dead_min_s: float = 1.5
    dead_pad_s: float = 0.25
    # zoom on action (V1)
    action_motion: float = 0.5
    zoom_scale: float = 130.0
    zoom_ramp_s: float = 0.4
    # facecam (V2): webcam region 50 % x 60 % of the source, 2 % from its corner
    cam_scale: float = 35.0
    cam_pos: float = 0.30  # |pos_x| = |pos_y|; sign from the webcam corner
    cam_crop_far: float = 48.0  # crop of the edges away from the webcam corner, left/right
    cam_crop_far_v: float = 38.0  # ... top/bottom
    cam_crop_near: float = 2.0
    # still image (V3) and title (V4)
    loud_rms: float = 0.6
    still_scale: float = 60.0
    still_pos: tuple[float, float] = (0.0, -0.2)
    title_scale: float = 100.0
    title_pos: tuple[float, float] = (0.0, 0.35)
    # cleaning of binary rules (edit frames)
    min_gap_s: float = 0.3
    min_segment_s: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


def frames_of(seconds: float, fps: Fraction) -> int:
    return max(1, round(seconds * float(fps)))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[(start, end)) of the True runs."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def clean(mask: np.ndarray, min_gap: int, min_segment: int) -> np.ndarray:
    """Fill interior gaps shorter than `min_gap` frames, then drop runs shorter than
    `min_segment` frames."""
    out = mask.astype(bool).copy()
    for (_, end), (start, _) in pairwise(runs(out)):
        if start - end < min_gap:
            out[end:start] = True
    for start, end in runs(out):
        if end - start < min_segment:
            out[start:end] = False
    return out


def zoom_level(action: np.ndarray, fps: Fraction, ramp_s: float) -> np.ndarray:
    """0..1 per frame: moves toward 1 while `action`, toward 0 otherwise, at a constant rate
    that covers the distance in ramp_s."""
    step = 1.0 / frames_of(ramp_s, fps)
    level = np.empty(len(action))
    current = 0.0
    for f, on in enumerate(action.tolist()):
        current = min(1.0, current + step) if on else max(0.0, current - step)
        level[f] = current
    return level


@dataclass
class EditTracks:
    """The rule outputs per edit frame (n,) and the per-track parameter blocks."""

    active: dict[int, np.ndarray]  # track -> bool (n,)
    asset: dict[int, int]  # track -> role id
    params: dict[int, np.ndarray]  # track -> (n, 7)


def track_table(
    tracks: EditTracks,
    edit_id: str,
    source_video_name: str,
    fps: Fraction,
    source_frames: np.ndarray,
    n_tracks: int = trackcore.DEFAULT_N_TRACKS,
) -> pd.DataFrame:
    """The SPEC track table (meta + n_tracks x 9 columns); inactive cells are neutral."""
    n = len(source_frames)
    roles = np.zeros((n, n_tracks, 2), dtype=np.int8)  # active, asset
    values = np.empty((n, n_tracks, len(PARAMS)))
    values[:] = NEUTRAL
    for k, active in tracks.active.items():
        if k > n_tracks:
            continue
        roles[active, k - 1] = (1, tracks.asset[k])
        values[active, k - 1] = tracks.params[k][active]
    meta = pd.DataFrame(
        {
            "edit_id": edit_id,
            "source_video_name": source_video_name,
            "frame": np.arange(n, dtype=np.int64),
            # the same float expressions as xml2csv.sample, so the columns compare exactly
            "timestamp": (np.arange(n, dtype=np.float64) * fps.denominator) / fps.numerator,
            "source_timestamp": source_frames * (fps.denominator / fps.numerator),
        }
    )
    tracks_range = range(1, n_tracks + 1)
    role_names = [f"t{k:02d}_{c}" for k in tracks_range for c in ROLE_FIELDS]
    value_names = [f"t{k:02d}_{c}" for k in tracks_range for c in PARAMS]
    order = trackcore.track_columns(n_tracks)
    blocks = [
        meta,
        pd.DataFrame(roles.reshape(n, -1), columns=role_names, copy=False),
        pd.DataFrame(values.reshape(n, -1), columns=value_names, copy=False),
    ]
    return pd.concat(blocks, axis=1).reindex(columns=META_COLUMNS + order)
