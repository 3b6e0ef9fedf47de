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
from dataclasses import dataclass
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
from xml2csv.params import DEFAULT_PARAMETERS, OPTIONAL_PARAMETERS, ParameterSpec

DEFAULT_TRANSITION_FRAMES = 10
NTSC_RATES = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001))
PLACEHOLDER_FOLDER = "file://localhost/xmlai-placeholders/"
# (effect name, effectid, effectcategory) of the generators that stand in for roles 5, 6, 8
GENERATORS = {
    5: ("Text", "Text", "Text"),
    6: ("Color", "Color", "Matte"),
    8: ("Shape", "Shape", ""),
}


def write_xmeml(
    table: pd.DataFrame,
    path: str | Path,
    *,
    fps: str | Fraction | float | None = None,
    sequence_name: str | None = None,
    source_pathurl: str | None = None,
    source_duration_frames: int | None = None,
    width: int = 1920,
    height: int = 1080,
    tolerance: Tolerance | None = None,
    strict: bool = False,
    transitions: Iterable[int] | None = None,
    transition_frames: int = DEFAULT_TRANSITION_FRAMES,
) -> Path:
    """Write `table` (the track table of SPEC.md) as an xmeml file, atomically; returns `path`.

    `fps`: "30000/1001", a Fraction, a float (snapped to the nearest standard rate), or None to
    infer it from `timestamp`. `sequence_name` defaults to the `edit_id`; `source_pathurl` to
    `file://localhost/<url-quoted source_video_name>`; `source_duration_frames` to the last
    source frame used. `tolerance` bounds the keyframe error per column kind (`Tolerance()`:
    scale 0.05 %, position 0.0005, crop 0.05 %, rotation/opacity 0.05).

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
    2. if role 3 or 9 appears, roles 1+2 cover at least 2 frames: the reader calls the video
       file covering most frames the main source, so role 3/9 runs become placeholder files
       (one per item) cut short enough to cover fewer frames than the main source does.
    3. `source_timestamp` is finite exactly where role 1 or 2 is shown, on the frame grid and
       >= 0, and is the base track's source time there, else the lowest role-2 track's.
    4. inactive frames hold the neutral values (scale 100, the rest 0); `timestamp` = frame/fps.
    Role-2 frames that `source_timestamp` does not describe (another track owns it there)
    continue the item's source time linearly from its nearest known frame, or start at 0.

    `transitions`: sequence frames at which a cut is written as a Cross Dissolve centred on
    it, `transition_frames` long (>= 2): it spans [cut - d//2, cut - d//2 + d). A cut here is
    the first frame of a main-source item (role 1/2) that directly follows another on the
    same track with a jump in source time; a frame that is a cut on several tracks gets a
    dissolve on each, and a frame that is no cut on any track is ignored (a predicted table
    need not cut where a plan said). The outgoing clip gets `<end>-1</end>` and media under
    the transition's second part, the incoming one `<start>-1</start>` and media under its
    first part. Going along each track, d shrinks so that the incoming clip's media starts at
    >= 0, the outgoing clip's stays within `source_duration_frames` (when given), and the
    transition stays inside the two items and after the track's previous transition; a
    dissolve that would be shorter than 2 frames is not written (a plain cut stays). The
    reader shows the outgoing clip up to the cut and the incoming one from it, so the round
    trip is unchanged; `read_xmeml(path).sequence.tracks[k].transitions` lists those written.
    """
    path = Path(path)
    data = xmeml_bytes(
        table, fps=fps, sequence_name=sequence_name, source_pathurl=source_pathurl,
        source_duration_frames=source_duration_frames, width=width, height=height,
        tolerance=tolerance, strict=strict, transitions=transitions,
        transition_frames=transition_frames,
    )  # fmt: skip
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return path


def xmeml_bytes(
    table: pd.DataFrame,
    *,
    fps: str | Fraction | float | None = None,
    sequence_name: str | None = None,
    source_pathurl: str | None = None,
    source_duration_frames: int | None = None,
    width: int = 1920,
    height: int = 1080,
    tolerance: Tolerance | None = None,
    strict: bool = False,
    transitions: Iterable[int] | None = None,
    transition_frames: int = DEFAULT_TRANSITION_FRAMES,
) -> bytes:
    """The document `write_xmeml` writes, as bytes (same options)."""
    plan = _Plan.of(table, _fps(fps, table))
    if transitions is not None:
        plan.add_transitions(transitions, transition_frames, source_duration_frames)
    if strict and (problems := plan.roundtrip_problems(table)):
        raise ValueError("table would not read back as written:\n- " + "\n- ".join(problems))
    if sequence_name is None:
        sequence_name = str(table["edit_id"].iloc[0]) if "edit_id" in table and len(table) else ""
    source_name = ""
    if "source_video_name" in table and len(table):
        source_name = str(table["source_video_name"].iloc[0])
    source_name = source_name or "source.mp4"
    if source_pathurl is None:
        source_pathurl = "file://localhost/" + quote(source_name.replace("\\", "/").lstrip("/"))
    writer = _Writer(plan, tolerance or DEFAULT_TOLERANCE, width, height)
    return writer.document(
        sequence_name or "xmlai edit", source_name, source_pathurl, source_duration_frames
    )


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

    @property
    def out(self) -> int:
        return self.in_ + self.end - self.start


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
        asset = _whole(table, "asset", n_tracks, 0, 9)
        _where_bad(active & (asset == 0), "is active with asset 0 (no role)", n_tracks)
        _where_bad(~active & (asset != 0), "is inactive with a non-zero asset", n_tracks)
        values = {
            s.column: table[[f"t{k:02d}_{s.column}" for k in range(1, n_tracks + 1)]].to_numpy(
                dtype=np.float64
            )
            for s in specs
        }
        for column, block in values.items():
            _where_bad(active & ~np.isfinite(block), f"has a non-finite {column}", n_tracks)
        main = active & ((asset == 1) | (asset == 2))
        if main.any() and "source_timestamp" not in table:
            raise ValueError(
                "roles 1/2 show the main source: a 'source_timestamp' column is needed"
            )
        seconds = table["source_timestamp"].to_numpy(float) if main.any() else np.full(n, np.nan)
        source_frames = np.rint(seconds * float(fps))
        source_frames[~(source_frames >= 0)] = np.nan
        role1 = (active & (asset == 1)).sum(axis=0)
        base = int(np.argmax(role1)) if role1.any() else None
        owner = _owner(active & ((asset == 1) | (asset == 2)), base)
        plan = cls(n, fps, active, asset, specs, values, source_frames, base, owner, [])
        plan.tracks = [plan._items(col) for col in range(n_tracks)]
        plan._split_placeholders()
        return plan

    def _split_placeholders(self) -> None:
        """A run of role 3 or 9 is often several clips; written as one placeholder file longer
        than the main source's share, the reader would take it for the main source. Cut such
        runs into near-equal items that each cover fewer frames than roles 1/2 together."""
        limit = int(np.isin(self.asset, (1, 2)).sum()) - 1
        if limit < 1:
            return
        for items in self.tracks:
            for pos in reversed(range(len(items))):
                item = items[pos]
                if item.role in (3, 9) and item.end - item.start > limit:
                    parts = -(-(item.end - item.start) // limit)
                    cuts = np.linspace(item.start, item.end, parts + 1).round().astype(int)
                    items[pos : pos + 1] = [
                        _Item(item.track, item.role, int(a), int(b)) for a, b in pairwise(cuts)
                    ]

    def _items(self, col: int) -> list[_Item]:
        code = np.where(self.active[:, col], self.asset[:, col], 0)
        bounds = [0, *(np.flatnonzero(np.diff(code)) + 1).tolist(), self.n]
        items = []
        for s, e in pairwise(bounds):
            role = int(code[s]) if e > s else 0
            if role in (1, 2):
                items += self._main_items(col, role, s, e)
            elif role:
                items.append(_Item(col + 1, role, s, e))
        return items

    def _main_items(self, col: int, role: int, s: int, e: int) -> list[_Item]:
        """Split a run of the main source where its source time jumps; frames the table's
        `source_timestamp` does not describe continue the item's source time linearly."""
        owned = (self.owner[s:e] == col) & np.isfinite(self.source_frames[s:e])
        at = np.arange(s, e)[owned]
        if not len(at):
            return [_Item(col + 1, role, s, e, 0)]
        offset = self.source_frames[s:e][owned].astype(np.int64) - at  # in = offset + start
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
                    and a.role in (1, 2)
                    and b.role in (1, 2)
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

    def roundtrip_problems(self, table: pd.DataFrame) -> list[str]:
        """The conditions of `write_xmeml`'s docstring that this table breaks."""
        problems = []
        role1 = (self.asset == 1).sum(axis=0)
        role2 = (self.asset == 2).sum(axis=0)
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
        if main_total < 2 and np.isin(self.asset, (3, 9)).any():
            problems.append(
                "roles 3/9 with fewer than 2 main-source frames: a placeholder file would be "
                "read as the main source"
            )
        shown = ((self.asset == 1) | (self.asset == 2)).any(axis=1)
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
    names = ["active", "asset", *(s.column for s in DEFAULT_PARAMETERS)]
    missing += [f"t{k:02d}_{c}" for k in range(1, n_tracks + 1) for c in names]
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
    def __init__(self, plan: _Plan, tolerance: Tolerance, width: int, height: int):
        self.plan, self.tolerance = plan, tolerance
        self.width, self.height = str(width), str(height)
        ntsc = plan.fps.denominator != 1
        timebase = plan.fps * Fraction(1001, 1000) if ntsc else plan.fps
        self.rate_text = (str(int(timebase)), "TRUE" if ntsc else "FALSE")
        self.counts = {"sequence": 1, "file": 1}  # sequence-1 is the edit, file-1 its source
        self.main_defined = False

    def next_id(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}-{self.counts[kind]}"

    def rate(self):
        return E.rate(E.timebase(self.rate_text[0]), E.ntsc(self.rate_text[1]))

    def document(self, name: str, source_name: str, pathurl: str, duration: int | None) -> bytes:
        plan = self.plan
        needed = max(
            (i.out + i.tail for items in plan.tracks for i in items if i.role in (1, 2)), default=0
        )
        if duration is not None and duration < needed:
            raise ValueError(
                f"source_duration_frames={duration} but the edit uses source frames up to {needed}"
            )
        self.main = (source_name, pathurl, duration if duration is not None else needed)
        used = [k for k, items in enumerate(plan.tracks) if items]
        tracks = [
            E.track(*self.video_items(items), E.enabled("TRUE"), E.locked("FALSE"))
            for items in plan.tracks[: (used[-1] + 1 if used else 1)]
        ]
        video = E.video(self.video_format(), *tracks)
        root = E.xmeml(self.sequence("sequence-1", name, plan.n, video, self.audio()), version="4")
        # written by hand: lxml's declaration uses single quotes, which some importers reject
        head = b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n'
        return head + etree.tostring(root, encoding="UTF-8", pretty_print=True)

    def sequence(self, seq_id: str, name: str, duration: int, *media):
        timecode = E.timecode(
            self.rate(), E.string("00:00:00:00"), E.frame("0"), E.displayformat("NDF")
        )
        return E.sequence(
            E.name(name), E.duration(str(duration)), self.rate(), timecode, E.media(*media),
            id=seq_id,
        )  # fmt: skip

    def video_format(self):
        return E.format(
            E.samplecharacteristics(
                self.rate(), E.width(self.width), E.height(self.height), E.anamorphic("FALSE"),
                E.pixelaspectratio("square"), E.fielddominance("none"),
            )
        )  # fmt: skip

    def timing(self, name: str, item: _Item, duration: int, dissolves: bool = False) -> list:
        times = [("start", item.start), ("end", item.end), ("in", item.in_), ("out", item.out)]
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
        role, tag, length = item.role, f"t{item.track:02d}", item.end - item.start
        filters = filter_elements(
            self.plan.specs,
            {s.column: self.plan.values[s.column][item.start : item.end, item.track - 1]
             for s in self.plan.specs},
            item.in_,
            self.tolerance,
        )  # fmt: skip
        if role in GENERATORS:
            name, effect_id, category = GENERATORS[role]
            effect = E.effect(E.name(name), E.effectid(effect_id))
            if category:
                effect.append(E.effectcategory(category))
            effect.extend([E.effecttype("generator"), E.mediatype("video")])
            if role == 5:
                effect.append(E.parameter(E.parameterid("str"), E.name("Text"), E.value("Title")))
            body = [*self.timing(name, item, length), effect]
            return E.generatoritem(*body, *filters, id=self.next_id("generatoritem"))
        if role in (1, 2):
            body = [*self.timing(self.main[0], item, self.main[2], True), self.main_file()]
        elif role == 7:
            nested_id = self.next_id("sequence")
            video = E.video(self.video_format(), E.track(E.enabled("TRUE")))
            placeholder = self.sequence(nested_id, f"placeholder {nested_id}", length, video)
            body = [*self.timing(f"nested {tag} {nested_id}", item, length), placeholder]
        else:
            index = self.counts[f"{role}{tag}"] = self.counts.get(f"{role}{tag}", 0) + 1
            file_name = {3: f"broll_{tag}_{index:04d}.mov", 4: f"still_{tag}_{index:04d}.png"}
            body = self.timing(file_name.get(role, f"unresolved {tag} {index}"), item, length)
            if role == 4:
                body.append(E.stillframe("TRUE"))
            body.append(self.placeholder_file(file_name.get(role), length, still=role == 4))
        return E.clipitem(*body, *filters, id=self.next_id("clipitem"))

    def main_file(self):
        if self.main_defined:
            return E.file(id="file-1")
        self.main_defined = True
        name, pathurl, duration = self.main
        return E.file(
            E.name(name), E.pathurl(pathurl), self.rate(), E.duration(str(duration)),
            self.file_media(duration, audio=True), id="file-1",
        )  # fmt: skip

    def placeholder_file(self, name: str | None, duration: int, still: bool):
        """An offline file for the editor to relink. Without a name (role 9) it has no pathurl
        either, which is what the reader calls unresolved."""
        file = E.file(id=self.next_id("file"))
        if name:
            file.extend([E.name(name), E.pathurl(PLACEHOLDER_FOLDER + quote(name))])
        file.extend([self.rate(), E.duration(str(duration))])
        if still:
            file.append(E.stillframe("TRUE"))
        file.append(self.file_media(duration, audio=False))
        return file

    def file_media(self, duration: int, audio: bool):
        chars = E.samplecharacteristics(self.rate(), E.width(self.width), E.height(self.height))
        media = E.media(E.video(E.duration(str(duration)), chars))
        if audio:
            sound = E.samplecharacteristics(E.depth("16"), E.samplerate("48000"))
            media.append(E.audio(sound, E.channelcount("2")))
        return media

    def audio(self):
        """The source's sound under the base track's cuts, so the edit plays with its audio."""
        base = self.plan.tracks[self.plan.base] if self.plan.base is not None else []
        items = [
            E.clipitem(
                *self.timing(self.main[0], item, self.main[2]), E.file(id="file-1"),
                E.sourcetrack(E.mediatype("audio"), E.trackindex("1")),
                id=self.next_id("clipitem"),
            )
            for item in base
            if item.role == 1
        ]  # fmt: skip
        return E.audio(E.track(*items, E.enabled("TRUE"), E.locked("FALSE")))
