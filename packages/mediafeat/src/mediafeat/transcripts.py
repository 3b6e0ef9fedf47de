"""Transcript files -> words on the recording's clock: SubRip, WebVTT and JSON word lists.

Cue-level transcripts (a line of text per cue) carry no word timings, so each cue's words are
spread back to back over the cue, each taking a share of its duration proportional to its
length in characters (punctuation included). YouTube's word-level WebVTT is read from its
inline timestamps instead: a word starts at its `<00:00:01.500>` tag (the first at the cue's
start) and lasts until the next word starts (the last until its cue ends); the rolling repeats
of the previous caption line are dropped.

What is not a spoken word is dropped from every format: tags (`<i>`, `<c.colour>`, `<v Name>`,
`{\\an8}`), bracketed sound descriptions (`[Music]`, `(laughs)`) and tokens without a letter or
digit (`-`, `>>`, `♪`).
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from mediafeat.errors import TranscriptError


@dataclass(frozen=True)
class Word:
    start: float  # seconds on the recording clock
    end: float
    text: str
    probability: float | None = None  # the recogniser's confidence, where there is one

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"word {self.text!r}: times must be finite")
        if self.end < self.start:
            raise ValueError(
                f"word {self.text!r}: ends ({self.end}) before it starts ({self.start})"
            )

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "probability": self.probability,
        }


def read_transcript(path) -> list[Word]:
    """Words from a .srt, .vtt or .json transcript, sorted by start time."""
    path = Path(path)
    readers = {".srt": _read_srt, ".vtt": _read_vtt, ".json": _read_json}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise TranscriptError(
            f"unknown transcript type {path.suffix!r} (expected .srt, .vtt or .json)",
            source=str(path),
        )
    words = reader(_read_text(path), str(path))
    return sorted(words, key=lambda w: (w.start, w.end))


# ---- text, tags, cue splitting ----------------------------------------------------------------

_BOMS = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TranscriptError(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    encoding = "utf-8"
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            data, encoding = data[len(bom) :], name
            break
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TranscriptError(
            f"not {encoding.upper()} text", source=str(path), where=f"line {line}"
        ) from exc


_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # HTML-like tags and ASS overrides such as {\an8}
_SOUND = re.compile(r"\[[^\]]*\]|\([^)]*\)")  # [Music], (laughs): not spoken words
_HAS_WORD = re.compile(r"\w")


def clean_text(text: str) -> list[str]:
    """The spoken words of a caption's text."""
    text = html.unescape(_TAG.sub(" ", text))
    text = _SOUND.sub(" ", text)
    return [t for t in text.split() if _HAS_WORD.search(t)]


def split_cue(start: float, end: float, text: str) -> list[Word]:
    """A cue's words, back to back over [start, end], each lasting in proportion to its
    character length."""
    tokens = clean_text(text)
    if not tokens:
        return []
    lengths = [len(t) for t in tokens]
    total, done, span = sum(lengths), 0, end - start
    words = []
    for token, length in zip(tokens, lengths, strict=True):
        w_start = start + span * done / total
        done += length
        words.append(Word(w_start, start + span * done / total if done < total else end, token))
    return words


# ---- timestamps ---------------------------------------------------------------------------------

_STAMP = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})")
_TIMING = re.compile(r"^\s*([\d:.,]+)\s*-->\s*([\d:.,]+)(?:\s.*)?$")


def _stamp(text: str) -> float | None:
    m = _STAMP.fullmatch(text.strip())
    if m is None:
        return None
    hours, minutes, seconds, frac = m.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        return None
    return (
        int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(frac.ljust(3, "0")) / 1000
    )


def _timing(line: str, source: str, lineno: int) -> tuple[float, float]:
    """(start, end) of a cue's timing line; anything after the end time (VTT cue settings,
    SRT position coordinates) is ignored."""
    m = _TIMING.match(line)
    times = (_stamp(m.group(1)), _stamp(m.group(2))) if m else (None, None)
    if times[0] is None or times[1] is None:
        raise TranscriptError(f"bad timing {line.strip()!r}", source=source, where=f"line {lineno}")
    if times[1] < times[0]:
        raise TranscriptError(
            f"bad timing {line.strip()!r}: it ends before it starts",
            source=source,
            where=f"line {lineno}",
        )
    return times


def _blocks(text: str, blank=str.isspace):
    """(first line number, lines) of each block between blank lines; CRLF and CR tolerated."""
    block, first = [], 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not block and line.isspace():
            continue  # nothing starts with a whitespace-only line
        if line and not blank(line):
            if not block:
                first = lineno
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block


# ---- SubRip -------------------------------------------------------------------------------------


def _read_srt(text: str, source: str) -> list[Word]:
    words = []
    for lineno, lines in _blocks(text):
        # the cue number is optional in practice (some tools drop it)
        skip = 1 if lines[0].strip().isdigit() and len(lines) > 1 else 0
        start, end = _timing(lines[skip], source, lineno + skip)
        payload = _payload(lines[skip + 1 :], lineno + skip + 1, source)
        words += split_cue(start, end, " ".join(text for _, text in payload))
    return words


def _payload(lines: list[str], first: int, source: str) -> list[tuple[int, str]]:
    """(line number, text) of a cue's text lines; a timing line among them means two cues
    ran together, which would turn the second cue's times into words."""
    for lineno, line in enumerate(lines, start=first):
        if "-->" in line:
            raise TranscriptError("a timing line inside a cue (cues are separated by an "
                                  "empty line)", source=source, where=f"line {lineno}")  # fmt: skip
    return list(enumerate(lines, start=first))


# ---- WebVTT -------------------------------------------------------------------------------------

_INLINE = re.compile(r"<((?:\d+:)?\d{1,2}:\d{1,2}\.\d{1,3})>")
_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def _read_vtt(text: str, source: str) -> list[Word]:
    # only an empty line ends a cue: YouTube's cues hold lines of a single space
    blocks = list(_blocks(text, blank=lambda line: False))
    _check_vtt_header(blocks, source)
    # YouTube's word-level captions repeat the last line at the top of the next cue; elsewhere
    # two cues with the same text are two utterances
    rolling = any(_INLINE.search(line) for _, lines in blocks for line in lines)
    words: list[Word] = []
    previous = None
    for lineno, lines in blocks[1:]:
        if lines[0].split(maxsplit=1)[0] in _SKIPPED_BLOCKS:  # a block starts with a word
            continue
        skip = _vtt_timing_index(lineno, lines, source)
        start, end = _timing(lines[skip], source, lineno + skip)
        for offset, payload in _payload(lines[skip + 1 :], lineno + skip + 1, source):
            plain = " ".join(clean_text(payload))
            if _INLINE.search(payload):
                words += _timed_line(start, end, payload, source, offset)
            elif plain and not (rolling and plain == previous):
                words += split_cue(start, end, payload)
            if plain:
                previous = plain
    return words


def _check_vtt_header(blocks, source: str) -> None:
    if not blocks or not re.match(r"WEBVTT(\s|$)", blocks[0][1][0]):
        raise TranscriptError(
            "not a WebVTT file: the first line must be 'WEBVTT'", source=source, where="line 1"
        )
    first, header = blocks[0]
    for i, line in enumerate(header):
        if "-->" in line:
            raise TranscriptError(
                "a cue inside the header (an empty line must follow it)",
                source=source,
                where=f"line {first + i}",
            )


def _vtt_timing_index(lineno: int, lines: list[str], source: str) -> int:
    """Where a cue's timing line is: first, or after an identifier line."""
    if "-->" in lines[0]:
        return 0
    if len(lines) > 1 and "-->" in lines[1]:
        return 1
    # no timing line: blame the first line if it starts like one, else the line after the id
    at = 0 if len(lines) == 1 or _STAMP.match(lines[0].strip()) else 1
    raise TranscriptError(
        f"bad timing {lines[at].strip()!r}", source=source, where=f"line {lineno + at}"
    )


def _timed_line(start: float, end: float, payload: str, source: str, lineno: int) -> list[Word]:
    """Words of a YouTube caption line `w0<t1><c> w1</c><t2><c> w2</c>`: w_i starts at t_i
    and lasts until w_{i+1} starts; the last lasts until the cue ends."""
    pieces = _INLINE.split(payload)  # text, stamp, text, stamp, ...
    starts = [start] + [_stamp(s) for s in pieces[1::2]]
    if any(s is None for s in starts):
        raise TranscriptError("bad inline timestamp", source=source, where=f"line {lineno}")
    timed = [
        (min(max(t, start), end), piece)
        for t, piece in zip(starts, pieces[0::2], strict=True)
        if clean_text(piece)
    ]
    words = []
    for i, (t0, piece) in enumerate(timed):
        t1 = timed[i + 1][0] if i + 1 < len(timed) else end
        words += split_cue(t0, max(t0, t1), piece)  # a piece rarely holds more than one word
    return words


# ---- JSON ---------------------------------------------------------------------------------------


def _read_json(text: str, source: str) -> list[Word]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(
            f"invalid JSON: {exc.msg}", source=source, where=f"line {exc.lineno}"
        ) from exc
    words = []
    for where, entry in _json_entries(data, source):
        words += _json_word(entry, source, where)
    return words


def _json_entries(data, source: str):
    """(JSON path, object) of every word (or untimed-words segment) in the accepted layouts."""
    if isinstance(data, dict) and "words" in data:
        yield from _json_list(data["words"], "words", source)
    elif isinstance(data, dict) and "segments" in data:
        for where, segment in _json_list(data["segments"], "segments", source):
            if isinstance(segment, dict) and "words" in segment:
                yield from _json_list(segment["words"], f"{where}.words", source)
            else:  # a segment without word timings: split it like a cue
                yield where, segment
    elif isinstance(data, list):
        yield from _json_list(data, "", source)
    else:
        raise TranscriptError(
            'expected a list of words, {"words": [...]} or {"segments": [{"words": [...]}]}',
            source=source,
        )


def _json_list(items, where: str, source: str):
    if not isinstance(items, list):
        raise TranscriptError("expected a list", source=source, where=where or None)
    for i, item in enumerate(items):
        yield f"{where}[{i}]", item


def _json_word(entry, source: str, where: str) -> list[Word]:
    def fail(message):
        return TranscriptError(message, source=source, where=where)

    if not isinstance(entry, dict):
        raise fail(f"expected an object with start, end and word, got {type(entry).__name__}")
    text = entry.get("word", entry.get("text"))
    if not isinstance(text, str):
        raise fail("no 'word' or 'text' string")
    start, end = (_json_time(entry, key, fail) for key in ("start", "end"))
    if end < start:
        raise fail(f"ends ({end}) before it starts ({start})")
    probability = entry.get("probability", entry.get("score"))
    words = split_cue(start, end, text)
    if len(words) == 1 and isinstance(probability, int | float):
        words = [Word(start, end, words[0].text, float(probability))]
    return words


def _json_time(entry: dict, key: str, fail) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"no numeric {key!r} time")
    if not math.isfinite(value) or value < 0:
        raise fail(f"bad {key!r} time {value!r}")
    return float(value)
