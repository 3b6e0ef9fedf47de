"""An independent reader agrees: OpenTimelineIO's FCP7 adapter (a test-only dependency) finds the
same clips, at the same times, from the same sources, in every file the writer makes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xml2csv import read_xmeml, sample, track_columns, xmeml_bytes

otio = pytest.importorskip("opentimelineio")
pytest.importorskip("otio_fcp_adapter")

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "xml2csv" / "examples" / "example_edit.xml"


def ours(data: bytes) -> list[list[tuple]]:
    """Per track (video bottom first, then audio): (start, end, in, what it shows)."""
    sequence = read_xmeml("written.xml", data=data).sequence
    tracks = []
    for track in [*sequence.tracks, *sequence.audio_tracks]:
        clips = []
        for item in track.items:
            if item.nested is not None:
                shows = "nested"
            elif item.kind == "generator":
                shows = item.generator_id
            else:
                shows = item.file.pathurl if item.file else None
            clips.append((item.start, item.end, item.in_, shows))
        tracks.append(clips)
    return tracks


def theirs(data: bytes) -> list[list[tuple]]:
    timeline = otio.adapters.read_from_string(data.decode(), adapter_name="fcp_xml")
    tracks = []
    for track in timeline.tracks:
        clips = []
        for child in track:
            if isinstance(child, otio.schema.Gap | otio.schema.Transition):
                continue
            placed = child.range_in_parent()
            start = round(placed.start_time.value)
            end = start + round(placed.duration.value)
            if isinstance(child, otio.schema.Stack):
                clips.append((start, end, round(child.source_range.start_time.value), "nested"))
                continue
            ref = child.media_reference
            if isinstance(ref, otio.schema.GeneratorReference):
                shows = ref.generator_kind
            elif isinstance(ref, otio.schema.ExternalReference):
                shows = ref.target_url
            else:
                shows = None
            clips.append((start, end, round(child.source_range.start_time.value), shows))
        tracks.append(clips)
    return tracks


def assert_same_clips(data: bytes):
    assert theirs(data) == ours(data)


def rewritten(path: Path) -> bytes:
    timeline = read_xmeml(path)
    table = sample(timeline)
    return xmeml_bytes(table, fps=timeline.sequence.fps)


def test_the_bundled_example_written_again():
    data = rewritten(EXAMPLE)
    assert_same_clips(data)
    video, *_, a2 = theirs(data)
    assert len(a2) == len(video) - 1  # A2 plays channel 2 under V1's two shots of the recording


def every_role_table() -> pd.DataFrame:
    n, fps = 90, Fraction(25)
    body = np.tile([0, 0, 100, 0, 0, 0, 0, 0, 0], (n, 2)).astype(float)
    body[:60, 0:2] = [1, 1]
    for role, start in zip(range(2, 10), range(0, 90, 10), strict=False):
        body[start : start + 9, 9:11] = [1, role]
    table = pd.DataFrame(body, columns=track_columns(2))
    source = np.r_[np.arange(100, 130), np.arange(900, 930), np.full(30, np.nan)]
    meta = pd.DataFrame(
        {
            "edit_id": "roles",
            "source_video_name": "/media/Day 1/cam A.mov",
            "frame": np.arange(n),
            "timestamp": np.arange(n) / fps,
            "source_timestamp": source / float(fps),
        }
    )
    return pd.concat([meta, table], axis=1)


def test_every_role_as_otio_reads_it():
    data = xmeml_bytes(every_role_table(), fps=25)
    assert_same_clips(data)
    kinds = [shows for *_, shows in theirs(data)[1]]
    assert "Text" in kinds and "Color" in kinds and "nested" in kinds and None in kinds


def test_dissolves_are_read_as_transitions_between_the_same_shots():
    n = 60
    source = np.r_[np.arange(20) + 100, np.arange(20) + 500, np.arange(20) + 30].astype(float)
    table = every_role_table().iloc[:n].copy()
    table["source_timestamp"] = source / 25
    table.loc[:, track_columns(2)[9:]] = [0, 0, 100, 0, 0, 0, 0, 0, 0]
    table.loc[:, ["t01_active", "t01_asset"]] = 1
    data = xmeml_bytes(table, fps=25, transitions=[20, 40])
    timeline = otio.adapters.read_from_string(data.decode(), adapter_name="fcp_xml")
    video = timeline.tracks[0]
    assert [type(c).__name__ for c in video] == ["Clip", "Transition", "Clip", "Transition", "Clip"]
    assert sum(round(c.duration().value) for c in video if isinstance(c, otio.schema.Clip)) == n


@pytest.mark.corpus
def test_every_corpus_file_written_again(corpus, corpus_file):
    data = rewritten(corpus / corpus_file)
    assert theirs(data) == ours(data)
