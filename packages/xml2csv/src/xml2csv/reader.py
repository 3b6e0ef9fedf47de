"""xmeml -> Timeline. One pass collects every `<file id>` / `<sequence id>` definition (a
reference may come before its definition), a second builds the chosen sequence."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

from lxml import etree

from xml2csv.errors import XmemlError
from xml2csv.model import (
    Filter,
    Item,
    Keyframe,
    Marker,
    MediaFile,
    Parameter,
    Rate,
    Sequence,
    Timeline,
    Track,
    Transition,
)
from xml2csv.names import source_name
from xml2csv.roles import DEFAULT_RULES, AssetRules
from xml2csv.safexml import parse_document

_ITEM_TAGS = ("clipitem", "generatoritem", "transitionitem")
# ASCII digits only: str.isdigit() also accepts `²`, which int() refuses
_INTEGER = re.compile(r"-?[0-9]{1,18}")
MAX_WHOLE = 2**31 - 1  # a frame count or position beyond this is no real edit
MAX_FRAMES = 5_184_000  # 24 hours at 60 fps: a longer sequence is refused before sampling


def read_xmeml(
    path: str | Path,
    sequence: str | None = None,
    rules: AssetRules = DEFAULT_RULES,
    data: bytes | None = None,
) -> Timeline:
    """Read an xmeml file. `sequence` picks a sequence by name or id; by default the first
    top-level one (not nested in another). `data` reads these bytes instead of the file."""
    tree = parse_document(path, data)
    return _Reader(str(path), tree.getroot(), rules).timeline(sequence)


def list_sequences(path: str | Path, data: bytes | None = None) -> list[str]:
    """Names of the top-level sequences, the ones a caller can pick."""
    reader = _Reader(str(path), parse_document(path, data).getroot(), DEFAULT_RULES)
    return [reader.sequence_label(el) for el in reader.top_level]


class _Reader:
    def __init__(self, path: str, root: etree._Element, rules: AssetRules):
        self.path = path
        self.rules = rules
        self.warnings: list[str] = []
        self.file_defs: dict[str, etree._Element] = {}
        self.seq_defs: dict[str, etree._Element] = {}
        self.top_level: list[etree._Element] = []
        self._files: dict[str, MediaFile] = {}
        self._built: dict[etree._Element, Sequence] = {}
        self._building: list[etree._Element] = []
        self._rates: dict[tuple, Rate] = {}
        for el in root.iter("file", "sequence"):
            element_id = el.get("id")
            if len(el) == 0:
                continue  # an id-only reference
            if el.tag == "file":
                if element_id is not None:
                    self.file_defs.setdefault(element_id, el)
                continue
            if element_id is not None:
                self.seq_defs.setdefault(element_id, el)
            if not any(a.tag == "clipitem" for a in el.iterancestors()):
                self.top_level.append(el)

    # -- errors and guesses ---------------------------------------------------------------
    def error(self, message: str, el: etree._Element | None = None) -> XmemlError:
        return XmemlError(message, self.path, el.tag if el is not None else None, _line(el))

    def warn(self, message: str, el: etree._Element | None = None) -> None:
        self.warnings.append(f"line {_line(el)}: {message}" if el is not None else message)

    @staticmethod
    def sequence_label(el: etree._Element) -> str:
        return (el.findtext("name") or "").strip() or el.get("id") or "sequence"

    # -- the document ---------------------------------------------------------------------
    def timeline(self, wanted: str | None) -> Timeline:
        if not self.top_level:
            raise self.error("no <sequence> with content in the document")
        chosen = self._choose(wanted)
        seq = self.build_sequence(chosen)
        main, base_track = self._main_source(seq)
        return Timeline(
            path=self.path,
            sequence=seq,
            top_level_names=[self.sequence_label(el) for el in self.top_level],
            main_source=main,
            base_track=base_track,
            files=dict(self._files),
            warnings=self.warnings,
        )

    def _choose(self, wanted: str | None) -> etree._Element:
        if wanted is not None:
            for el in self.top_level + list(self.seq_defs.values()):
                if wanted in (self.sequence_label(el), el.get("id")):
                    return el
            names = [self.sequence_label(el) for el in self.top_level]
            raise XmemlError(
                f"no sequence named {wanted!r}; top-level sequences: {names}", self.path
            )
        direct = [
            el
            for el in self.top_level
            if el.getparent() is not None and el.getparent().tag == "xmeml"
        ]
        chosen = (direct or self.top_level)[0]
        if len(self.top_level) > 1:
            self.warn(
                f"{len(self.top_level)} top-level sequences; chose {self.sequence_label(chosen)!r} "
                "(pick another by name)"
            )
        return chosen

    # -- sequences --------------------------------------------------------------------------
    def build_sequence(self, el: etree._Element) -> Sequence:
        if el in self._built:
            return self._built[el]
        if el in self._building:
            chain = " -> ".join(self.sequence_label(s) for s in [*self._building, el])
            raise self.error(f"nested sequence contains itself: {chain}", el)
        self._building.append(el)
        try:
            rate = self._rate(el, None)
            if rate is None:
                raise self.error("sequence has no <rate><timebase>", el)
            fmt = el.find("media/video/format/samplecharacteristics")
            seq = Sequence(
                seq_id=el.get("id"),
                name=self.sequence_label(el),
                rate=rate,
                duration=0,
                width=_opt_int(fmt, "width") if fmt is not None else None,
                height=_opt_int(fmt, "height") if fmt is not None else None,
                line=_line(el),
            )
            for index, track_el in enumerate(el.iterfind("media/video/track"), start=1):
                seq.tracks.append(self._track(track_el, index, rate))
            seq.audio_tracks = self._audio_tracks(el, rate)
            seq.markers = self._markers(el)
            declared = self._int(el, "duration", required=False)
            last_end = max((it.end for t in seq.tracks for it in t.items), default=0)
            if declared is not None and last_end > declared:
                self.warn(
                    f"items reach frame {last_end}, past the sequence <duration> {declared}; "
                    "sampled to the last item",
                    el,
                )
            seq.duration = max(declared or 0, last_end)
            if seq.duration > MAX_FRAMES:
                raise self.error(
                    f"sequence is {seq.duration} frames long, more than the {MAX_FRAMES} "
                    "(24 hours at 60 fps) that can be sampled",
                    el,
                )
        finally:
            self._building.pop()
        self._built[el] = seq
        return seq

    def _track(self, el: etree._Element, index: int, seq_rate: Rate) -> Track:
        track = Track(index=index, enabled=_flag(el.findtext("enabled"), True))
        children: list[Item | Transition] = []
        for child in el:
            if child.tag == "transitionitem":
                children.append(self._transition(child))
            elif child.tag in ("clipitem", "generatoritem"):
                children.append(self._item(child, seq_rate))
        for pos, node in enumerate(children):
            if isinstance(node, Item):
                self._resolve_minus_one(node, children, pos)
        for pos, node in enumerate(children):
            if not isinstance(node, Transition):
                continue
            before = children[pos - 1] if pos > 0 else None
            after = children[pos + 1] if pos + 1 < len(children) else None
            if isinstance(before, Item) and isinstance(after, Item):
                before.visible_end = min(before.visible_end, node.cut)
                after.visible_start = max(after.visible_start, node.cut)
        track.items = [node for node in children if isinstance(node, Item)]
        track.transitions = [node for node in children if isinstance(node, Transition)]
        for item in track.items:
            if item.end < item.start:
                raise XmemlError(
                    f"end {item.end} is before start {item.start}",
                    self.path,
                    "clipitem" if item.kind == "clip" else "generatoritem",
                    item.line,
                )
        return track

    def _audio_tracks(self, seq_el: etree._Element, rate: Rate) -> list[Track]:
        """The sound, for players and checks; the table never depends on it, so a track that
        cannot be read is skipped with a warning rather than failing the document."""
        tracks = []
        for index, track_el in enumerate(seq_el.iterfind("media/audio/track"), start=1):
            try:
                track = self._track(track_el, index, rate)
            except XmemlError as error:
                self.warn(f"audio track A{index} skipped: {error}", track_el)
                continue
            items = [c for c in track_el if c.tag in ("clipitem", "generatoritem")]
            for item, item_el in zip(track.items, items, strict=True):
                channel = item_el.findtext("sourcetrack/trackindex")
                item.source_channel = _to_int(channel)
            tracks.append(track)
        return tracks

    def _markers(self, seq_el: etree._Element) -> list[Marker]:
        markers = []
        for el in seq_el.iterfind("marker"):
            start = _to_int(el.findtext("in"))
            if start is None:
                self.warn("marker without a whole <in>; skipped", el)
                continue
            end = _to_int(el.findtext("out"))
            markers.append(
                Marker(
                    _text(el.find("name")),
                    _text(el.find("comment")),
                    start,
                    -1 if end is None else end,
                )
            )
        return markers

    def _resolve_minus_one(self, item: Item, children: list, pos: int) -> None:
        """`-1` start/end: the media under the neighbouring transition lines up with it."""
        length = item.out - item.in_
        tag = "clipitem" if item.kind == "clip" else "generatoritem"
        before = children[pos - 1] if pos > 0 else None
        after = children[pos + 1] if pos + 1 < len(children) else None
        if item.start == -1:
            if isinstance(before, Transition):
                item.start = before.start
            elif item.end != -1:
                item.start = item.end - length
                self.warns_at(item, "start -1 with no transition before it; used end - (out - in)")
            else:
                raise XmemlError(
                    "start and end are -1 with no neighbouring transition",
                    self.path,
                    tag,
                    item.line,
                )
        if item.end == -1:
            if isinstance(after, Transition):
                item.end = after.end
            else:
                item.end = item.start + length
                self.warns_at(item, "end -1 with no transition after it; used start + (out - in)")
        item.visible_start, item.visible_end = item.start, item.end

    def warns_at(self, item: Item, message: str) -> None:
        self.warnings.append(f"line {item.line}: {item.name!r}: {message}")

    def _transition(self, el: etree._Element) -> Transition:
        start, end = self._int(el, "start"), self._int(el, "end")
        if end < start:
            raise self.error(f"transition end {end} is before start {start}", el)
        return Transition(
            start=start,
            end=end,
            alignment=(el.findtext("alignment") or "center").strip().lower(),
            effect_id=(el.findtext("effect/effectid") or "").strip(),
            line=_line(el),
        )

    # -- items ------------------------------------------------------------------------------
    def _item(self, el: etree._Element, seq_rate: Rate) -> Item:
        # one pass over the children: items are the bulk of a document and each has ~30
        fields = {child.tag: child for child in el}
        start, end = self._int_of(el, fields, "start"), self._int_of(el, fields, "end")
        in_ = self._int_of(el, fields, "in", required=False)
        out = self._int_of(el, fields, "out", required=False)
        if in_ is None or out is None:
            in_, out = 0, (end - start if end >= 0 and start >= 0 else 0)
            self.warn("item has no <in>/<out>; assumed in 0 and out = end - start", el)
        if start >= 0 and end >= 0 and end < start:
            raise self.error(f"end {end} is before start {start}", el)
        rate_el = fields.get("rate")
        item = Item(
            kind="clip" if el.tag == "clipitem" else "generator",
            name=_text(fields.get("name")),
            line=el.sourceline,
            start=start,
            end=end,
            in_=in_,
            out=out,
            enabled=_flag(_text(fields.get("enabled")), True),
            rate=self._rate_of(rate_el, seq_rate) if rate_el is not None else seq_rate,
            visible_start=start,
            visible_end=end,
            stillframe=_flag(_text(fields.get("stillframe")), False),
        )
        item.ticks_in = _to_int(_text(fields.get("pproTicksIn")))
        if el.tag == "generatoritem":
            effect = fields.get("effect")
            generator = (
                effect.findtext("effectid") or effect.findtext("name")
                if effect is not None
                else None
            )
            item.generator_id = (generator or item.name).strip()
        file_el = fields.get("file")
        if file_el is not None:
            item.file, item.file_ref_missing = self._file(file_el)
        nested_el = fields.get("sequence")
        if nested_el is not None:
            target = nested_el if len(nested_el) else self.seq_defs.get(nested_el.get("id", ""))
            if target is None:
                self.warn(
                    f"nested sequence reference {nested_el.get('id')!r} has no definition",
                    nested_el,
                )
            else:
                item.nested = self.build_sequence(target)
        for filter_el in el.iterfind("filter"):
            item.filters.append(self._filter(filter_el))
        item.links = [ref.text.strip() for ref in el.iterfind("link/linkclipref") if ref.text]
        return item

    def _int_of(self, el, fields: dict, tag: str, required: bool = True) -> int | None:
        child = fields.get(tag)
        if child is None or child.text is None or not child.text.strip():
            if required:
                raise self.error(f"<{tag}> is missing", el)
            return None
        return self._whole(child, tag)

    def _whole(self, child: etree._Element, tag: str) -> int:
        text = child.text.strip()
        if _INTEGER.fullmatch(text):
            value: float = int(text)
        else:
            value = _to_number(text)
            if value is None:
                raise self.error(f"<{tag}> is not a number: {text[:40]!r}", child)
        if abs(value) > MAX_WHOLE:
            raise self.error(f"<{tag}> {text[:40]} is out of range (|value| > {MAX_WHOLE})", child)
        if value != int(value):
            self.warn(f"<{tag}> {value} is not a whole frame; rounded", child)
        return round(value)

    def _file(self, el: etree._Element) -> tuple[MediaFile | None, str | None]:
        file_id = el.get("id")
        if file_id is not None and file_id in self._files:
            return self._files[file_id], None
        definition = el if len(el) else self.file_defs.get(file_id or "")
        if definition is None:
            self.warn(f"<file id={file_id!r}> is referenced but never defined", el)
            return None, file_id
        fields = {child.tag: child for child in definition}
        media_el = fields.get("media")
        rate_el = fields.get("rate")
        duration_el = fields.get("duration")
        media = MediaFile(
            file_id=file_id or f"anonymous-{_line(definition)}",
            name=_text(fields.get("name")) or None,
            pathurl=_text(fields.get("pathurl")) or None,
            rate=self._rate_of(rate_el, None) if rate_el is not None else None,
            duration=_opt_int(duration_el) if duration_el is not None else None,
            media_source=_text(fields.get("mediaSource")) or None,
            has_video=media_el is None or media_el.find("video") is not None,
            # Apple puts it in file/media/video; some writers put it on the file itself
            stillframe=_flag(_text(fields.get("stillframe")), False)
            or (media_el is not None and _flag(media_el.findtext("video/stillframe"), False)),
        )
        if media_el is not None:
            chars = media_el.find("video/samplecharacteristics")
            if chars is not None:
                media.width, media.height = _opt_int(chars, "width"), _opt_int(chars, "height")
            media.audio_channels = _to_int(media_el.findtext("audio/channelcount"))
        media.display_name = source_name(media.pathurl, media.name)
        dot = media.display_name.rfind(".")
        media.extension = media.display_name[dot:].casefold() if dot > 0 else ""
        self._files[media.file_id] = media
        return media, None

    def _filter(self, el: etree._Element) -> Filter:
        fields = {child.tag: child for child in el}
        effect = fields.get("effect")
        about = (
            {} if effect is None else {c.tag: c for c in effect if c.tag in ("effectid", "name")}
        )
        return Filter(
            effect_id=_text(about.get("effectid")),
            name=_text(about.get("name")),
            enabled=_flag(_text(fields.get("enabled")), True),
            _element=effect,
            _parse=self._parameters,
        )

    def _parameters(self, effect: etree._Element | None) -> dict[str, Parameter]:
        params: dict[str, Parameter] = {}
        if effect is None:
            return params
        for param_el in effect.iterfind("parameter"):
            param_id, value_el, keyframe_els = "", None, []
            for child in param_el:
                tag = child.tag
                if tag == "keyframe":
                    keyframe_els.append(child)
                elif tag == "value":
                    value_el = child
                elif tag == "parameterid" or (tag == "name" and not param_id):
                    param_id = (child.text or "").strip()
            if param_id:
                params[param_id] = self._parameter(param_id, value_el, keyframe_els, param_el)
        return params

    def _parameter(self, param_id, value_el, keyframe_els, el) -> Parameter:
        param = Parameter(param_id, value=_numeric_components(value_el))
        frames: dict[str, list[Keyframe]] = {}
        for kf in keyframe_els:
            when = _to_number(kf.findtext("when"))
            if when is None:
                raise self.error("keyframe <when> is missing or not a number", kf)
            values = _numeric_components(kf.find("value"))
            if not values:
                self.warn(f"keyframe of {param_id!r} has no numeric <value>; skipped", kf)
            for component, value in values.items():
                frames.setdefault(component, []).append(Keyframe(when, value))
        for component, kfs in frames.items():
            whens = [k.when for k in kfs]
            if any(b < a for a, b in pairwise(whens)):
                self.warn(f"keyframes of {param_id!r} are not sorted by <when>; sorted them", el)
                kfs.sort(key=lambda k: k.when)
            param.keyframes[component] = kfs
        return param

    # -- main source ------------------------------------------------------------------------
    def _main_source(self, seq: Sequence) -> tuple[MediaFile | None, int | None]:
        coverage: Counter[str] = Counter()
        per_track: dict[int, Counter[str]] = {}
        for track in seq.tracks:
            if not track.enabled:
                continue
            counts = per_track.setdefault(track.index, Counter())
            for item in track.items:
                if item.enabled:
                    self._count(item, item.visible_start, item.visible_end, counts)
            coverage.update(counts)
        if not coverage:
            return None, None
        # ties go to the file seen first (Counter keeps insertion order; max keeps the first)
        main_id = max(coverage, key=coverage.__getitem__)
        base = max(per_track, key=lambda k: (per_track[k][main_id], -k))
        return self._files[main_id], base

    def _count(self, item: Item, lo: int, hi: int, counts: Counter) -> None:
        if hi <= lo:
            return
        if item.nested is not None:
            offset = item.in_ - item.start
            for track in item.nested.tracks:
                if not track.enabled:
                    continue
                for inner in track.items:
                    if inner.enabled:
                        a = max(inner.visible_start, lo + offset)
                        b = min(inner.visible_end, hi + offset)
                        self._count(inner, a, b, counts)
        elif item.file is not None and self.rules.can_be_main_source(item.file):
            counts[item.file.file_id] += hi - lo

    # -- values -----------------------------------------------------------------------------
    def _int(self, el, tag: str, required: bool = True, strict: bool = True) -> int | None:
        child = el.find(tag)
        if child is None or child.text is None or not child.text.strip():
            if required:
                raise self.error(f"<{tag}> is missing", el)
            return None
        if not strict and _to_number(child.text) is None:
            return None
        return self._whole(child, tag)

    def _rate(self, el: etree._Element, inherited: Rate | None) -> Rate | None:
        rate_el = el.find("rate")
        return inherited if rate_el is None else self._rate_of(rate_el, inherited)

    def _rate_of(self, rate_el: etree._Element, inherited: Rate | None) -> Rate | None:
        parts = {child.tag: child.text for child in rate_el}
        key = (parts.get("timebase"), parts.get("ntsc"))
        if key in self._rates:  # a document repeats a handful of rates thousands of times
            return self._rates[key]
        timebase = _to_number(key[0])
        if timebase is None:
            if inherited is not None:
                return inherited
            raise self.error("<rate> has no numeric <timebase>", rate_el)
        if round(timebase) < 1:  # 0.3 would round to a rate of 0 frames per second
            raise self.error(
                f"<timebase> must be a positive whole number, got {timebase:g}", rate_el
            )
        rate = self._rates[key] = Rate(round(timebase), _flag(key[1], False))
        return rate


def _numeric_components(value_el: etree._Element | None) -> dict[str, float]:
    if value_el is None:
        return {}
    if len(value_el):
        out = {}
        for comp in ("horiz", "vert"):
            number = _to_number(value_el.findtext(comp))
            if number is not None:
                out[comp] = number
        return out
    number = _to_number(value_el.text)
    return {} if number is None else {"": number}


def _to_number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _opt_int(el: etree._Element, tag: str | None = None) -> int | None:
    value = _to_number(el.findtext(tag) if tag else el.text)
    return None if value is None else round(value)


def _to_int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if _INTEGER.fullmatch(text) else None


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _flag(text: str | None, default: bool) -> bool:
    if text is None or not text.strip():
        return default
    return text.strip().lower() == "true"


def _line(el: etree._Element | None) -> int | None:
    return getattr(el, "sourceline", None) if el is not None else None
