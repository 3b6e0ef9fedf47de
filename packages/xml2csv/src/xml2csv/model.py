"""The typed timeline: what an xmeml document says, resolved, before any sampling.

Times are integer frames on the owning sequence's timebase unless a name says otherwise.
Items carry both their placement (`start`/`end`) and the part of it that is on screen
(`visible_start`/`visible_end`), because a transition keeps both neighbours present but
shows only one of them at each frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class Rate:
    timebase: int
    ntsc: bool

    @property
    def fps(self) -> Fraction:
        return Fraction(self.timebase * 1000, 1001) if self.ntsc else Fraction(self.timebase)


@dataclass(frozen=True)
class Keyframe:
    when: float
    value: float


@dataclass
class Parameter:
    """A static value, keyframes, or both (then keyframes win); a point value has one entry
    per component (`horiz`/`vert`)."""

    parameter_id: str
    value: dict[str, float] = field(default_factory=dict)
    keyframes: dict[str, list[Keyframe]] = field(default_factory=dict)


@dataclass
class Filter:
    """An effect on an item. Parameters are parsed on first use: FCP7 exports carry drop
    shadows, blurs and audio filters on every clip, and most of them are never sampled."""

    effect_id: str
    name: str
    enabled: bool
    _element: Any = field(default=None, repr=False, compare=False)
    _parse: Any = field(default=None, repr=False, compare=False)
    _parameters: dict[str, Parameter] | None = field(default=None, repr=False, compare=False)

    @property
    def parameters(self) -> dict[str, Parameter]:
        if self._parameters is None:
            self._parameters = self._parse(self._element) if self._parse else {}
        return self._parameters

    def matches(self, effect_ids: tuple[str, ...]) -> bool:
        return self.effect_id.casefold() in effect_ids or self.name.casefold() in effect_ids


@dataclass
class MediaFile:
    file_id: str
    name: str | None
    pathurl: str | None
    rate: Rate | None
    duration: int | None
    media_source: str | None = None
    has_video: bool = True
    stillframe: bool = False
    display_name: str = ""  # from pathurl (decoded, NFC), else <name>
    extension: str = ""  # of display_name, case-folded, with the dot
    width: int | None = None  # file/media/video/samplecharacteristics
    height: int | None = None
    audio_channels: int | None = None  # file/media/audio/channelcount


@dataclass
class Item:
    """A clipitem or generatoritem placed on a track."""

    kind: str  # "clip" | "generator"
    name: str
    line: int | None
    start: int
    end: int
    in_: int
    out: int
    enabled: bool
    rate: Rate
    visible_start: int
    visible_end: int
    file: MediaFile | None = None
    file_ref_missing: str | None = None  # the id of a <file> reference with no definition
    nested: Sequence | None = None
    generator_id: str | None = None
    stillframe: bool = False
    ticks_in: int | None = None  # Premiere's pproTicksIn: the exact source time
    filters: list[Filter] = field(default_factory=list)
    keyframes_clip_relative: bool | None = None  # decided when first sampled
    source_channel: int | None = None  # an audio item's <sourcetrack><trackindex>
    links: list[str] = field(default_factory=list)  # clipitem ids of its <link>s

    @property
    def media_origin(self) -> int:
        """The sequence frame whose media frame is `in_` (speed 100%)."""
        return self.start


@dataclass
class Transition:
    start: int
    end: int
    alignment: str
    effect_id: str
    line: int | None

    @property
    def cut(self) -> int:
        """The frame from which the incoming item is the one shown."""
        if self.alignment in ("start", "start-black"):
            return self.start
        if self.alignment in ("end", "end-black"):
            return self.end
        return (self.start + self.end) // 2


@dataclass
class Track:
    index: int  # 1-based, V1 = bottom layer
    enabled: bool
    items: list[Item] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)


@dataclass(frozen=True)
class Marker:
    name: str
    comment: str
    in_: int
    out: int  # -1 for a point marker


@dataclass
class Sequence:
    seq_id: str | None
    name: str
    rate: Rate
    duration: int
    width: int | None
    height: int | None
    tracks: list[Track] = field(default_factory=list)
    line: int | None = None
    audio_tracks: list[Track] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)

    @property
    def fps(self) -> Fraction:
        return self.rate.fps


@dataclass
class Timeline:
    """A parsed document: the chosen sequence plus what the reader resolved or guessed."""

    path: str
    sequence: Sequence
    top_level_names: list[str]
    main_source: MediaFile | None
    base_track: int | None  # the track where the main source covers the most frames
    files: dict[str, MediaFile]
    warnings: list[str] = field(default_factory=list)
    tracks_truncated: int = 0  # filled by the sampler

    @property
    def source_video_name(self) -> str:
        return self.main_source.display_name if self.main_source else ""
