"""The words modality: transcript readers, fillers, the words table, words.json, and the ASR
path on a tiny model the tests build.

Fixtures (tests/fixtures/words/):

- tiny_whisper.py builds a faster-whisper model folder in code (about 0.7 MB, well under a
  second; nothing binary is committed for it). Its decoder always reads " hi um ok" per 30 s
  window; see its docstring for how.
- speech_16k.wav (65 KB): 2.04 s of espeak-ng speech, 16 kHz mono int16, made once with
      espeak-ng -v en -s 160 -w s22.wav "hello there, this is a test"
  and resampled 22050 -> 16000 Hz with PyAV's AudioResampler (s16, mono). It exists so that
  faster-whisper's VAD filter has real speech to keep.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediafeat.asr import SpeechNotInstalledError, check_model_dir, transcribe
from mediafeat.errors import MediaError, ModelFileError, TranscriptError
from mediafeat.words import (
    FILLERS,
    Word,
    filler_flags,
    is_filler,
    read_transcript,
    words_table,
    write_words_json,
)

FIXTURES = Path(__file__).parent / "fixtures" / "words"


def write(path: Path, text: str, *, bom: bool = False, crlf: bool = False) -> Path:
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def texts(words: list[Word]) -> list[str]:
    return [w.text for w in words]


def spans(words: list[Word]) -> list[tuple[float, float]]:
    return [(round(w.start, 6), round(w.end, 6)) for w in words]


# ---- SubRip -------------------------------------------------------------------------------------

SRT = """1
00:00:01,000 --> 00:00:03,000
Hi <i>there</i>

2
00:00:04,500 --> 00:00:06,000
[Music]
- Yes, café!

"""


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
def test_srt_words_spread_over_each_cue_by_character_length(tmp_path, bom, crlf):
    words = read_transcript(write(tmp_path / "talk.srt", SRT, bom=bom, crlf=crlf))
    # "Hi" (2 chars) and "there" (5) share 2 s: 4/7 s and 10/7 s; "[Music]" and "-" are no
    # words; "Yes," (4) and "café!" (5) share 1.5 s
    assert texts(words) == ["Hi", "there", "Yes,", "café!"]
    split = 4.5 + 1.5 * 4 / 9
    assert spans(words) == spans([Word(1, 1 + 4 / 7, ""), Word(1 + 4 / 7, 3, ""),
                                  Word(4.5, split, ""), Word(split, 6, "")])  # fmt: skip


def test_srt_without_cue_numbers_and_with_sloppy_timings(tmp_path):
    text = "00:00:01.5 --> 00:00:02.000 X1:10 X2:20\nokay\n\n  \n1:00:00,000-->1:00:01,000\nlater\n"
    words = read_transcript(write(tmp_path / "a.srt", text))
    assert texts(words) == ["okay", "later"]
    assert spans(words) == [(1.5, 2.0), (3600.0, 3601.0)]


def test_empty_srt_has_no_words(tmp_path):
    assert read_transcript(write(tmp_path / "empty.srt", "\n\n")) == []


def _srt_with_fourth_timing(timing: str) -> str:
    good = "".join(f"{i}\n00:00:0{i},000 --> 00:00:0{i},500\nword\n\n" for i in range(1, 4))
    return good + f"4\n{timing}\nlast\n"  # the timing line is line 14


@pytest.mark.parametrize(
    ("timing", "why"),
    [
        ("00:00:03,000 -> 00:00:01,000", "bad timing '00:00:03,000 -> 00:00:01,000'"),
        ("00:00:03,000 --> 00:00:01,000", "ends before it starts"),
        ("00:61:00,000 --> 00:62:00,000", "bad timing"),
        ("hello", "bad timing 'hello'"),
    ],
)
def test_malformed_srt_names_file_and_line(tmp_path, timing, why):
    path = write(tmp_path / "talk.srt", _srt_with_fourth_timing(timing))
    with pytest.raises(TranscriptError, match="line 14") as err:
        read_transcript(path)
    assert str(err.value).startswith(f"{path}: line 14: ")
    assert why in str(err.value)


def test_srt_cues_run_together_are_refused(tmp_path):
    text = "1\n00:00:01,000 --> 00:00:02,000\nhi\n2\n00:00:03,000 --> 00:00:04,000\nyo\n"
    path = write(tmp_path / "joined.srt", text)
    with pytest.raises(TranscriptError, match=r"joined\.srt: line 5: a timing line inside a cue"):
        read_transcript(path)


def test_transcript_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin.srt"
    path.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n")
    with pytest.raises(TranscriptError, match=r"latin\.srt: line 3: not UTF-8"):
        read_transcript(path)


def test_unknown_transcript_type_is_refused(tmp_path):
    with pytest.raises(TranscriptError, match=r"notes\.txt.*unknown transcript type"):
        read_transcript(write(tmp_path / "notes.txt", "hello"))


# ---- WebVTT -------------------------------------------------------------------------------------

PREMIERE_VTT = """WEBVTT
Kind: captions
Language: en

NOTE exported by a caption tool
with a second line

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:02.000 align:start position:10% line:85%
<v Anna>So rock&amp;roll &amp;</v>

2
00:00:02.500 --> 00:00:03.500
<c.yellow>right</c>

00:00:04.000 --> 00:00:05.000
right

~
00:00:06.000 --> 00:00:07.000
~
""".replace("~", " ")  # a cue led by a line of one space, and one without words


@pytest.mark.parametrize("crlf", [False, True])
def test_vtt_with_headers_notes_styles_settings_and_tags(tmp_path, crlf):
    words = read_transcript(write(tmp_path / "premiere.vtt", PREMIERE_VTT, bom=True, crlf=crlf))
    # two cues saying "right" are two utterances (only YouTube's rolling captions repeat lines)
    assert texts(words) == ["So", "rock&roll", "right", "right"]  # a lone "&" is no word
    assert spans(words) == [(1.0, round(1 + 2 / 11, 6)), (round(1 + 2 / 11, 6), 2.0),
                            (2.5, 3.5), (4.0, 5.0)]  # fmt: skip


YOUTUBE_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.149 align:start position:0%
~
hey<00:00:00.359><c> guys</c><00:00:00.780><c> welcome</c><00:00:01.140><c> back</c>

00:00:02.149 --> 00:00:02.159 align:start position:0%
hey guys welcome back
~

00:00:02.159 --> 00:00:04.910 align:start position:0%
hey guys welcome back
to<00:00:02.480><c> the</c><00:00:02.700><c> channel</c>

00:00:04.910 --> 00:00:04.920 align:start position:0%
to the channel
~

00:00:04.920 --> 00:00:06.000 align:start position:0%
to the channel
[Music]
""".replace("~", " ")  # YouTube's cues hold lines of one space


def test_youtube_word_level_vtt_uses_inline_times_and_drops_rolling_repeats(tmp_path):
    words = read_transcript(write(tmp_path / "yt.en.vtt", YOUTUBE_VTT))
    assert texts(words) == ["hey", "guys", "welcome", "back", "to", "the", "channel"]
    assert spans(words) == [(0.0, 0.359), (0.359, 0.78), (0.78, 1.14), (1.14, 2.149),
                            (2.159, 2.48), (2.48, 2.7), (2.7, 4.91)]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ("00:00:01.000 --> 00:00:02.000\nhi\n", 1, "not a WebVTT file"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n\n00:00:03.000 - 00:00:04.000\nyo\n", 6,
         "bad timing '00:00:03.000 - 00:00:04.000'"),
        ("WEBVTT\n\nid\n00:00:03.000 --> 00:00:02.000\nyo\n", 4, "ends before it starts"),
        ("WEBVTT\n\nid\nyo\n", 4, "bad timing 'yo'"),
        ("WEBVTT\n00:00:01.000 --> 00:00:02.000\nhi\n", 2, "a cue inside the header"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n00:00:03.000 --> 00:00:04.000\n", 5,
         "a timing line inside a cue"),
    ],
)  # fmt: skip
def test_malformed_vtt_names_file_and_line(tmp_path, text, line, why):
    path = write(tmp_path / "bad.vtt", text)
    with pytest.raises(TranscriptError) as err:
        read_transcript(path)
    assert str(err.value).startswith(f"{path}: line {line}: ")
    assert why in str(err.value)


def test_vtt_with_broken_inline_stamp_keeps_the_text(tmp_path):
    # "<00:00:01.5x>" is no timestamp, so it is an unknown tag: dropped, the words stay
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi<00:00:01.5x><c> yo</c>\n"
    assert texts(read_transcript(write(tmp_path / "a.vtt", text))) == ["hi", "yo"]


# ---- JSON ---------------------------------------------------------------------------------------


def test_json_layouts(tmp_path):
    flat = [{"start": 0.5, "end": 0.9, "word": " Hello"}, {"start": 1.0, "end": 1.2, "text": "um,"}]
    nested = {"words": [{"start": 2.0, "end": 2.5, "text": "yo", "probability": 0.75}]}
    whisper = {"segments": [
        {"start": 0.0, "end": 2.0, "text": " two words",
         "words": [{"start": 0.0, "end": 0.8, "word": " two", "probability": 0.9},
                   {"start": 0.9, "end": 2.0, "word": " words", "probability": 0.5}]},
        {"start": 3.0, "end": 4.0, "text": "ab abcdef"},  # no word timings: split like a cue
    ]}  # fmt: skip
    got = {name: read_transcript(write(tmp_path / f"{name}.json", json.dumps(doc)))
           for name, doc in [("flat", flat), ("nested", nested), ("whisper", whisper)]}  # fmt: skip
    assert got["flat"] == [Word(0.5, 0.9, "Hello"), Word(1.0, 1.2, "um,")]
    assert got["nested"] == [Word(2.0, 2.5, "yo", 0.75)]
    assert got["whisper"][:2] == [Word(0.0, 0.8, "two", 0.9), Word(0.9, 2.0, "words", 0.5)]
    assert texts(got["whisper"][2:]) == ["ab", "abcdef"]
    assert spans(got["whisper"][2:]) == [(3.0, 3.25), (3.25, 4.0)]


@pytest.mark.parametrize(
    ("doc", "where", "why"),
    [
        ('[{"start": 1, "end": 2, "word": "a"},\n {"start": 1 "end": 2}]', "line 2",
         "invalid JSON"),
        ('{"words": [{"start": 1, "end": 2, "word": "a"}, {"end": 2, "word": "b"}]}', "words[1]",
         "no numeric 'start'"),
        ('{"segments": [{"words": [{"start": 3, "end": 2, "word": "a"}]}]}',
         "segments[0].words[0]", "ends (2.0) before it starts (3.0)"),
        ('[{"start": 1, "end": 2}]', "[0]", "no 'word' or 'text'"),
        ('[{"start": -1, "end": 2, "word": "a"}]', "[0]", "bad 'start' time"),
        ('{"text": "hello"}', None, "expected a list of words"),
    ],
)  # fmt: skip
def test_malformed_json_names_file_and_place(tmp_path, doc, where, why):
    path = write(tmp_path / "w.json", doc)
    with pytest.raises(TranscriptError) as err:
        read_transcript(path)
    prefix = f"{path}: {where}: " if where else f"{path}: "
    assert str(err.value).startswith(prefix)
    assert why in str(err.value)


def test_word_refuses_an_end_before_its_start():
    with pytest.raises(ValueError, match="before it starts"):
        Word(2.0, 1.0, "x")


# ---- words.json ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["talk.srt", "yt.vtt", "w.json"])
def test_read_write_read_gives_the_same_words(tmp_path, name):
    probable = [{"start": 0.1, "end": 0.3, "word": "naïve", "score": 0.4}]
    source = {"talk.srt": SRT, "yt.vtt": YOUTUBE_VTT, "w.json": json.dumps(probable)}
    words = read_transcript(write(tmp_path / name, source[name]))
    assert words
    out = tmp_path / "out" / "words.json"
    out.parent.mkdir()
    write_words_json(words, out)
    assert read_transcript(out) == words
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["version"] == 1 and len(doc["words"]) == len(words)
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def test_write_words_json_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "words.json"
    write_words_json([Word(0, 1, "old")], out)
    before = out.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_full)  # fails after the temporary file is written
    with pytest.raises(OSError, match="disk full"):
        write_words_json([Word(0, 1, "new")], out)
    assert out.read_bytes() == before
    assert list(tmp_path.iterdir()) == [out]


def test_words_json_keeps_non_ascii_text_as_utf8(tmp_path):
    out = tmp_path / "words.json"
    write_words_json([Word(0, 1, "café")], out)
    assert "café" in out.read_bytes().decode("utf-8")


# ---- fillers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["um", "Um,", "UHHH...", "erm", "er", "ah!", "hmmm", "mm-hmm",
                                  "Like,", "y’know", "you know", "I mean", "'um'"])  # fmt: skip
def test_fillers(text):
    assert is_filler(text)


@pytest.mark.parametrize("text", ["umbrella", "her", "liked", "know", "you", "mean", "ahead", ""])
def test_not_fillers(text):
    assert not is_filler(text)


def test_filler_phrases_in_a_word_sequence():
    said = ["so", "you", "know", "I", "mean", "it", "um", "you", "see", "know"]
    words = [Word(i, i + 0.5, t) for i, t in enumerate(said)]
    flagged = [w.text for w, f in zip(words, filler_flags(words), strict=True) if f]
    assert flagged == ["you", "know", "I", "mean", "um"]
    assert {"um", "uh", "like", "you know", "i mean"} <= FILLERS


# ---- the words table ----------------------------------------------------------------------------


def test_words_table_at_known_times():
    words = [Word(1.0, 1.5, "Hello"), Word(2.0, 2.4, "um,"), Word(2.4, 2.6, "you"),
             Word(2.6, 2.7, "know")]  # fmt: skip
    table = words_table(words, duration_s=3.0, rate_hz=50)
    assert list(table) == ["time", "word_active", "is_filler", "words_per_s"]
    assert len(table["time"]) == 151 and table["time"][-1] == 3.0
    assert table["time"].dtype == np.float64 and table["words_per_s"].dtype == np.float32
    assert table["word_active"].dtype == np.int8 and table["is_filler"].dtype == np.int8
    active = np.flatnonzero(table["word_active"])  # rows k with start <= k / 50 < end
    assert active.tolist() == list(range(50, 75)) + list(range(100, 135))
    assert np.flatnonzero(table["is_filler"]).tolist() == list(range(100, 135))


def test_words_per_s_on_a_steady_speaker():
    rate, duration = 4.0, 20.0
    words = [Word(k / rate, k / rate + 0.1, "word") for k in range(int(duration * rate))]
    table = words_table(words, duration, rate_hz=50)
    inside = (table["time"] >= 1.0) & (table["time"] <= duration - 1.0)
    np.testing.assert_allclose(table["words_per_s"][inside], rate, rtol=0, atol=1e-6)
    # at the ends the window is cut to the recording: still about the same rate
    np.testing.assert_allclose(table["words_per_s"][~inside], rate, atol=1.0)
    assert table["words_per_s"][0] == pytest.approx(4.0)  # [0, 1): 4 starts in 1 s


def test_words_table_edges():
    empty = words_table([], 1.0, rate_hz=10)
    assert len(empty["time"]) == 11 and not empty["word_active"].any()
    assert not empty["words_per_s"].any()
    assert len(words_table([], 0.0)["time"]) == 1
    late = words_table([Word(5.0, 6.0, "after")], 1.0, rate_hz=10)  # past the end: not on the grid
    assert not late["word_active"].any()
    with pytest.raises(ValueError, match="rate_hz"):
        words_table([], 1.0, rate_hz=0)
    with pytest.raises(ValueError, match="duration_s"):
        words_table([], float("nan"))


@st.composite
def non_overlapping_words(draw):
    gaps = draw(st.lists(st.floats(0.0, 3.0), min_size=0, max_size=30))
    lengths = draw(st.lists(st.floats(0.0, 2.0), min_size=len(gaps), max_size=len(gaps)))
    words, t = [], 0.0
    for gap, length in zip(gaps, lengths, strict=True):
        words.append(Word(t + gap, t + gap + length, "w"))
        t += gap + length
    tail = draw(st.floats(0.0, 5.0))
    return words, t + tail


@settings(max_examples=200, deadline=None)
@given(non_overlapping_words(), st.sampled_from([10.0, 25.0, 50.0, 29.97]))
def test_word_active_share_matches_speech_time(case, rate_hz):
    words, duration = case
    table = words_table(words, duration, rate_hz)
    m = len(table["time"])
    assert m == int(np.floor(duration * rate_hz + 1e-9)) + 1
    spoken = sum(w.end - w.start for w in words)
    # each word covers its length * rate rows, give or take one row at its edges
    rows = int(table["word_active"].sum())
    assert abs(rows - spoken * rate_hz) <= len(words) + 1e-6
    assert abs(rows / m - spoken * rate_hz / m) <= len(words) / m + 1e-9


# ---- speech to text: the model folder -----------------------------------------------------------


def _fake_model_dir(path: Path, skip: str = "") -> Path:
    path.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        if name != skip:
            (path / name).write_text("{}")
    return path


@pytest.mark.parametrize("skip", ["model.bin", "tokenizer.json", "config.json", "vocabulary.json"])
def test_incomplete_model_folder_is_refused_before_loading(tmp_path, skip):
    folder = _fake_model_dir(tmp_path / "whisper-tiny", skip)
    with pytest.raises(ModelFileError) as err:
        transcribe(np.zeros(16000, np.float32), folder)
    assert str(err.value).startswith(f"{folder}: not a faster-whisper model folder: missing ")
    assert skip.split(".")[0] in str(err.value)


def test_model_folder_that_does_not_exist_or_is_a_name(tmp_path):
    with pytest.raises(ModelFileError, match="no such folder"):
        check_model_dir(tmp_path / "nope")
    with pytest.raises(ModelFileError, match=r"tiny\.en: no such folder"):
        check_model_dir("tiny.en")  # a hub name, which faster-whisper would download
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(ModelFileError, match="is a file"):
        check_model_dir(tmp_path / "model.bin")
    older = _fake_model_dir(tmp_path / "older", "vocabulary.json")
    (older / "vocabulary.txt").write_text("")
    assert check_model_dir(older) == older


def test_missing_faster_whisper_is_a_marked_skip(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import now raises ImportError
    folder = _fake_model_dir(tmp_path / "model")
    with pytest.raises(SpeechNotInstalledError) as err:
        transcribe(np.zeros(16000, np.float32), folder)
    assert isinstance(err.value, MediaError) and isinstance(err.value, ImportError)
    assert "install xmlai-mediafeat[speech]" in str(err.value)
    assert err.value.hint == "words skipped: install xmlai-mediafeat[speech]"


def test_speech_audio_must_be_mono_and_finite(tmp_path):
    folder = _fake_model_dir(tmp_path / "model")
    with pytest.raises(MediaError, match="mono"):
        transcribe(np.zeros((2, 100), np.float32), folder)
    with pytest.raises(MediaError, match="NaN"):
        transcribe(np.full(100, np.nan, np.float32), folder)


# ---- speech to text: a tiny real model ----------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("ctranslate2")
    pytest.importorskip("tokenizers")
    spec = importlib.util.spec_from_file_location("tiny_whisper", FIXTURES / "tiny_whisper.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(tmp_path_factory.mktemp("tiny-whisper"))


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * 16000)) * 0.1).astype(
        np.float32
    )


def speech() -> np.ndarray:
    with wave.open(str(FIXTURES / "speech_16k.wav")) as f:
        assert f.getframerate() == 16000 and f.getnchannels() == 1
        return np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float32) / 32768


def assert_words_in(words: list[Word], lo: float, hi: float) -> None:
    assert all(isinstance(w, Word) for w in words)
    assert all(lo <= w.start <= w.end <= hi for w in words), words
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert all(isinstance(w.start, float) and isinstance(w.probability, float) for w in words)


def test_tiny_model_transcribes(tiny_model):
    lines = []
    words = transcribe(noise(3.0), tiny_model, vad_filter=False, log=lines.append)
    assert texts(words) == ["hi", "um", "ok"]
    assert_words_in(words, 0.0, 3.0)
    assert any("3 words" in line for line in lines)
    assert filler_flags(words) == [False, True, False]


def test_tiny_model_logs_to_a_logger(tiny_model, caplog):
    caplog.set_level(logging.INFO, logger="mediafeat")
    transcribe(noise(1.0), tiny_model, vad_filter=False, log=logging.getLogger("mediafeat"))
    assert "words: 3 words in 1.0 s" in caplog.text


def test_tiny_model_keeps_the_clock_past_the_first_window(tiny_model):
    words = transcribe(noise(35.0, seed=1), tiny_model, language="en", vad_filter=False)
    assert texts(words) == ["hi", "um", "ok"] * 2
    assert_words_in(words[:3], 0.0, 30.0)
    assert_words_in(words[3:], 30.0, 35.0)


def test_vad_filter_keeps_speech_on_the_original_clock(tiny_model):
    audio = np.zeros(12 * 16000, np.float32)
    voice = speech()
    audio[6 * 16000 : 6 * 16000 + len(voice)] = voice
    words = transcribe(audio, tiny_model)  # the VAD filter is on by default
    assert texts(words) == ["hi", "um", "ok"]
    # the VAD keeps the speech (6.0 .. 8.04 s) padded by 0.4 s each side
    assert_words_in(words, 6.0 - 0.5, 6.0 + len(voice) / 16000 + 0.5)
    assert transcribe(np.zeros(5 * 16000, np.float32), tiny_model) == []  # silence: no words
    assert transcribe(np.zeros(0, np.float32), tiny_model) == []


def test_tiny_model_refuses_an_unknown_language(tiny_model):
    with pytest.raises(MediaError, match="does not know language 'de'"):
        transcribe(noise(1.0), tiny_model, language="de")


def test_corrupt_model_file_is_a_model_file_error(tiny_model, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_model.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.bin").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=r"broken: cannot load the speech model"):
        transcribe(noise(1.0), broken)
