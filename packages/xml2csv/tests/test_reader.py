"""The reader: references, -1 timing, transitions, enabled flags, sequences, nesting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xml2csv import AssetRole, XmemlError, list_sequences, read_xmeml, sample

FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FAST
@given(define_first=st.booleans(), n_refs=st.integers(1, 4))
def test_file_references_resolve_whether_defined_before_or_after(xm, write, define_first, n_refs):
    main = xm.FileDef("f-main", "My Stream.mov")
    inline = main.xml()
    clips = [xm.clip(10 * i, 10 * i + 10, 100, 110, "f-main") for i in range(n_refs)]
    if define_first:
        clips[0] = xm.clip(0, 10, 100, 110, inline)
        doc = xm.document(xm.track(*clips), definitions=[])
    else:
        doc = xm.document(xm.track(*clips), definitions=[main])
    timeline = read_xmeml(write(doc))
    table = sample(timeline, n_tracks=1)
    assert timeline.source_video_name == "My Stream.mov"
    assert (table["t01_asset"] == AssetRole.MAIN_SOURCE).all()
    assert table["source_timestamp"].notna().all()


@FAST
@given(
    cut_start=st.integers(20, 60),
    length=st.integers(2, 30),
    alignment=st.sampled_from(["center", "start", "end"]),
    a_in=st.integers(0, 1000),
    b_in=st.integers(0, 1000),
)
def test_minus_one_timing_resolves_against_the_transition(
    xm, write, cut_start, length, alignment, a_in, b_in
):
    """A ends -1 and B starts -1 around a transition [ts, te): A's media under the transition
    ends at its `out`, B's starts at its `in`; the track shows A until the cut, then B."""
    ts, te = cut_start, cut_start + length
    a_out = a_in + te  # A placed at 0, so out - in == te
    b_end = te + 40
    b_out = b_in + (b_end - ts)
    defs = [xm.FileDef("a", "a.mov"), xm.FileDef("b", "b.mov", duration=100)]
    doc = xm.document(
        xm.track(
            xm.clip(0, -1, a_in, a_out, "a"),
            xm.trans(ts, te, alignment),
            xm.clip(-1, b_end, b_in, b_out, "b"),
        ),
        definitions=defs,
    )
    timeline = read_xmeml(write(doc))
    a, b = timeline.sequence.tracks[0].items
    cut = {"center": (ts + te) // 2, "start": ts, "end": te}[alignment]
    assert (a.start, a.end, b.start, b.end) == (0, te, ts, b_end)
    assert (a.visible_end, b.visible_start) == (cut, cut)
    table = sample(timeline, n_tracks=1)
    src = table["source_timestamp"].to_numpy()
    main_is_a = timeline.source_video_name == "a.mov"
    shown = np.arange(0, cut) if main_is_a else np.arange(cut, b_end)
    first_media = a_in if main_is_a else b_in + (cut - ts)
    assert np.allclose(src[shown], (first_media + np.arange(len(shown))) / 30)
    assert table["t01_active"].all()


def test_minus_one_without_a_transition_is_guessed_and_reported(xm, write):
    timeline = read_xmeml(write(xm.document(xm.track(xm.clip(-1, 50, 0, 20)))))
    item = timeline.sequence.tracks[0].items[0]
    assert (item.start, item.end) == (30, 50)
    assert any("no transition before it" in w for w in timeline.warnings)


def test_fade_from_and_to_black_keeps_the_single_clip_on_screen(xm, write):
    doc = xm.document(
        xm.track(xm.trans(0, 30, "start"), xm.clip(-1, -1, 0, 300), xm.trans(270, 300, "end-black"))
    )
    table = sample(read_xmeml(write(doc)), n_tracks=1)
    assert len(table) == 300 and table["t01_active"].all()


def test_disabled_clips_tracks_and_filters_contribute_nothing(xm, write):
    doc = xm.document(
        xm.track(xm.clip(0, 10, 0, 10), xm.clip(10, 20, 0, 10, enabled=False)),
        xm.track(xm.clip(0, 20, 0, 20), enabled=False),
        xm.track(
            xm.clip(0, 20, 0, 20, "main", xm.filt("crop", xm.param("left", 50), enabled=False))
        ),
    )
    table = sample(read_xmeml(write(doc)), n_tracks=3)
    assert table["t01_active"].tolist() == [1] * 10 + [0] * 10
    assert not table["t02_active"].any()
    assert table["t03_active"].all() and (table["t03_crop_left"] == 0).all()


def project(*sequences: str) -> bytes:
    return (
        '<?xml version="1.0"?><xmeml version="5"><project><name>p</name><children>'
        + "".join(f"<bin><children>{s}</children></bin>" for s in sequences)
        + "</children></project></xmeml>"
    ).encode()


def test_a_project_root_with_several_sequences_defaults_to_the_first_and_picks_by_name(xm, write):
    one = xm.sequence(xm.track(xm.clip(0, 10, 0, 10)), name="first", seq_id="s1")
    two = xm.sequence(xm.track(xm.clip(0, 25, 0, 25)), name="second", seq_id="s2")
    path = write(project(one, two))
    assert list_sequences(path) == ["first", "second"]
    default = read_xmeml(path)
    assert default.sequence.name == "first" and any("top-level" in w for w in default.warnings)
    assert read_xmeml(path, sequence="second").sequence.duration == 25
    assert read_xmeml(path, sequence="s2").sequence.name == "second"
    assert sample(default)["edit_id"].iloc[0] == "edit/first"
    with pytest.raises(XmemlError, match="no sequence named 'third'"):
        read_xmeml(path, sequence="third")


def nested_clip(start, end, in_, out, seq_xml) -> str:
    return (
        f"<clipitem><name>nest</name><start>{start}</start><end>{end}</end><in>{in_}</in>"
        f"<out>{out}</out>{seq_xml}</clipitem>"
    )


def test_a_nested_sequence_is_one_item_and_the_source_time_follows_into_it(xm, write):
    inner = xm.sequence(
        xm.track(xm.clip(0, 100, 500, 600)),
        name="inner",
        seq_id="inner-1",
        definitions=[xm.FileDef("main", "main.mp4")],
    )
    doc = xm.document(
        xm.track(
            nested_clip(0, 40, 20, 60, inner),
            nested_clip(40, 50, 0, 10, '<sequence id="inner-1"/>'),
        ),
        xm.track(xm.clip(10, 20, 0, 10, "main")),
        definitions=[],
    )
    timeline = read_xmeml(write(doc))
    table = sample(timeline, n_tracks=2)
    assert timeline.source_video_name == "main.mp4"
    assert (table["t01_asset"] == AssetRole.NESTED_SEQUENCE).all()
    src = table["source_timestamp"].to_numpy()
    assert src[0] == pytest.approx(520 / 30)  # nested frame in + 0 = 20 -> media 520
    assert src[45] == pytest.approx(505 / 30)  # the id-only reference: nested frame 5


def test_a_nested_sequence_that_contains_itself_is_refused(xm, write):
    loop = (
        '<sequence id="loop"><name>loop</name><rate><timebase>25</timebase></rate><media><video>'
        + xm.track(nested_clip(0, 10, 0, 10, '<sequence id="loop"/>'))
        + "</video></media></sequence>"
    )
    doc = xm.document(xm.track(nested_clip(0, 10, 0, 10, loop)), definitions=[])
    with pytest.raises(XmemlError, match="nested sequence contains itself") as err:
        read_xmeml(write(doc))
    assert err.value.line is not None


def test_main_source_is_the_video_file_covering_the_most_frames(xm, write):
    defs = [
        xm.FileDef("short", "short.mov"),
        xm.FileDef("long", "long.mov"),
        xm.FileDef("png", "overlay.png"),
    ]
    doc = xm.document(
        xm.track(xm.clip(0, 30, 0, 30, "short"), xm.clip(30, 40, 0, 10, "long")),
        xm.track(xm.clip(0, 35, 0, 35, "long")),
        xm.track(xm.clip(0, 200, 0, 200, "png")),  # stills never count
        definitions=defs,
    )
    timeline = read_xmeml(write(doc))
    assert timeline.source_video_name == "long.mov"
    assert timeline.base_track == 2  # where the main source covers the most frames
    table = sample(timeline, n_tracks=3)
    assert table["t02_asset"].iloc[0] == AssetRole.MAIN_SOURCE
    assert table["t01_asset"].iloc[35] == AssetRole.MAIN_SOURCE_OVERLAY
