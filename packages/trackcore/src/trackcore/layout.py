"""The track layout: what every video track of the track table holds at each frame.

One table, `TRACK_FIELDS`, is the source of every other name here. A track table (xml2csv's
output, the frame store's `tracks.npy`, a model's decoded prediction) holds, per frame, the
5 `META_COLUMNS` and then for each video track k = 1..N (V1, the bottom layer, is k = 1) one
block of `TRACK_WIDTH` values named `t{k:02d}_<field>`, in `TRACK_FIELDS` order. An inactive
track holds the neutral values. The layout is versioned (`LAYOUT_VERSION`); whoever receives a
layout version checks it with `check_layout`.

    field        unit                               neutral  kind
    active       0/1                                0        binary
    asset        asset role id (AssetRole, 0..9)    0        discrete
    scale        percent (100 = native size)        100      continuous
    pos_x        frame widths from centre           0        continuous
    pos_y        frame heights from centre, +down   0        continuous
    crop_left    percent of source                  0        continuous
    crop_right   percent of source                  0        continuous
    crop_top     percent of source                  0        continuous
    crop_bottom  percent of source                  0        continuous
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from trackcore.errors import LayoutError

LAYOUT_VERSION = 1  # the layout this release writes
KNOWN_LAYOUTS = (1,)  # the layouts this release reads


class AssetRole(IntEnum):
    """What a track shows (the `asset` field); meaningful on any footage."""

    NONE = 0  # nothing (an inactive track)
    MAIN_SOURCE = 1  # the main source video on its base track
    MAIN_SOURCE_OVERLAY = 2  # the main source re-used as an overlay (a facecam crop, an inset)
    OTHER_VIDEO = 3  # B-roll
    STILL_IMAGE = 4  # by `stillframe` or extension
    TEXT = 5  # text / title
    MATTE = 6  # solid / matte / slug
    NESTED_SEQUENCE = 7
    OTHER_GRAPHIC = 8  # another generator or graphic
    UNRESOLVED = 9  # a missing file reference, unknown media


N_ASSETS = len(AssetRole)


@dataclass(frozen=True)
class TrackField:
    """One value of a track's block: its column suffix, unit, value on an inactive track, and
    kind (as featalign names kinds: binary, discrete or continuous)."""

    name: str
    unit: str
    neutral: float
    kind: str


TRACK_FIELDS: tuple[TrackField, ...] = (
    TrackField("active", "0/1", 0.0, "binary"),
    TrackField("asset", "asset role id (AssetRole)", 0.0, "discrete"),
    TrackField("scale", "percent", 100.0, "continuous"),
    TrackField("pos_x", "frame widths from centre", 0.0, "continuous"),
    TrackField("pos_y", "frame heights from centre, +down", 0.0, "continuous"),
    TrackField("crop_left", "percent of source", 0.0, "continuous"),
    TrackField("crop_right", "percent of source", 0.0, "continuous"),
    TrackField("crop_top", "percent of source", 0.0, "continuous"),
    TrackField("crop_bottom", "percent of source", 0.0, "continuous"),
)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in TRACK_FIELDS)
TRACK_WIDTH = len(TRACK_FIELDS)  # values per track
TRACK_NEUTRAL: tuple[float, ...] = tuple(f.neutral for f in TRACK_FIELDS)
FIELDS: dict[str, TrackField] = {f.name: f for f in TRACK_FIELDS}

# positions inside one track's block
ACTIVE = FIELD_NAMES.index("active")
ASSET = FIELD_NAMES.index("asset")
PARAMETERS = slice(ASSET + 1, TRACK_WIDTH)  # the regression parameters: scale .. crop_bottom
PARAMETER_FIELDS: tuple[TrackField, ...] = TRACK_FIELDS[PARAMETERS]
PARAMETER_NAMES: tuple[str, ...] = tuple(f.name for f in PARAMETER_FIELDS)
N_PARAMETERS = len(PARAMETER_FIELDS)
PARAMETER_NEUTRAL: tuple[float, ...] = tuple(f.neutral for f in PARAMETER_FIELDS)

META_COLUMNS: tuple[str, ...] = (
    "edit_id",  # the XML file's stem (plus the sequence name when a file holds several)
    "source_video_name",
    "frame",  # 0-based
    "timestamp",  # seconds, frame / fps
    "source_timestamp",  # seconds into the main source shown at that frame; NaN: not shown
)
DEFAULT_N_TRACKS = 20

_COLUMN = re.compile(r"t(\d{2,})_(" + "|".join(map(re.escape, FIELD_NAMES)) + r")")


def check_layout(version: object, source: str | None = None) -> int:
    """`version` if this release knows that layout, else LayoutError (naming `source`)."""
    if isinstance(version, bool) or not isinstance(version, int) or version not in KNOWN_LAYOUTS:
        raise LayoutError(
            f"track layout version {version!r} is not known here (this release reads "
            f"{', '.join(map(str, KNOWN_LAYOUTS))}; a newer xmlai-trackcore may read it)",
            source,
        )
    return version


def field_index(name: str) -> int:
    """'scale' -> 2: the field's position in a track's block."""
    try:
        return FIELD_NAMES.index(name)
    except ValueError:
        raise LayoutError(f"{name!r} is not a track field ({', '.join(FIELD_NAMES)})") from None


def track_column(track: int, field: str) -> str:
    """(1, 'active') -> 't01_active'; tracks count from 1 (V1)."""
    if track < 1:
        raise LayoutError(f"track {track}: tracks count from 1 (t01 is V1)")
    field_index(field)
    return f"t{track:02d}_{field}"


def track_columns(n_tracks: int) -> list[str]:
    """`t01_active ... t{N}_crop_bottom`: the track table's and the frame store's order."""
    return [f"t{k:02d}_{f}" for k in range(1, n_tracks + 1) for f in FIELD_NAMES]


def parse_track_column(column: str) -> tuple[int, str] | None:
    """'t03_pos_x' -> (3, 'pos_x'); None for a column that is not a layout column."""
    found = _COLUMN.fullmatch(str(column))
    if found is None or int(found[1]) < 1:
        return None
    return int(found[1]), found[2]


def count_tracks(columns: Iterable[str]) -> int:
    """The highest track k that has a `tNN_active` column (0 when none)."""
    parsed = (parse_track_column(c) for c in columns)
    return max((p[0] for p in parsed if p is not None and p[1] == "active"), default=0)


def check_track_columns(columns: list[str], n_tracks: int, source: str | None = None) -> None:
    """LayoutError unless `columns` are exactly `track_columns(n_tracks)`."""
    if len(columns) != n_tracks * TRACK_WIDTH:  # before naming them: n_tracks may be absurd
        raise LayoutError(
            f"{len(columns)} track columns, expected n_tracks*{TRACK_WIDTH} = "
            f"{n_tracks * TRACK_WIDTH}",
            source,
        )
    expected = track_columns(n_tracks)
    if list(columns) == expected:
        return
    k = next(i for i, (a, b) in enumerate(zip(columns, expected, strict=True)) if a != b)
    raise LayoutError(f"track column {k} is {columns[k]!r}, expected {expected[k]!r}", source)
