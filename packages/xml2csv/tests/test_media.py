"""The recording a written edit points at: a pathurl Premiere opens, the file's real size, length,
sound and timecode, review markers, and exact rates over long edits."""

from __future__ import annotations

import json
import unicodedata
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xml2csv import Marker, SourceMedia, media_url, read_xmeml, sample, track_columns, xmeml_bytes
from xml2csv.media import timecode_frames
from xml2csv.names import source_name
from xml2csv.safexml import parse_document


@pytest.mark.parametrize(
    ("path", "root", "url"),
    [
        ("/Users/me/My Clip.mp4", None, "file://localhost/Users/me/My%20Clip.mp4"),
        ("D:\\rec\\My Clip.mp4", None, "file://localhost/D%3a/rec/My%20Clip.mp4"),
        ("D:/rec/talk.mp4", None, "file://localhost/D%3a/rec/talk.mp4"),
        ("\\\\nas\\media\\day 1\\talk.mp4", None, "file://nas/media/day%201/talk.mp4"),
        ("file:///x/My%20Clip.mp4", None, "file:///x/My%20Clip.mp4"),  # escaped once only
        ("file://localhost/x/A B.mp4", None, "file://localhost/x/A%20B.mp4"),
        ("rec/talk.mp4", "/data/media", "file://localhost/data/media/rec/talk.mp4"),
        ("../talk.mp4", "/data/media", "file://localhost/data/talk.mp4"),
        ("talk.mp4", "E:\\shoot", "file://localhost/E%3a/shoot/talk.mp4"),
        ("/a/100% ü.mov", None, "file://localhost/a/100%25%20%C3%BC.mov"),
    ],
)
def test_media_url_makes_the_pathurl_premiere_writes(path, root, url):
    assert media_url(path, root) == url


def test_a_relative_path_without_a_root_is_taken_from_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert media_url("rec/a b.mp4") == "file://localhost" + str(tmp_path / "rec" / "a%20b.mp4")


@given(
    st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
                min_size=1, max_size=12).filter(lambda t: t.strip(" .") == t and t),
        min_size=1, max_size=4,
    )
)  # fmt: skip
@example(["\U0002f800"])  # a CJK compatibility ideograph: its NFC is another code point
def test_the_file_name_comes_back_from_any_pathurl(parts):
    """What the reader makes of a written pathurl is the file's own name, whatever it holds, in
    NFC (the reader's rule, so a macOS NFD name matches; U+2F800 reads as U+4E3D)."""
    name = unicodedata.normalize("NFC", parts[-1])
    posix = "/" + "/".join(parts)
    assert source_name(media_url(posix)) == name
    windows = "C:\\" + "\\".join(parts)
    assert source_name(media_url(windows)) == name
    url = media_url(posix)
    assert " " not in url and url.isascii() and media_url(url) == url  # escaped exactly once


def one_shot(n=60, fps=Fraction(30000, 1001), first=100, name="talk.mp4"):
    seconds = (first + np.arange(n)) * fps.denominator / fps.numerator
    table = pd.DataFrame(
        np.tile([1, 1, 100, 0, 0, 0, 0, 0, 0], (n, 1)).astype(float), columns=track_columns(1)
    )
    meta = pd.DataFrame(
        {
            "edit_id": "e",
            "source_video_name": name,
            "frame": np.arange(n),
            "timestamp": np.arange(n) * fps.denominator / fps.numerator,
            "source_timestamp": seconds,
        }
    )
    return pd.concat([meta, table], axis=1)


def media_json(tmp_path, **changes) -> Path:
    data = {
        "format": "xmlai-media",
        "version": 1,
        "path": "/media/shoot/Day 1.mov",
        "has_audio": True,
        "fps": "30000/1001",
        "frame_count": 5000,
        "display_width": 1080,
        "display_height": 1920,
        "audio_channels": 2,
        "audio_sample_rate": 44100,
        "start_timecode": "01:00:00;00",
    } | changes
    path = tmp_path / "media.json"
    path.write_text(json.dumps(data))
    return path


def test_the_file_declares_the_recordings_own_size_length_sound_and_timecode(tmp_path):
    source = SourceMedia.from_media_json(media_json(tmp_path))
    root = parse_document("x.xml", xmeml_bytes(one_shot(), source=source)).getroot()
    file = root.find(".//file[@id='file-1']")
    assert file.findtext("name") == "Day 1.mov"
    assert file.findtext("pathurl") == "file://localhost/media/shoot/Day%201.mov"
    assert file.findtext("duration") == "5000"
    assert file.findtext("timecode/string") == "01:00:00;00"
    assert file.findtext("timecode/frame") == "107892"  # drop-frame: 18 numbers a minute skipped
    assert file.findtext("timecode/displayformat") == "DF"
    chars = file.find("media/video/samplecharacteristics")
    assert (chars.findtext("width"), chars.findtext("height")) == ("1080", "1920")
    assert file.findtext("media/audio/samplecharacteristics/samplerate") == "44100"
    assert file.findtext("media/audio/channelcount") == "2"
    sequence_chars = root.find("sequence/media/video/format/samplecharacteristics")
    assert (sequence_chars.findtext("width"), sequence_chars.findtext("height")) == ("1080", "1920")
    audio = root.find("sequence/media/audio")
    assert audio.findtext("format/samplecharacteristics/samplerate") == "44100"
    assert [g.findtext("channel/index") for g in audio.iterfind("outputs/group")] == ["1", "2"]
    timeline = read_xmeml("x.xml", data=xmeml_bytes(one_shot(), source=source))
    assert (timeline.main_source.width, timeline.main_source.height) == (1080, 1920)
    assert timeline.source_video_name == "Day 1.mov"


def test_a_recording_without_sound_gets_no_audio_tracks_and_mono_gets_one(tmp_path):
    silent = SourceMedia.from_media_json(media_json(tmp_path, has_audio=False, audio_channels=None))
    root = parse_document("x.xml", xmeml_bytes(one_shot(), source=silent)).getroot()
    assert root.findall("sequence/media/audio/track") == []
    assert root.find(".//file[@id='file-1']/media/audio") is None
    mono = SourceMedia(path="/m/a.wav.mp4", audio_channels=1)
    timeline = read_xmeml("x.xml", data=xmeml_bytes(one_shot(), source=mono))
    assert [[i.source_channel for i in t.items] for t in timeline.sequence.audio_tracks] == [[1]]


def test_arguments_override_the_media_facts_and_the_length_is_checked(tmp_path):
    source = SourceMedia(path="/m/a.mp4", width=1280, height=720, duration_frames=1000)
    data = xmeml_bytes(one_shot(), source=source, width=640, source_duration_frames=900)
    root = parse_document("x.xml", data).getroot()
    assert root.findtext(".//file[@id='file-1']/media/video/samplecharacteristics/width") == "640"
    assert root.findtext(".//file[@id='file-1']/duration") == "900"
    with pytest.raises(ValueError, match="source frames up to 160"):
        xmeml_bytes(one_shot(), source=SourceMedia(path="/m/a.mp4", duration_frames=150))


def test_media_root_places_a_relative_recording(tmp_path):
    data = xmeml_bytes(one_shot(name="day1/talk.mp4"), media_root="/Volumes/Shoot")
    root = parse_document("x.xml", data).getroot()
    file = root.find(".//file[@id='file-1']")
    assert file.findtext("pathurl") == "file://localhost/Volumes/Shoot/day1/talk.mp4"
    assert file.findtext("name") == "talk.mp4"


def test_markers_are_written_into_the_sequence_and_read_back():
    markers = [
        Marker("check V2", "overlay probability near the threshold", 12, 30),
        Marker("p", "", 5, -1),
    ]
    timeline = read_xmeml("x.xml", data=xmeml_bytes(one_shot(), markers=markers))
    assert timeline.sequence.markers == markers
    with pytest.raises(ValueError, match="outside the edit"):
        xmeml_bytes(one_shot(), markers=[Marker("late", "", 60, -1)])


@pytest.mark.parametrize("fps", [Fraction(60000, 1001), Fraction(24000, 1001)])
def test_an_hour_at_an_ntsc_rate_keeps_exact_time_to_the_last_frame(fps):
    n = round(3600 * fps)
    table = one_shot(n=n, fps=fps, first=0)
    timeline = read_xmeml("x.xml", data=xmeml_bytes(table))
    assert timeline.sequence.fps == fps
    back = sample(timeline, n_tracks=1)
    last = back["source_timestamp"].iloc[-1]
    assert abs(last - (n - 1) * fps.denominator / fps.numerator) < 1e-6
    assert abs(back["timestamp"].iloc[-1] - (n - 1) / float(fps)) < 1e-6


@pytest.mark.parametrize(
    ("text", "fps", "frame"),
    [
        ("00:00:01:00", Fraction(25), 25),
        ("01:00:00:00", Fraction(30000, 1001), 108000),
        ("00:01:00;02", Fraction(30000, 1001), 1800),
        ("00:10:00;00", Fraction(60000, 1001), 35964),
    ],
)
def test_timecodes_count_frames_as_editors_do(text, fps, frame):
    assert timecode_frames(text, fps)[0] == frame


def test_a_prediction_without_the_recordings_picture_still_plays_its_sound():
    """Frames kept for a still alone (no role 1 or 2 anywhere) carry the recording's time in a
    source-view prediction: the sound plays there rather than leaving the edit silent."""
    table = one_shot(n=30, first=200)
    table["t01_asset"] = 4  # a still on V1, the recording nowhere on screen
    timeline = read_xmeml("x.xml", data=xmeml_bytes(table))
    spans = [[(i.start, i.end, i.in_) for i in t.items] for t in timeline.sequence.audio_tracks]
    assert spans == [[(0, 30, 200)], [(0, 30, 200)]]
