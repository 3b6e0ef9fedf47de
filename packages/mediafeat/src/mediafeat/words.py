"""The words modality: words (from a transcript file or a local speech model) -> a table on a
regular grid (word_active, is_filler, words_per_s) and the words themselves in words.json
(featalign drops string columns, so the text lives beside the table).

Fillers: hesitation sounds (um, uh, erm, er, ah, hmm, mm, ... and their drawn-out spellings
such as "ummm" or "hmmm") and the discourse fillers "like", "you know", "i mean" (and
"y'know"). A word is compared in lower case with the punctuation around it stripped. "like"
is marked wherever it is said, also in "I like it": telling the two apart needs a parser, and
an editor's cut points care more about the hesitations, which are unambiguous.

words_per_s at time t counts the words that start in the window [t - 1 s, t + 1 s) and
divides by the part of that window inside the recording, so a steady speaker reads the same
rate up to both ends.
"""

from __future__ import annotations

import re

import numpy as np

from mediafeat.asr import SpeechNotInstalledError, check_model_dir, transcribe
from mediafeat.columns import TIME
from mediafeat.jsonfile import write_json
from mediafeat.transcripts import Word, read_transcript

__all__ = ["FILLERS", "RATE_WINDOW_S", "WORDS_JSON_VERSION", "SpeechNotInstalledError", "Word",
           "check_model_dir", "filler_flags", "is_filler", "read_transcript", "read_words_json",
           "transcribe", "words_table", "write_words_json"]  # fmt: skip

FILLERS: frozenset[str] = frozenset({
    "um", "umm", "uhm", "uh", "uhh", "erm", "er", "err", "ah", "ahh", "eh", "hmm", "hm", "mm",
    "mmm", "mhm", "uh-huh", "mm-hmm",
    "like", "y'know", "you know", "i mean",
})  # fmt: skip
_DRAWN_OUT = re.compile(r"u+h*m+|u+h+|e+r+m*|a+h+|h+m+|m+h*m+|e+h+")  # ummm, uhhh, hmmmm
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")  # inner ' and - stay: y'know, mm-hmm
_PHRASE_WORDS = max(len(f.split()) for f in FILLERS)

RATE_WINDOW_S = 2.0
WORDS_JSON_VERSION = 1


def _normal(text: str) -> str:
    return _EDGE_PUNCT.sub("", text.lower().replace("’", "'"))


def _is_filler_normal(norm: str) -> bool:
    return norm in FILLERS or _DRAWN_OUT.fullmatch(norm) is not None


def is_filler(text: str) -> bool:
    """Whether a word, or a phrase of words separated by spaces, is a filler."""
    return _is_filler_normal(" ".join(_normal(t) for t in text.split()))


def filler_flags(words: list[Word]) -> list[bool]:
    """For each word (in the given order): is it a filler, or part of a filler phrase such as
    "you know" said as consecutive words?"""
    norms = [_normal(w.text) for w in words]
    flags = [_is_filler_normal(n) for n in norms]
    for i in range(len(words)):
        for n in range(2, _PHRASE_WORDS + 1):
            if i + n <= len(words) and " ".join(norms[i : i + n]) in FILLERS:
                flags[i : i + n] = [True] * n
    return flags


def _grid(duration_s: float, rate_hz: float) -> np.ndarray:
    if not (np.isfinite(duration_s) and duration_s >= 0):
        raise ValueError(f"duration_s must be finite and >= 0, not {duration_s!r}")
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz must be > 0, not {rate_hz!r}")
    # the small tolerance keeps the last row when duration_s * rate_hz is an integer
    # that floating point puts a hair below
    return np.arange(int(np.floor(duration_s * rate_hz + 1e-9)) + 1, dtype=np.float64) / rate_hz


def _coverage(time: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """1 on the rows with start <= t < end for some span (ends are exclusive)."""
    change = np.zeros(len(time) + 1, dtype=np.int64)
    if spans:
        starts, ends = np.asarray(spans, dtype=np.float64).T
        np.add.at(change, np.searchsorted(time, starts, side="left"), 1)
        np.add.at(change, np.searchsorted(time, ends, side="left"), -1)
    return (np.cumsum(change[:-1]) > 0).astype(np.int8)


def _rate(time: np.ndarray, starts: np.ndarray, duration_s: float, window_s: float) -> np.ndarray:
    lo = np.maximum(time - window_s / 2, 0.0)
    hi = np.minimum(time + window_s / 2, duration_s)
    count = np.searchsorted(starts, hi, side="left") - np.searchsorted(starts, lo, side="left")
    length = hi - lo
    out = np.zeros(len(time), dtype=np.float64)
    # a recording shorter than a nanosecond has no rate (and would overflow the division)
    np.divide(count, length, out=out, where=length > 1e-9)
    return out.astype(np.float32)


def words_table(
    words: list[Word], duration_s: float, rate_hz: float = 50.0, window_s: float = RATE_WINDOW_S
) -> dict[str, np.ndarray]:
    """Rows at k / rate_hz covering [0, duration_s]: time (float64), word_active and is_filler
    (int8: 1 on rows inside a word / a filler, a word's end exclusive), words_per_s (float32)."""
    time = _grid(duration_s, rate_hz)
    ordered = sorted(words, key=lambda w: (w.start, w.end))
    flags = filler_flags(ordered)
    starts = np.array([w.start for w in ordered], dtype=np.float64)
    return {
        TIME: time,
        "word_active": _coverage(time, [(w.start, w.end) for w in ordered]),
        "is_filler": _coverage(
            time, [(w.start, w.end) for w, f in zip(ordered, flags, strict=True) if f]
        ),
        "words_per_s": _rate(time, starts, duration_s, window_s),
    }


def write_words_json(words: list[Word], path) -> None:
    """{"version": 1, "words": [{start, end, text, probability}, ...]}, UTF-8, written to a
    temporary file beside `path` and moved into place, so a reader never sees half a file."""
    write_json(path, {"version": WORDS_JSON_VERSION, "words": [w.to_dict() for w in words]})


def read_words_json(path) -> list[Word]:
    """The words of a words.json (the same reader as any JSON transcript)."""
    return read_transcript(path)
