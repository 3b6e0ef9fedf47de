"""Track table -> xmeml that Premiere / FCP7 import: the inverse of `read_xmeml` + `sample`.

Each track's active frames become one item per run of one asset role; runs of the main source
(roles 1/2) are also split where its source time jumps. The main source is one `<file>`,
defined once and referenced by id after that; other roles become placeholder items of their
kind (an offline B-roll file, a still, a Text or Color generator, a nested sequence, ...) that
the reader maps back to the same role. Motion and crop become Basic Motion / Crop filters whose
keyframes sit on the media axis, `when = in + (t - start)` (docs/xmeml-format.md section 4).
Cuts the caller names become centred Cross Dissolves with `-1` timing (section 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from lxml import etree
from lxml.builder import E

from xml2csv.io import atomic_write
from xml2csv.keyframes import DEFAULT_TOLERANCE, Tolerance, filter_elements
from xml2csv.media import SourceMedia, media_url, timecode_frames
from xml2csv.model import Marker
from xml2csv.names import source_name
from xml2csv.params import DEFAULT_PARAMETERS, OPTIONAL_PARAMETERS, ParameterSpec
from xml2csv.roles import N_ASSETS, AssetRole
from xml2csv.sampler import track_columns

DEFAULT_TRANSITION_FRAMES = 10
DEFAULT_SIZE = (1920, 1080)
NTSC_RATES = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001))
PLACEHOLDER_FOLDER = "file://localhost/xmlai-placeholders/"
MAIN_ROLES = (AssetRole.MAIN_SOURCE, AssetRole.MAIN_SOURCE_OVERLAY)
MAIN, OVERLAY = MAIN_ROLES
NONE = AssetRole.NONE
# placeholder files the editor relinks: (file name prefix, extension) per role
PLACEHOLDER_FILES = {
    AssetRole.OTHER_VIDEO: ("broll", ".mov"),
    AssetRole.STILL_IMAGE: ("still", ".png"),
    AssetRole.OTHER_GRAPHIC: ("graphic", ".motn"),
}
# a title as Premiere's Text generator writes one: white 36 pt Arial, centred on its origin
TITLE_TEXT = "Title"
TITLE_PARAMETERS = (
    ("str", "Text", TITLE_TEXT),
    ("fontname", "Font", "Arial"),
    ("fontsize", "Size", "36"),
    ("fontstyle", "Style", "1"),
    ("fontalign", "Alignment", "2"),
    ("fontcolor", "Font Color", {"alpha": 255, "red": 255, "green": 255, "blue": 255}),
    ("origin", "Origin", {"horiz": 0, "vert": 0}),
    ("fonttrack", "Tracking", "1"),
    ("leading", "Leading", "0"),
    ("aspect", "Aspect", "1"),
    ("autokern", "Auto Kerning", "TRUE"),
    ("subpixel", "Use Subpixel", "TRUE"),
)
MATTE_COLOR = {"alpha": 255, "red": 0, "green": 0, "blue": 0}


def write_xmeml(table: pd.DataFrame, path: str | Path, **options) -> Path:
    """Write `table` (the track table of SPEC.md) as an xmeml file, atomically; returns `path`.
    The options are `xmeml_bytes`'s."""
    path = Path(path)
    data = xmeml_bytes(table, **options)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return path


def xmeml_bytes(
    table: pd.DataFrame,
    *,
    fps: str | Fraction | float | None = None,
    sequence_name: str | None = None,
    source: SourceMedia | None = None,
    media_root: str | Path | None = None,
    markers: Iterable[Marker] = (),
    source_pathurl: str | None = None,
    source_duration_frames: int | None = None,
    width: int | None = None,
    height: int | None = None,
    tolerance: Tolerance | None = None,
    strict: bool = False,
    transitions: Iterable[int] | None = None,
    transition_frames: int = DEFAULT_TRANSITION_FRAMES,
) -> bytes:
    """The xmeml document of `table`, as bytes.

    `fps`: "30000/1001", a Fraction, a float (snapped to the nearest standard rate), or None to
    infer it from `timestamp`. `sequence_name` defaults to the `edit_id`.

    The recording: `source` (a `SourceMedia`, e.g. `SourceMedia.from_media_json(...)`) says
    where it is and what it is; its path defaults to `source_video_name`. The `pathurl` is
    `media_url(path, media_root)` (a relative path is taken against `media_root`, else the
    current folder) unless `source_pathurl` gives it; `<name>` is the file name. The size
    (default 1920x1080: Basic Motion's scale is relative to it), the media length (default:
    the last source frame used), the sound (default stereo, 48 kHz) and the start timecode
    come from `source`; `source_duration_frames`, `width` and `height` override it. The
    sequence has the recording's size.

    Sound follows the picture of the main source: wherever `source_timestamp` is finite (in a
    table that meets condition 3 below: wherever role 1 or 2 is on screen) an audio clip plays
    the recording from that source time, one track per channel (a stereo pair on A1/A2, channel
    1 and 2, as Premiere writes it), cut where the source time jumps or the picture moves to
    another clip, each linked to the video clip it lies under when they span the same frames.
    A recording without sound (`audio_channels=0`) gets no audio tracks.

    `markers`: `xml2csv.Marker`s (sequence frames) written into the sequence for review.

    Always refused with a ValueError: missing columns; a `frame` column that is not 0..n-1;
    active not 0/1; asset outside 0..9 or not whole; active 0 with asset != 0 or active 1 with
    asset 0; a non-finite parameter on an active frame; roles 1/2 without `source_timestamp`;
    an fps that is not a whole or NTSC (x1000/1001) rate.

    `sample(read_xmeml(path))` gives the table back (active/asset exactly, parameters within
    `tolerance`, source_timestamp within 1e-6 s) when it also meets these conditions, which
    `strict=True` checks and the default only documents (a predicted table may miss them and
    still makes a file Premiere opens):
    1. role 1 is on one track (the base track); role 2 only on others, never on more frames of
       one track than role 1 has (ties go to the lower track); role 2 implies role 1.
    2. if role 3 appears, roles 1+2 cover at least 2 frames: the reader calls the video file
       covering most frames the main source, so role 3 runs become placeholder files (one per
       item) cut short enough to cover fewer frames than the main source does.
    3. `source_timestamp` is finite exactly where role 1 or 2 is shown, on the frame grid and
       >= 0: the source time every track showing the main source shows there (an overlay of
       the same recording plays in sync with the base track).
    4. inactive frames hold the neutral values (scale 100, the rest 0); `timestamp` = frame/fps.
    Main-source frames that `source_timestamp` does not describe continue the item's source
    time linearly from its nearest known frame, or start at 0.

    Other roles become what real exports contain: role 3 an offline video file, 4 a still
    (`stillframe` in `file/media/video`), 5 a Text generator (font, size, colour, origin), 6 a
    Color matte with its `fillcolor`, 7 a nested sequence, 8 a Motion template (`.motn`) file,
    9 a file with a name but no path; placeholder files sit under `PLACEHOLDER_FOLDER` for
    the editor to relink.

    `transitions`: sequence frames at which a cut is written as a Cross Dissolve centred on
    it, `transition_frames` long (>= 2): it spans [cut - d//2, cut - d//2 + d). A cut here is
    the first frame of a main-source item (role 1/2) that directly follows another on the
    same track with a jump in source time; a frame that is a cut on several tracks gets a
    dissolve on each, and a frame that is no cut on any track is ignored (a predicted table
    need not cut where a plan said). The outgoing clip gets `<end>-1</end>` and media under
    the transition's second part, the incoming one `<start>-1</start>` and media under its
    first part. Going along each track, d shrinks so that the incoming clip's media starts at
    >= 0, the outgoing clip's stays within the media length (when given), and the
    transition stays inside the two items and after the track's previous transition; a
    dissolve that would be shorter than 2 frames is not written (a plain cut stays). The
    reader shows the outgoing clip up to the cut and the incoming one from it, so the round
    trip is unchanged; `read_xmeml(path).sequence.tracks[k].transitions` lists those written.
    The sound keeps plain cuts.
    """
    plan = _Plan.of(table, _fps(fps, table))
    facts = _source_facts(table, source, media_root, source_pathurl, width, height)
    if source_duration_frames is not None:
        facts = replace(facts, duration_frames=source_duration_frames)
    if transitions is not None:
        plan.add_transitions(transitions, transition_frames, facts.duration_frames)
    if strict and (problems := plan.roundtrip_problems(table)):
        raise ValueError("table would not read back as written:\n- " + "\n- ".join(problems))
    if sequence_name is None:
        sequence_name = str(table["edit_id"].iloc[0]) if "edit_id" in table and len(table) else ""
    writer = _Writer(plan, tolerance or DEFAULT_TOLERANCE, facts)
    return writer.document(sequence_name or "xmlai edit", list(markers))


def _source_facts(table, source, media_root, pathurl, width, height) -> _Source:
    source = source or SourceMedia()
    path = source.path
    if not path and "source_video_name" in table and len(table):
        path = str(table["source_video_name"].iloc[0])
    path = path or "source.mp4"
    pathurl = pathurl or media_url(path, media_root)
    return _Source(
        name=source_name(pathurl, path),
        pathurl=pathurl,
        width=width or source.width or DEFAULT_SIZE[0],
        height=height or source.height or DEFAULT_SIZE[1],
        duration_frames=source.duration_frames,
        audio_channels=source.audio_channels,
        sample_rate=source.sample_rate,
        sample_depth=source.sample_depth,
        timecode=source.timecode,
    )


@dataclass(frozen=True)
class _Source:
    name: str
    pathurl: str
    width: int
    height: int
    duration_frames: int | None
    audio_channels: int
    sample_rate: int
    sample_depth: int
    timecode: str


# -- reading the table ------------------------------------------------------------------------


@dataclass
class _Item:
    track: int  # 1-based, V1 = bottom
    role: int
    start: int  # sequence frames [start, end)
    end: int
    in_: int = 0  # media frame shown at `start`
    lead: int = 0  # frames of media before `start`, under a dissolve from the previous item
    tail: int = 0  # frames of media after `end`, under a dissolve into the next item
    clip_id: str = ""  # its clipitem id, given before writing so that links can name it
    clip_index: int = 0  # 1-based place among its track's items, for the same links
    links: list[int] = field(default_factory=list)  # the sounds (by index) linked to it

    @property
    def out(self) -> int:
        return self.in_ + self.end - self.start


@dataclass
class _Sound:
    """An audio clip: the recording from media frame `in_`, at sequence frames [start, end)."""

    start: int
    end: int
    in_: int
    picture: _Item | None  # the video clip it is linked to


@dataclass
class _Plan:
    """What the table says, checked, as items per track."""

    n: int
    fps: Fraction
    active: np.ndarray  # (n, N) bool
    asset: np.ndarray  # (n, N) int
    specs: list[ParameterSpec]
    values: dict[str, np.ndarray]  # column suffix -> (n, N) float
    source_frames: np.ndarray  # (n,) float, NaN where unknown
    base: int | None  # 0-based column of the base track
    owner: np.ndarray  # (n,) the column whose source time `source_timestamp` holds, else -1
    tracks: list[list[_Item]]

    @classmethod
    def of(cls, table: pd.DataFrame, fps: Fraction) -> _Plan:
        n_tracks, specs = _layout(table)
        n = len(table)
        frames = table["frame"].to_numpy()
        if not np.array_equal(frames, np.arange(n)):
            raise ValueError("column 'frame' must be 0, 1, ..., n-1 (one row per frame, in order)")
        active = _whole(table, "active", n_tracks, 0, 1)
        asset = _whole(table, "asset", n_tracks, int(NONE), N_ASSETS - 1)
        _where_bad(active & (asset == NONE), "is active with asset 0 (no role)", n_tracks)
        _where_bad(~active & (asset != NONE), "is inactive with a non-zero asset", n_tracks)
        values = {
            s.column: table[[f"t{k:02d}_{s.column}" for k in range(1, n_tracks + 1)]].to_numpy(
                dtype=np.float64
            )
            for s in specs
        }
        for column, block in values.items():
            _where_bad(active & ~np.isfinite(block), f"has a non-finite {column}", n_tracks)
        main = active & np.isin(asset, MAIN_ROLES)
        if main.any() and "source_timestamp" not in table:
            raise ValueError(
                "roles 1/2 show the main source: a 'source_timestamp' column is needed"
            )
        # the recording's time wherever the table gives it: the sound plays there even when
        # no track shows its picture (a prediction that keeps a frame for a still only)
        has_time = "source_timestamp" in table
        seconds = table["source_timestamp"].to_numpy(float) if has_time else np.full(n, np.nan)
        source_frames = np.rint(seconds * float(fps))
        source_frames[~(source_frames >= 0)] = np.nan
        role1 = (active & (asset == MAIN)).sum(axis=0)
        base = int(np.argmax(role1)) if role1.any() else None
        owner = _owner(main, base)
        plan = cls(n, fps, active, asset, specs, values, source_frames, base, owner, [])
        plan.tracks = [plan._items(col) for col in range(n_tracks)]
        plan._split_placeholders()
        return plan

    def _split_placeholders(self) -> None:
        """A run of role 3 is often several clips; written as one placeholder file longer than
        the main source's share, the reader would take it for the main source. Cut such runs
        into near-equal items that each cover fewer frames than roles 1/2 together."""
        limit = int(np.isin(self.asset, MAIN_ROLES).sum()) - 1
        if limit < 1:
            return
        for items in self.tracks:
            for pos in reversed(range(len(items))):
                item = items[pos]
                if item.role == AssetRole.OTHER_VIDEO and item.end - item.start > limit:
                    parts = -(-(item.end - item.start) // limit)
                    cuts = np.linspace(item.start, item.end, parts + 1).round().astype(int)
                    items[pos : pos + 1] = [
                        _Item(item.track, item.role, int(a), int(b)) for a, b in pairwise(cuts)
                    ]

    def _items(self, col: int) -> list[_Item]:
        code = np.where(self.active[:, col], self.asset[:, col], NONE)
        bounds = [0, *(np.flatnonzero(np.diff(code)) + 1).tolist(), self.n]
        items = []
        for s, e in pairwise(bounds):
            role = int(code[s]) if e > s else NONE
            if role in MAIN_ROLES:
                items += self._main_items(col, role, s, e)
            elif role:
                items.append(_Item(col + 1, role, s, e))
        return items

    def _main_items(self, col: int, role: int, s: int, e: int) -> list[_Item]:
        """Split a run of the main source where its source time jumps; frames the table's
        `source_timestamp` does not describe continue the item's source time linearly. An
        overlay (role 2) shows the same source time as the base track: the recording in sync."""
        known = np.isfinite(self.source_frames[s:e])
        at = np.arange(s, e)[known]
        if not len(at):
            return [_Item(col + 1, role, s, e, 0)]
        offset = self.source_frames[s:e][known].astype(np.int64) - at  # in = offset + start
        breaks = (np.flatnonzero(np.diff(offset)) + 1).tolist()
        items, first = [], s
        if offset[0] + s < 0:  # would need negative media before the first known frame
            items.append(_Item(col + 1, role, s, int(at[0]), 0))
            first = int(at[0])
        for j, b in enumerate([0, *breaks]):
            start = first if j == 0 else int(at[b])
            end = int(at[breaks[j]]) if j < len(breaks) else e
            items.append(_Item(col + 1, role, start, end, int(offset[b] + start)))
        return items

    def add_transitions(
        self, frames: Iterable[int], length: int, source_duration: int | None
    ) -> None:
        """Turn the cuts at `frames` into centred dissolves `length` frames long, shrunk to fit
        (see `write_xmeml`); sets `tail` on the outgoing item and `lead` on the incoming one."""
        if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 2:
            raise ValueError(f"transition_frames must be a whole number >= 2, not {length!r}")
        wanted = set()
        for frame in frames:
            if isinstance(frame, bool) or not float(frame).is_integer():
                raise ValueError(f"transitions must be whole sequence frames, not {frame!r}")
            wanted.add(int(frame))
        room_in_source = np.inf if source_duration is None else source_duration
        for items in self.tracks:
            free_from = 0  # frames before this are under the track's previous dissolve
            for a, b in pairwise(items):
                cut = b.start
                if not (
                    cut in wanted
                    and a.end == cut
                    and a.role in MAIN_ROLES
                    and b.role in MAIN_ROLES
                    and a.out != b.in_  # a jump in source time: a cut, not a split
                ):
                    continue
                # d // 2 frames go before the cut, d - d // 2 after it
                before = min(cut - max(a.start, free_from), b.in_)
                after = min(b.end - cut, room_in_source - a.out)
                d = int(min(length, 2 * before + 1, 2 * after))
                if d < 2:
                    continue
                b.lead, a.tail = d // 2, d - d // 2
                free_from = cut + a.tail

    def sounds(self) -> list[_Sound]:
        """The recording's sound under its picture: one clip per run of frames with a known
        source time, cut where that time jumps or the picture moves to another clip."""
        source = self.source_frames.copy()
        picture = np.full(self.n, -1)
        main_items = [i for items in self.tracks for i in items if i.role in MAIN_ROLES]
        for index, item in enumerate(main_items):
            frames = np.arange(item.start, item.end)
            mine = frames[self.owner[frames] == item.track - 1]
            picture[mine] = index
            unknown = mine[~np.isfinite(source[mine])]
            source[unknown] = item.in_ + unknown - item.start
        known = np.isfinite(source)
        offset = np.where(known, source - np.arange(self.n), -np.inf)
        change = np.flatnonzero(
            (known[1:] != known[:-1]) | (offset[1:] != offset[:-1]) | (picture[1:] != picture[:-1])
        )
        sounds = []
        for s, e in pairwise([0, *(change + 1).tolist(), self.n]):
            if e > s and known[s]:
                item = main_items[picture[s]] if picture[s] >= 0 else None
                sounds.append(_Sound(s, e, int(source[s]), item))
        return sounds

    def roundtrip_problems(self, table: pd.DataFrame) -> list[str]:
        """The conditions of `write_xmeml`'s docstring that this table breaks."""
        problems = []
        role1 = (self.asset == MAIN).sum(axis=0)
        role2 = (self.asset == OVERLAY).sum(axis=0)
        if (role1 > 0).sum() > 1:
            problems.append(f"role 1 on several tracks: {_names(np.flatnonzero(role1))}")
        if role2.any() and self.base is None:
            problems.append("role 2 (main source overlay) without any role 1 (base track)")
        if self.base is not None:
            b = self.base
            beaten = [c for c in range(len(role2)) if c != b and role2[c] > role1[b]]
            beaten += [c for c in range(b) if c != b and role2[c] == role1[b] > 0]
            if beaten:
                problems.append(f"role 2 on {_names(beaten)} outnumbers role 1 on {_names([b])}")
        main_total = int(role1.sum() + role2.sum())
        if main_total < 2 and (self.asset == AssetRole.OTHER_VIDEO).any():
            problems.append(
                "role 3 with fewer than 2 main-source frames: a placeholder file would be "
                "read as the main source"
            )
        shown = np.isin(self.asset, MAIN_ROLES).any(axis=1)
        seconds = (
            table["source_timestamp"].to_numpy(float)
            if "source_timestamp" in table
            else np.full(self.n, np.nan)
        )
        finite = np.isfinite(seconds)
        if (bad := np.flatnonzero(finite != shown)).size:
            problems.append(
                f"source_timestamp is NaN where the main source shows or finite where it does "
                f"not, from frame {bad[0]}"
            )
        grid = seconds[finite] * float(self.fps)
        if ((grid < -1e-6) | (np.abs(grid - np.rint(grid)) > 1e-6 * float(self.fps))).any():
            problems.append("source_timestamp is negative or off the frame grid")
        for spec in self.specs:
            off = ~self.active & (self.values[spec.column] != spec.default)
            if off.any():
                problems.append(f"{spec.column} is not {spec.default:g} on inactive frames")
        if "timestamp" in table:
            expected = np.arange(self.n) * (self.fps.denominator / self.fps.numerator)
            if not np.allclose(table["timestamp"].to_numpy(float), expected, rtol=0, atol=1e-6):
                problems.append(f"timestamp is not frame / {self.fps}")
        return problems


def _owner(main: np.ndarray, base: int | None) -> np.ndarray:
    """Per frame, the track whose source time `source_timestamp` holds (the reader's rule: the
    base track where it shows the main source, else the lowest other track that does)."""
    others = main.copy()
    if base is not None:
        others[:, base] = False
    owner = np.where(others.any(axis=1), others.argmax(axis=1), -1)
    return owner if base is None else np.where(main[:, base], base, owner)


def _layout(table: pd.DataFrame) -> tuple[int, list[ParameterSpec]]:
    missing = [c for c in ("frame",) if c not in table]
    n_tracks = 0
    while f"t{n_tracks + 1:02d}_active" in table:
        n_tracks += 1
    if n_tracks == 0:
        missing.append("t01_active")
    missing += track_columns(n_tracks, DEFAULT_PARAMETERS)
    missing = [c for c in missing if c not in table]
    if missing:
        raise ValueError(
            f"the table lacks column(s) {missing[:6]}{' ...' if len(missing) > 6 else ''}"
        )
    extra = [
        spec
        for spec in OPTIONAL_PARAMETERS.values()
        if all(f"t{k:02d}_{spec.column}" in table for k in range(1, n_tracks + 1))
    ]
    return n_tracks, [*DEFAULT_PARAMETERS, *extra]


def _whole(table: pd.DataFrame, column: str, n_tracks: int, lo: int, hi: int) -> np.ndarray:
    block = table[[f"t{k:02d}_{column}" for k in range(1, n_tracks + 1)]].to_numpy(np.float64)
    bad = ~np.isfinite(block) | (block != np.rint(block)) | (block < lo) | (block > hi)
    _where_bad(bad, f"{column} must be a whole number in {lo}..{hi}", n_tracks)
    return block.astype(bool) if hi == 1 else block.astype(np.int64)


def _where_bad(bad: np.ndarray, message: str, n_tracks: int) -> None:
    if bad.any():
        frame, col = np.argwhere(bad)[0]
        raise ValueError(f"track t{col + 1:02d} {message} (first at frame {frame})")


def _names(cols) -> str:
    return ", ".join(f"t{c + 1:02d}" for c in cols)


def _fps(fps, table: pd.DataFrame) -> Fraction:
    if fps is None:
        if "timestamp" not in table or len(table) < 2:
            raise ValueError("cannot infer fps from the table (needs 2+ timestamps); pass fps=")
        ts = table["timestamp"].to_numpy(float)
        step = (ts[-1] - ts[0]) / (len(ts) - 1)
        if not step > 0:
            raise ValueError("cannot infer fps: timestamps do not increase; pass fps=")
        return _snap(1 / step, "the timestamp column")
    try:
        exact = Fraction(fps) if not isinstance(fps, float) else None
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"fps {fps!r} is not a number or a fraction like '30000/1001'") from None
    if exact is not None and exact > 0 and _is_writable(exact):
        return exact
    return _snap(float(fps), f"fps={fps!r}")


def _is_writable(fps: Fraction) -> bool:
    return fps.denominator == 1 or (fps * Fraction(1001, 1000)).denominator == 1


def _snap(value: float, what: str) -> Fraction:
    """The nearest standard rate: exact NTSC for 23.976 / 29.97 / 59.94, else a whole rate."""
    for rate in NTSC_RATES:
        if abs(value / float(rate) - 1) < 1e-4:
            return rate
    whole = round(value)
    if whole > 0 and abs(value / whole - 1) < 1e-4:
        return Fraction(whole)
    raise ValueError(f"{what} gives {value:.6g} fps, which is neither a whole nor an NTSC rate")


# -- writing the document ---------------------------------------------------------------------


class _Writer:
    """The document, in the element order of Apple's examples and Premiere's exports."""

    def __init__(self, plan: _Plan, tolerance: Tolerance, source: _Source):
        self.plan, self.tolerance, self.source = plan, tolerance, source
        ntsc = plan.fps.denominator != 1
        timebase = plan.fps * Fraction(1001, 1000) if ntsc else plan.fps
        self.rate_text = (str(int(timebase)), "TRUE" if ntsc else "FALSE")
        self.counts = {"sequence": 1, "file": 1}  # sequence-1 is the edit, file-1 its source
        self.main_defined = False
        self.sounds = plan.sounds() if source.audio_channels > 0 else []
        self._number_clips()

    def _number_clips(self) -> None:
        """Ids first: a video clip's <link> names audio clips written after it."""
        for items in self.plan.tracks:
            for position, item in enumerate(items, start=1):
                item.clip_id, item.clip_index = self.next_id("clipitem"), position
        self.sound_ids = [
            [self.next_id("clipitem") for _ in self.sounds]
            for _ in range(self.source.audio_channels)
        ]
        for index, sound in enumerate(self.sounds):
            if sound.picture and (sound.start, sound.end) == (
                sound.picture.start,
                sound.picture.end,
            ):
                sound.picture.links.append(index)

    def next_id(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}-{self.counts[kind]}"

    def rate(self):
        return E.rate(E.timebase(self.rate_text[0]), E.ntsc(self.rate_text[1]))

    def timecode(self, text: str = "00:00:00:00"):
        frame, drop = timecode_frames(text, self.plan.fps)
        return E.timecode(
            self.rate(),
            E.string(text),
            E.frame(str(frame)),
            E.displayformat("DF" if drop else "NDF"),
        )

    def document(self, name: str, markers: list[Marker]) -> bytes:
        plan, source = self.plan, self.source
        needed = max(
            (i.out + i.tail for items in plan.tracks for i in items if i.role in MAIN_ROLES),
            default=0,
        )
        needed = max(needed, max((s.in_ + s.end - s.start for s in self.sounds), default=0))
        if source.duration_frames is not None and source.duration_frames < needed:
            raise ValueError(
                f"source_duration_frames={source.duration_frames} but the edit uses source "
                f"frames up to {needed}"
            )
        self.duration = source.duration_frames if source.duration_frames is not None else needed
        used = [k for k, items in enumerate(plan.tracks) if items]
        tracks = [
            E.track(*self.video_items(items), E.enabled("TRUE"), E.locked("FALSE"))
            for items in plan.tracks[: (used[-1] + 1 if used else 1)]
        ]
        video = E.video(self.video_format(), *tracks)
        sequence = self.sequence("sequence-1", name, plan.n, video, self.audio())
        sequence.extend(self.marker(m) for m in markers)
        root = E.xmeml(sequence, version="4")
        # written by hand: lxml's declaration uses single quotes, which some importers reject
        head = b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n'
        return head + etree.tostring(root, encoding="UTF-8", pretty_print=True)

    def sequence(self, seq_id: str, name: str, duration: int, *media):
        return E.sequence(
            E.name(name), E.duration(str(duration)), self.rate(), self.timecode(), E.media(*media),
            id=seq_id,
        )  # fmt: skip

    def marker(self, marker: Marker):
        if not 0 <= marker.in_ < max(self.plan.n, 1) or not (
            marker.out == -1 or marker.out > marker.in_
        ):
            raise ValueError(
                f"marker {marker.name!r} at {marker.in_}..{marker.out} is outside the edit"
            )
        return E.marker(
            E.name(marker.name), E.comment(marker.comment), E("in", str(marker.in_)),
            E.out(str(marker.out)),
        )  # fmt: skip

    def video_format(self):
        return E.format(self.video_characteristics(full=True))

    def video_characteristics(self, full: bool = False):
        chars = E.samplecharacteristics(
            self.rate(), E.width(str(self.source.width)), E.height(str(self.source.height))
        )
        if full:
            chars.extend([
                E.anamorphic("FALSE"), E.pixelaspectratio("square"), E.fielddominance("none"),
            ])  # fmt: skip
        return chars

    def timing(self, name: str, item: _Item | _Sound, duration: int, dissolves: bool = False):
        times = [("start", item.start), ("end", item.end), ("in", item.in_)]
        times.append(("out", item.in_ + item.end - item.start))
        if dissolves and (item.lead or item.tail):
            # -1: placed by the neighbouring transition; the media runs on under it, so `in`
            # lines up with the transition's start and `out` with its end (format doc, 3)
            times = [
                ("start", -1 if item.lead else item.start),
                ("end", -1 if item.tail else item.end),
                ("in", item.in_ - item.lead),
                ("out", item.out + item.tail),
            ]
        return [
            E.name(name), E.enabled("TRUE"), E.duration(str(duration)), self.rate(),
            *(E(tag, str(value)) for tag, value in times),
        ]  # fmt: skip

    def video_items(self, items: list[_Item]) -> list:
        """A track's items in time order, with a transitionitem between the two sides of
        each dissolve."""
        elements = []
        for pos, item in enumerate(items):
            elements.append(self.video_item(item))
            if item.tail:
                elements.append(self.dissolve(item.end - items[pos + 1].lead, item.end + item.tail))
        return elements

    def dissolve(self, start: int, end: int):
        effect = E.effect(
            E.name("Cross Dissolve"), E.effectid("Cross Dissolve"), E.effectcategory("Dissolve"),
            E.effecttype("transition"), E.mediatype("video"), E.startratio("0"),
            E.endratio("1"), E.reverse("FALSE"),
        )  # fmt: skip
        return E.transitionitem(
            self.rate(), E.start(str(start)), E.end(str(end)), E.alignment("center"), effect
        )

    def video_item(self, item: _Item):
        role, length = item.role, item.end - item.start
        filters = filter_elements(
            self.plan.specs,
            {s.column: self.plan.values[s.column][item.start : item.end, item.track - 1]
             for s in self.plan.specs},
            item.in_,
            self.tolerance,
        )  # fmt: skip
        if role in (AssetRole.TEXT, AssetRole.MATTE):
            effect = self.title() if role == AssetRole.TEXT else self.matte()
            body = [*self.timing(effect.findtext("name"), item, length), effect]
            return E.generatoritem(*body, *filters, id=item.clip_id)
        if role in MAIN_ROLES:
            body = [*self.timing(self.source.name, item, self.duration, True), self.main_file()]
            links = self.links(item)
        elif role == AssetRole.NESTED_SEQUENCE:
            nested_id = self.next_id("sequence")
            video = E.video(self.video_format(), E.track(E.enabled("TRUE")))
            placeholder = self.sequence(nested_id, f"placeholder {nested_id}", length, video)
            name = f"nested t{item.track:02d} {nested_id}"
            body, links = [*self.timing(name, item, length), placeholder], []
        else:
            body, links = self.placeholder_clip(item, length), []
        return E.clipitem(*body, *filters, *links, id=item.clip_id)

    def placeholder_clip(self, item: _Item, length: int) -> list:
        """An offline file for the editor to relink. Role 9 (unresolved) names its file but
        gives it neither a path nor an extension: there is nothing to relink it to."""
        tag = f"t{item.track:02d}"
        index = self.counts[f"{item.role}{tag}"] = self.counts.get(f"{item.role}{tag}", 0) + 1
        still = item.role == AssetRole.STILL_IMAGE
        if item.role in PLACEHOLDER_FILES:
            prefix, extension = PLACEHOLDER_FILES[item.role]
            name = f"{prefix}_{tag}_{index:04d}{extension}"
            where = [E.name(name), E.pathurl(PLACEHOLDER_FOLDER + quote(name))]
        else:
            name = f"unresolved {tag} {index}"
            where = [E.name(name)]
        body = self.timing(name, item, length)
        if still:
            body.append(E.stillframe("TRUE"))
        file = E.file(
            *where, self.rate(), E.duration(str(length)), self.timecode(),
            self.file_media(length, still=still), id=self.next_id("file"),
        )  # fmt: skip
        return [*body, file]

    def title(self):
        return self.generator("Text", "Text", "Text", TITLE_PARAMETERS)

    def matte(self):
        return self.generator("Color", "Color", "Matte", (("fillcolor", "Color", MATTE_COLOR),))

    def generator(self, name: str, effect_id: str, category: str, parameters) -> etree._Element:
        effect = E.effect(
            E.name(name), E.effectid(effect_id), E.effectcategory(category),
            E.effecttype("generator"), E.mediatype("video"),
        )  # fmt: skip
        for parameter_id, label, value in parameters:
            parts = [E(k, str(v)) for k, v in value.items()] if isinstance(value, dict) else value
            value_el = E.value(*parts) if isinstance(parts, list) else E.value(parts)
            effect.append(E.parameter(E.parameterid(parameter_id), E.name(label), value_el))
        return effect

    def main_file(self):
        if self.main_defined:
            return E.file(id="file-1")
        self.main_defined = True
        source = self.source
        return E.file(
            E.name(source.name), E.pathurl(source.pathurl), self.rate(),
            E.duration(str(self.duration)), self.timecode(source.timecode),
            self.file_media(self.duration, audio=source.audio_channels), id="file-1",
        )  # fmt: skip

    def file_media(self, duration: int, audio: int = 0, still: bool = False):
        video = E.video(E.duration(str(duration)))
        if still:
            video.append(E.stillframe("TRUE"))
        video.append(self.video_characteristics())
        media = E.media(video)
        if audio:
            media.append(E.audio(self.audio_characteristics(), E.channelcount(str(audio))))
        return media

    def audio_characteristics(self):
        return E.samplecharacteristics(
            E.depth(str(self.source.sample_depth)), E.samplerate(str(self.source.sample_rate))
        )

    def links(self, item: _Item) -> list:
        """Premiere's link group: the video clip and the audio clip of each channel."""
        if not item.links:
            return []
        group = [("video", item.track, item.clip_id, item.clip_index)]
        for index in item.links:
            for channel, ids in enumerate(self.sound_ids, start=1):
                group.append(("audio", channel, ids[index], index + 1))
        return [
            E.link(
                E.linkclipref(clip_id), E.mediatype(kind), E.trackindex(str(track)),
                E.clipindex(str(clip_index)),
                *([E.groupindex("1")] if kind == "audio" else []),
            )
            for kind, track, clip_id, clip_index in group
        ]  # fmt: skip

    def audio(self):
        """The recording's sound, one track per channel, each sending to its own output."""
        channels = self.source.audio_channels
        outputs = E.outputs(*(
            E.group(
                E.index(str(k)), E.numchannels("1"), E.downmix("0"), E.channel(E.index(str(k)))
            )
            for k in (1, 2)
        ))  # fmt: skip
        tracks = [self.audio_track(channel) for channel in range(1, channels + 1)]
        return E.audio(
            E.numOutputChannels("2"), E.format(self.audio_characteristics()), outputs, *tracks
        )

    def audio_track(self, channel: int):
        items = []
        for index, sound in enumerate(self.sounds):
            clip_id = self.sound_ids[channel - 1][index]
            body = self.timing(self.source.name, sound, self.duration)
            source_track = E.sourcetrack(E.mediatype("audio"), E.trackindex(str(channel)))
            links = (
                self.links(sound.picture) if sound.picture and index in sound.picture.links else []
            )
            items.append(E.clipitem(*body, self.main_file(), source_track, *links, id=clip_id))
        track = E.track(*items, E.enabled("TRUE"), E.locked("FALSE"))
        if self.source.audio_channels == 2:  # a stereo pair: A1 to the left, A2 to the right
            track.append(E.outputchannelindex(str(channel)))
        return track
