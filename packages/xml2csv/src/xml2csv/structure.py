"""Structural checks for xmeml documents (Final Cut Pro 7 XML interchange format, v4/v5).

``structure_problems(path, data=None)`` lists what is structurally wrong with a document, one
line per problem (``"line 12: <clipitem id='clipitem-3'>: required <name> is missing"``), and
returns an empty list for a sound one. It checks the elements an edit uses and leaves the rest
(bins, logging info, application data) alone. A document that cannot be parsed at all raises
``XmemlError`` from ``safexml.parse_document`` (entities, DTDs and the network stay off).

Sources. "Catalog" is Apple's *Final Cut Pro XML Interchange Format*, Elements catalog
(developer.apple.com/library/archive/documentation/AppleApplications/Reference/FinalCutPro_XML/
Elements/Elements.html; "+" marks a required subelement). "p.N" is a page of the same document's
PDF as cited in shared/docs/xmeml-format.md ("notes"). "Corpus" is the ten real exports in
shared/xmeml-corpus; every rule was run against them.

Required children (``RULES``):
- xmeml's version attribute (catalog "xmeml"; versions 1 to 5, Appendix E); sequence: +name,
  +duration, +rate (catalog) and media (not marked "+", but an edit without it has no tracks).
- rate +timebase, timecode, clipitem, generatoritem (with its effect, p.98), transitionitem,
  effect (p.99), parameter ("+value or +keyframe", p.100), keyframe (p.101-102), filter,
  marker, link, sourcetrack, samplecharacteristics, outputs/group/channel: the catalog's "+"
  entries as the notes give them.
- file: "The id Attribute" (p.14): an element with children defines its id, an empty
  ``<file id=X/>`` refers to it, and a reference needs a definition somewhere (before or after
  it: notes section 7). A definition needs a name or a pathurl (catalog "file"), a rate and
  media. ``<sequence id=X/>`` references work the same way (otio_premiere_example.xml:1244).
- track holds only clipitem, generatoritem, transitionitem, enabled, locked and
  outputchannelindex (catalog "track").

Values: pathurl starts with file://localhost/ or file:/// (file://HOST/ is accepted too) and
has RFC 2396's illegal characters %-escaped (p.83); -1 only for start/end beside a
transitionitem (p.39-40, Listing 3-17); other timing values whole numbers, end after start and
out after in; timebase a positive whole number (p.160); ntsc a Boolean; effecttype one of
filter/transition/generator/motion (p.99); mediatype video/audio; colour components 0..255;
width, height and samplerate positive; channel counts, trackindex and clipindex at least 1;
marker in >= 0 and out -1 or >= in; a link's linkclipref names a clipitem; stillframe not
directly under file (it belongs in file/media/video or a clipitem, p.88).

Order, kept to what the sources agree on (Apple's DTDs only list choices, not sequences):
- a track lists its items in time order (p.80, notes section 1);
- sequence: name, duration and rate before media (the catalog's subelement order; all exports);
- clipitem/generatoritem: name before duration, rate and the timing elements, start before
  end, in before out, file and filter after the timing block (every export in the corpus).

Relaxed because real exports break the stricter reading:
- start/end versus in/out: FCP7 (ccnmtl_*) and Hiero write in, out, start, end; Premiere and
  Resolve write start, end, in, out; only the order inside each pair is checked.
- name before duration before rate: Premiere writes a sequence's duration and rate before its
  name and a generatoritem's rate after its timing; only "before media" and "name first" stay.
- file duration: Premiere writes none for stills and for built-in media (Slug, GraphicAndType).
- link: only linkclipref is required (Resolve writes links without mediatype, trackindex and
  clipindex); those are checked when present. sourcetrack: FCP7 writes a video sourcetrack
  with no trackindex, so only mediatype is required.
- effecttype: FCP7 writes audiolevels and audiopan for its audio filters; both are accepted.
- parameter: Premiere keeps a text layer's content as <hash> instead of a value.
- timecodes inside effect parameter values (FCP7 Time Remap writes timebase 0 there) are data,
  not timing, and are not checked.
- ntsc: TRUE/FALSE in any case (Premiere wrote "False", nrk_other_are_og_odin.xml:15).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from xml2csv.safexml import parse_document

Element = etree._Element
TIMING = ("start", "end", "in", "out")
ITEMS = frozenset({"clipitem", "generatoritem", "transitionitem"})
# the catalog's four, plus the two FCP7 writes for its Audio Levels and Audio Pan filters
EFFECT_TYPES = ("filter", "transition", "generator", "motion", "audiolevels", "audiopan")
# timecodes kept as effect parameter data (FCP7 Time Remap's mappedduration has timebase 0):
# they time nothing in the edit, so they are not held to the edit's rules
PARAMETER_DATA = frozenset({"timecode", "rate", "timebase", "ntsc", "string", "frame"})


@dataclass(frozen=True)
class Rule:
    """What an element must hold: `required` child tags ("a|b": either will do), `before`
    pairs of tag groups (every child of the first group comes before every child of the
    second), and `allowed` (when set, the only child tags permitted)."""

    required: tuple[str, ...] = ()
    before: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    allowed: frozenset[str] | None = None


_ITEM_ORDER = (
    (("name",), ("duration", "rate", *TIMING)),
    (("start",), ("end",)),
    (("in",), ("out",)),
    (TIMING, ("file", "filter")),
)

RULES: dict[str, Rule] = {
    "sequence": Rule(
        ("name", "duration", "rate", "media"), before=((("name", "duration", "rate"), ("media",)),)
    ),
    "rate": Rule(("timebase",)),
    "timecode": Rule(("rate", "string|frame")),
    "clipitem": Rule(("name", "rate", *TIMING), before=_ITEM_ORDER),
    "generatoritem": Rule(("name", "rate", *TIMING, "effect"), before=_ITEM_ORDER),
    "transitionitem": Rule(("rate", "start", "end", "alignment", "effect")),
    "file": Rule(("name|pathurl", "rate", "media")),
    "effect": Rule(("name", "effectid", "effecttype", "mediatype")),
    "parameter": Rule(("parameterid|name", "value|keyframe|hash")),
    "keyframe": Rule(("when", "value")),
    "filter": Rule(("effect",)),
    "marker": Rule(("name", "in", "out")),
    "link": Rule(("linkclipref",)),
    "sourcetrack": Rule(("mediatype",)),
    "video/samplecharacteristics": Rule(("width", "height")),
    "audio/samplecharacteristics": Rule(("samplerate", "depth")),
    "outputs/group": Rule(("index", "numchannels", "channel")),
    "group/channel": Rule(("index",)),
    "track": Rule(allowed=ITEMS | {"enabled", "locked", "outputchannelindex"}),
}


def _whole(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def _number(text: str | None) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole_in(low: int, high: int | None, what: str) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        value = _whole(text)
        ok = value is not None and value >= low and (high is None or value <= high)
        return None if ok else what

    return check


def _positive(text: str) -> str | None:
    value = _number(text)
    return None if value is not None and value > 0 else "a positive number"


def _one_of(*choices: str, fold: bool = False) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        text = text.strip().upper() if fold else text.strip()
        return None if text in choices else " or ".join(choices)

    return check


# Leaf values, by tag: each check returns what was expected, or None when the value is fine.
VALUES: dict[str, Callable[[str], str | None]] = {
    "timebase": _whole_in(1, None, "a positive whole number"),
    "ntsc": _one_of("TRUE", "FALSE", fold=True),
    "width": _positive,
    "height": _positive,
    "samplerate": _positive,
    "numchannels": _whole_in(1, None, "a whole number >= 1"),
    "channelcount": _whole_in(1, None, "a whole number >= 1"),
    "trackindex": _whole_in(1, None, "a whole number >= 1"),
    "clipindex": _whole_in(1, None, "a whole number >= 1"),
    "mediatype": _one_of("video", "audio"),
    "effecttype": _one_of(*EFFECT_TYPES),
    **{c: _whole_in(0, 255, "a whole number 0..255") for c in ("alpha", "red", "green", "blue")},
}


@dataclass(frozen=True)
class _Ids:
    """The ids defined anywhere in the document, collected before the walk."""

    files: frozenset[str]
    sequences: frozenset[str]
    clipitems: frozenset[str]

    @classmethod
    def collect(cls, root: Element) -> _Ids:
        def defined(tag: str) -> frozenset[str]:
            return frozenset(e.get("id") for e in root.iter(tag) if len(e) and e.get("id"))

        items = frozenset(e.get("id") for e in root.iter("clipitem") if e.get("id"))
        return cls(defined("file"), defined("sequence"), items)


def structure_problems(path: str | Path, data: bytes | None = None) -> list[str]:
    """One line per structural problem in an xmeml document; empty when it is sound."""
    root = parse_document(path, data).getroot()
    ids = _Ids.collect(root)
    return [
        f"line {el.sourceline}: {_where(el)}: {message}"
        for el in root.iter()
        if isinstance(el.tag, str)
        for message in _check(el, ids)
    ]


def _tag(el: Element) -> str:
    return f"<{el.tag} id='{el.get('id')}'>" if el.get("id") is not None else f"<{el.tag}>"


def _where(el: Element) -> str:
    """The element, and the nearest ancestor with an id when it has none itself."""
    if el.get("id") is not None:
        return _tag(el)
    owner = next((a for a in el.iterancestors() if a.get("id") is not None), None)
    return f"{_tag(el)} in {_tag(owner)}" if owner is not None else _tag(el)


def _rule_key(el: Element) -> str:
    """samplecharacteristics differ for video and audio; a few tags are keyed by parent."""
    if el.tag == "samplecharacteristics":
        media = next((a.tag for a in el.iterancestors("video", "audio")), "")
        return f"{media}/samplecharacteristics"
    parent = el.getparent()
    qualified = f"{parent.tag}/{el.tag}" if parent is not None else el.tag
    return qualified if qualified in RULES else el.tag


def _check(el: Element, ids: _Ids) -> Iterator[str]:
    if el.tag in PARAMETER_DATA and next(el.iterancestors("parameter"), None) is not None:
        return
    if el.tag in ("file", "sequence") and len(el) == 0 and el.get("id") is not None:
        yield from _check_reference(el, ids)  # a reference holds nothing to check
        return
    rule = RULES.get(_rule_key(el))
    if rule is not None:
        yield from _check_rule(el, rule)
    if el.tag in VALUES and len(el) == 0:
        expected = VALUES[el.tag](el.text or "")
        if expected:
            yield f"value {(el.text or '').strip()!r}, expected {expected}"
    special = SPECIAL.get(el.tag)
    if special is not None:
        yield from special(el, ids)


def _check_rule(el: Element, rule: Rule) -> Iterator[str]:
    tags = [child.tag for child in el]
    for need in rule.required:
        if not any(option in tags for option in need.split("|")):
            names = " or ".join(f"<{t}>" for t in need.split("|"))
            yield f"required {names} is missing"
    for first, then in rule.before:
        last = max((i for i, t in enumerate(tags) if t in first), default=0)
        late = next((t for t in tags[:last] if t in then), None)
        if late is not None:
            yield f"<{late}> comes before <{tags[last]}>; expected after it"
    if rule.allowed is not None:
        for tag in dict.fromkeys(t for t in tags if t not in rule.allowed):
            yield f"<{tag}> is not allowed here"


def _check_reference(el: Element, ids: _Ids) -> Iterator[str]:
    known = ids.files if el.tag == "file" else ids.sequences
    if el.get("id") not in known:
        yield f"refers to {el.tag} id {el.get('id')!r}, which is defined nowhere in the document"


def _check_xmeml(el: Element, ids: _Ids) -> Iterator[str]:
    version = el.get("version")
    if version is None:
        yield "required attribute version is missing"
    elif _whole(version) not in range(1, 6):
        yield f"version {version!r}, expected 1 to 5"


def _neighbour_is_transition(el: Element, step: int) -> bool:
    """Whether the item before (step -1) or after (+1) `el` in its track is a transition."""
    parent = el.getparent()
    if parent is None or parent.tag != "track":
        return False
    items = [child for child in parent if child.tag in ITEMS]
    at = items.index(el) + step
    return 0 <= at < len(items) and items[at].tag == "transitionitem"


def _timing(el: Element) -> tuple[dict[str, int], list[str]]:
    """The whole-number timing values present, and a problem for each one that is not."""
    values, problems = {}, []
    for tag in TIMING:
        child = el.find(tag)
        if child is None:
            continue
        value = _whole(child.text)
        if value is None:
            problems.append(f"<{tag}> {(child.text or '').strip()!r} is not a whole number")
        else:
            values[tag] = value
    return values, problems


def _check_item(el: Element, ids: _Ids) -> Iterator[str]:
    values, problems = _timing(el)
    yield from problems
    for tag in ("in", "out"):
        if values.get(tag) == -1:
            yield f"<{tag}> is -1; only <start> and <end> may be -1 (beside a transition)"
    if values.get("start") == -1 and not _neighbour_is_transition(el, -1):
        yield "<start> is -1 but no transitionitem comes before it in the track"
    if values.get("end") == -1 and not _neighbour_is_transition(el, +1):
        yield "<end> is -1 but no transitionitem comes after it in the track"
    yield from _after("end", "start", values)
    yield from _after("out", "in", values)


def _after(late: str, early: str, values: dict[str, int]) -> Iterator[str]:
    a, b = values.get(late), values.get(early)
    if a is not None and b is not None and -1 not in (a, b) and a <= b:
        yield f"<{late}> {a} is not after <{early}> {b}"


def _check_transition(el: Element, ids: _Ids) -> Iterator[str]:
    values, problems = _timing(el)
    yield from problems
    yield from _after("end", "start", values)


# RFC 2396 leaves these unescaped nowhere: controls, space, non-ASCII, delims and "unwise".
_URL_START = re.compile(r"file://[^/\s]*/")
_URL_ILLEGAL = re.compile(r"[^\x21-\x7e]|[<>\"{}|\\^`]|%(?![0-9A-Fa-f]{2})")


def _check_pathurl(el: Element, ids: _Ids) -> Iterator[str]:
    url = (el.text or "").strip()
    if not _URL_START.match(url):
        yield f"{url!r} must start with file://localhost/, file:/// or file://HOST/"
    bad = _URL_ILLEGAL.search(url)
    if bad:
        yield f"{url!r} has {bad.group()!r} unescaped; a pathurl must be percent-encoded"


def _check_link(el: Element, ids: _Ids) -> Iterator[str]:
    ref = el.findtext("linkclipref")
    if ref is not None and ref.strip() not in ids.clipitems:
        yield f"<linkclipref> {ref.strip()!r} names no clipitem in the document"


def _check_marker(el: Element, ids: _Ids) -> Iterator[str]:
    in_text, out_text = el.findtext("in"), el.findtext("out")
    in_, out = _whole(in_text), _whole(out_text)
    if in_text is not None and (in_ is None or in_ < 0):
        yield f"<in> {in_text.strip()!r}, expected a whole number >= 0"
    if out_text is None or out == -1:  # -1: a point marker, no duration
        return
    if out is None or (in_ is not None and out < in_):
        yield f"<out> {out_text.strip()!r}, expected -1 or a whole number >= <in>"


def _check_track(el: Element, ids: _Ids) -> Iterator[str]:
    previous = None
    for item in (child for child in el if child.tag in ITEMS):
        start = _whole(item.findtext("start"))
        if start is None or start == -1:
            continue  # -1 follows from the transition before it; bad numbers are reported there
        if previous is not None and start < previous:
            yield (
                f"<{item.tag}> at line {item.sourceline} starts at {start}, before the item "
                f"ahead of it ({previous}); a track lists its items in time order"
            )
        previous = start


def _check_stillframe(el: Element, ids: _Ids) -> Iterator[str]:
    parent = el.getparent()
    if parent is not None and parent.tag == "file":
        yield "<stillframe> sits directly under <file>; it belongs in <file><media><video>"


SPECIAL: dict[str, Callable[[Element, _Ids], Iterator[str]]] = {
    "xmeml": _check_xmeml,
    "clipitem": _check_item,
    "generatoritem": _check_item,
    "transitionitem": _check_transition,
    "pathurl": _check_pathurl,
    "link": _check_link,
    "marker": _check_marker,
    "track": _check_track,
    "stillframe": _check_stillframe,
}
