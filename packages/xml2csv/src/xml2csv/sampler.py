"""Timeline -> the per-frame track table of SPEC.md (and its per-source-frame view)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import trackcore
from trackcore import ACTIVE, ASSET, FIELD_NAMES
from xml2csv.errors import XmemlError
from xml2csv.model import Filter, Item, Sequence, Timeline
from xml2csv.params import DEFAULT_PARAMETERS, OPTIONAL_PARAMETERS, ParameterSpec, parameter_set
from xml2csv.reader import MAX_FRAMES
from xml2csv.roles import DEFAULT_RULES, AssetRules

PPRO_TICKS_PER_SECOND = 254_016_000_000
META_COLUMNS = list(trackcore.META_COLUMNS)
ROLE_FIELDS = (FIELD_NAMES[ACTIVE], FIELD_NAMES[ASSET])  # the integer columns of a block


def track_columns(n_tracks: int, parameters=DEFAULT_PARAMETERS) -> list[str]:
    """`t01_active, t01_asset, t01_scale, ...` in the order every table uses (with the default
    parameters, `trackcore.track_columns`)."""
    names = [*ROLE_FIELDS, *(spec.column for spec in parameters)]
    return [f"t{k:02d}_{name}" for k in range(1, n_tracks + 1) for name in names]


# what an inactive track holds: the layout's neutral values, an optional parameter's default
_NEUTRAL = {f.name: f.neutral for f in trackcore.TRACK_FIELDS} | {
    s.column: s.default for s in OPTIONAL_PARAMETERS.values()
}


def default_edit_id(timeline: Timeline) -> str:
    stem = Path(timeline.path).stem
    if len(timeline.top_level_names) > 1:
        return f"{stem}/{timeline.sequence.name}"
    return stem


def sample(
    timeline: Timeline,
    n_tracks: int = 20,
    extra_parameters: tuple[str, ...] | list[str] = (),
    rules: AssetRules = DEFAULT_RULES,
    edit_id: str | None = None,
    parameters: tuple[ParameterSpec, ...] | None = None,
) -> pd.DataFrame:
    """One row per sequence frame, `n_tracks` video tracks (V1 = t01, the bottom layer).

    `extra_parameters` adds registry columns by name ("rotation", "opacity"); `parameters`
    replaces the registry entirely for custom columns. Tracks above `n_tracks` are dropped
    and counted in `timeline.tracks_truncated`.
    """
    if n_tracks < 1:
        raise ValueError("n_tracks must be at least 1")
    specs = parameters if parameters is not None else parameter_set(extra_parameters)
    seq = timeline.sequence
    n = seq.duration
    main_id = timeline.main_source.file_id if timeline.main_source else None

    # Two dtype blocks, joined once at the end: building 180 columns one by one makes pandas
    # re-stack them, which costs more than everything else here.
    # Column-major (track, column, frame): pandas stores blocks this way, so the frame is
    # built without a copy, every column write is contiguous, and zero defaults cost nothing.
    roles = np.zeros((n_tracks, 2, n), dtype=np.int8)  # [:, 0] active, [:, 1] asset
    values = np.zeros((n_tracks, len(specs), n), dtype=np.float64)
    for p, spec in enumerate(specs):
        if spec.default != 0:
            values[:, p, :] = spec.default
    source_on_base = np.full(n, np.nan)
    source_elsewhere = np.full(n, np.nan)

    timeline.tracks_truncated = sum(
        1 for t in seq.tracks[n_tracks:] if t.enabled and any(i.enabled for i in t.items)
    )
    if timeline.base_track is not None and timeline.base_track > n_tracks:
        lost = (
            f"the main source's base track V{timeline.base_track} is above n_tracks={n_tracks}: "
            "no frame shows the main source (role 1), only overlays of it (role 2)"
        )
        if lost not in timeline.warnings:
            timeline.warnings.append(lost)
    for track in seq.tracks[:n_tracks]:
        if not track.enabled:
            continue
        col = track.index - 1
        on_base = track.index == timeline.base_track
        for item in track.items:
            lo, hi = max(item.visible_start, 0), min(item.visible_end, n)
            if not item.enabled or hi <= lo:
                continue
            roles[col, 0, lo:hi] = 1
            roles[col, 1, lo:hi] = rules.role_of(item, main_id, on_base)
            if item.filters:
                _write_parameters(item, lo, hi, values[col, :, lo:hi], specs, timeline.warnings)
            if main_id is not None and _may_show(item, main_id):
                seconds = _main_source_seconds(item, np.arange(lo, hi), seq, main_id)
                target = source_on_base if on_base else source_elsewhere
                target[lo:hi] = np.where(np.isnan(target[lo:hi]), seconds, target[lo:hi])
    source_ts = np.where(np.isnan(source_on_base), source_elsewhere, source_on_base)

    meta = pd.DataFrame(
        {
            "edit_id": _constant(edit_id or default_edit_id(timeline), n),
            "source_video_name": _constant(timeline.source_video_name, n),
            "frame": np.arange(n, dtype=np.int64),
            "timestamp": _timestamps(n, seq),
            "source_timestamp": source_ts,
        },
        index=pd.RangeIndex(n),
    )
    role_names = [f"t{k:02d}_{c}" for k in range(1, n_tracks + 1) for c in ROLE_FIELDS]
    value_names = [f"t{k:02d}_{s.column}" for k in range(1, n_tracks + 1) for s in specs]
    blocks = [
        meta,
        pd.DataFrame(roles.reshape(n_tracks * 2, n).T, columns=role_names, copy=False),
        pd.DataFrame(values.reshape(n_tracks * len(specs), n).T, columns=value_names, copy=False),
    ]
    table = pd.concat(blocks, axis=1)
    return table.reindex(columns=META_COLUMNS + track_columns(n_tracks, specs))


def sample_source_view(timeline: Timeline, table: pd.DataFrame | None = None, **kwargs):
    """One row per frame of the main source video: what the edit did with it.

    `kept` says whether that source frame appears in the edit; `sequence_frame` is the first
    sequence frame that shows it (-1 if none), and the track columns are taken from there
    (neutral where the frame was not kept). Takes `sample`'s keyword arguments.
    """
    table = sample(timeline, **kwargs) if table is None else table
    main = timeline.main_source
    fps = float((main.rate or timeline.sequence.rate).fps) if main else 1.0
    shown = table["source_timestamp"].to_numpy()
    valid = np.flatnonzero(~np.isnan(shown))
    src_frames = np.rint(shown[valid] * fps).astype(np.int64)
    n_src = main.duration if main is not None and main.duration else 0
    n_src = max(n_src, int(src_frames.max()) + 1 if len(src_frames) else 0)
    if n_src > MAX_FRAMES:
        raise XmemlError(
            f"main source is {n_src} frames long, more than the {MAX_FRAMES} "
            "(24 hours at 60 fps) a source view can hold",
            timeline.path,
            "file",
        )

    first_seq_frame = np.full(n_src, -1, dtype=np.int64)
    in_range = (src_frames >= 0) & (src_frames < n_src)
    # reversed assignment leaves the earliest sequence frame for repeated source frames
    first_seq_frame[src_frames[in_range][::-1]] = valid[in_range][::-1]
    kept = first_seq_frame >= 0

    track_cols = [c for c in table.columns if c not in META_COLUMNS]
    specs = kwargs.get("parameters") or ()
    defaults = _NEUTRAL | {spec.column: spec.default for spec in specs}
    neutral = [defaults.get(col.partition("_")[2], 0.0) for col in track_cols]
    body = np.tile(np.array(neutral), (n_src, 1))
    body[kept] = table[track_cols].to_numpy(dtype=np.float64)[first_seq_frame[kept]]
    view = pd.DataFrame(body, columns=track_cols)
    for col in track_cols:
        if col.partition("_")[2] in ROLE_FIELDS:
            view[col] = view[col].astype(np.int8)
    timestamps = np.arange(n_src) / fps
    meta = pd.DataFrame(
        {
            "edit_id": table["edit_id"].iloc[0] if len(table) else default_edit_id(timeline),
            "source_video_name": timeline.source_video_name,
            "frame": np.arange(n_src, dtype=np.int64),
            "timestamp": timestamps,
            "source_timestamp": timestamps,
            "kept": kept.astype(np.int8),
            "sequence_frame": first_seq_frame,
        }
    )
    return pd.concat([meta, view], axis=1)


def _constant(text: str, n: int) -> pd.Categorical:
    """A string column that is the same on every row costs one code per row."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[text])


def _timestamps(n: int, seq: Sequence) -> np.ndarray:
    fps = seq.fps
    return (np.arange(n, dtype=np.float64) * fps.denominator) / fps.numerator


def _is_clip_relative(item: Item, filters: list[Filter], warnings: list[str]) -> bool:
    """Keyframes written from 0 at the clip's start instead of on the media axis (some
    third-party writers): every `when` inside [0, out-in] and none inside [in, out]."""
    if item.keyframes_clip_relative is None:
        whens = [
            k.when
            for f in filters
            for p in f.parameters.values()
            for kfs in p.keyframes.values()
            for k in kfs
        ]
        length = item.out - item.in_
        item.keyframes_clip_relative = (
            bool(whens)
            and item.in_ > 0
            and all(0 <= w <= length for w in whens)
            and not any(item.in_ <= w <= item.out for w in whens)
        )
        if item.keyframes_clip_relative:
            warnings.append(
                f"line {item.line}: {item.name!r}: keyframes lie in [0, out-in], not [in, out]; "
                "read as clip-relative"
            )
    return item.keyframes_clip_relative


def _write_parameters(item: Item, lo: int, hi: int, out: np.ndarray, specs, warnings) -> None:
    """Fill `out` (len(specs), hi-lo), preset to defaults: keyframes on the media axis, else
    the static value; parameters the item does not set keep their default."""
    chosen = [
        next((f for f in item.filters if f.enabled and f.matches(spec.effect_ids)), None)
        for spec in specs
    ]
    media_axis = None
    for p, (spec, flt) in enumerate(zip(specs, chosen, strict=True)):
        param = flt.parameters.get(spec.parameter_id) if flt is not None else None
        if param is None:
            continue
        component = spec.component or ""
        kfs = param.keyframes.get(component)
        if kfs:
            if media_axis is None:
                used = list({id(f): f for f in chosen if f is not None}.values())
                origin = 0 if _is_clip_relative(item, used, warnings) else item.in_
                media_axis = origin + (np.arange(lo, hi) - item.start)
            whens = np.fromiter((k.when for k in kfs), float, len(kfs))
            vals = np.fromiter((k.value for k in kfs), float, len(kfs))
            out[p] = np.interp(media_axis, whens, vals)  # holds first/last outside
        elif component in param.value:
            out[p] = param.value[component]


def _may_show(item: Item, main_id: str) -> bool:
    return item.nested is not None or (item.file is not None and item.file.file_id == main_id)


def _main_source_seconds(item: Item, frames: np.ndarray, seq: Sequence, main_id: str):
    """Seconds into the main source shown by `item` at sequence frames `frames` (NaN if not)."""
    if item.nested is not None:
        return _nested_seconds(item.nested, item.in_ + (frames - item.start), main_id)
    if item.file is None or item.file.file_id != main_id:
        return np.full(len(frames), np.nan)
    offset = frames - item.start
    if item.ticks_in is not None:
        seq_fps = seq.fps
        return item.ticks_in / PPRO_TICKS_PER_SECOND + offset * (
            seq_fps.denominator / seq_fps.numerator
        )
    fps = item.rate.fps
    return (item.in_ + offset) * (fps.denominator / fps.numerator)


def _nested_seconds(seq: Sequence, child_frames: np.ndarray, main_id: str) -> np.ndarray:
    """The main source inside a nested sequence, bottom track first."""
    seconds = np.full(len(child_frames), np.nan)
    for track in seq.tracks:
        if not track.enabled:
            continue
        for item in track.items:
            if not item.enabled:
                continue
            hit = (child_frames >= item.visible_start) & (child_frames < item.visible_end)
            hit &= np.isnan(seconds)
            if hit.any():
                seconds[hit] = _main_source_seconds(item, child_frames[hit], seq, main_id)
    return seconds
