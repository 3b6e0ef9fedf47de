"""The writer: table -> xmeml -> table gives the table back, and the file is what an importer
expects (one main file definition, placeholders of the right kind, keyframes on the media axis)."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from xml2csv import AssetRole, read_xmeml, sample, structure_problems, track_columns
from xml2csv.keyframes import DEFAULT_TOLERANCE, Tolerance, reduce_keyframes
from xml2csv.params import DEFAULT_PARAMETERS
from xml2csv.safexml import parse_document
from xml2csv.writer import write_xmeml, xmeml_bytes

FAST = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "xml2csv" / "examples" / "example_edit.xml"
RATES = [Fraction(30000, 1001), Fraction(25), Fraction(24000, 1001), Fraction(60)]
RANGES = {"scale": (1.0, 400.0), "pos_x": (-1.0, 1.0), "pos_y": (-1.0, 1.0)}
TIMING = ("start", "end", "in", "out", "when")


# -- building tables ----------------------------------------------------------------------------


def make_table(asset, source_frames, fps, params=None, name="source video.mp4"):
    """asset (n, N) ints; source_frames (n,) NaN where the main source is not shown."""
    asset = np.asarray(asset, dtype=np.int64)
    n, n_tracks = asset.shape
    seconds_per_frame = fps.denominator / fps.numerator
    data = {
        "edit_id": ["edit"] * n,
        "source_video_name": [name] * n,
        "frame": np.arange(n),
        "timestamp": np.arange(n) * seconds_per_frame,
        "source_timestamp": np.asarray(source_frames, dtype=np.float64) * seconds_per_frame,
    }
    for k in range(1, n_tracks + 1):
        data[f"t{k:02d}_active"] = (asset[:, k - 1] > 0).astype(np.int64)
        data[f"t{k:02d}_asset"] = asset[:, k - 1]
        for spec in DEFAULT_PARAMETERS:
            block = (params or {}).get(spec.column)
            data[f"t{k:02d}_{spec.column}"] = (
                np.full(n, spec.default) if block is None else block[:, k - 1]
            )
    return pd.DataFrame(data)


@st.composite
def curves(draw, length, column, default):
    """Default, constant, or piecewise-linear through 2-4 random knots."""
    lo, hi = RANGES.get(column, (0.0, 60.0))
    number = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    kind = draw(st.sampled_from(["default", "constant", "linear"]))
    if kind == "default":
        return np.full(length, default)
    if kind == "constant" or length < 2:
        return np.full(length, draw(number))
    count = draw(st.integers(2, min(4, length)))
    knots = draw(st.lists(st.integers(0, length - 1), min_size=count, max_size=count, unique=True))
    knots.sort()
    return np.interp(np.arange(length), knots, [draw(number) for _ in knots])


@st.composite
def valid_tables(draw):
    """Tables that meet write_xmeml's round-trip conditions: random segments with random roles,
    role 1 only on the base track and role 2 only elsewhere (and fewer there), placeholder runs
    shorter than the main source's frames, source time linear within each main segment (and
    jumping between two main segments in a row: a cut)."""
    fps = draw(st.sampled_from(RATES))
    n = draw(st.integers(1, 90))
    n_tracks = draw(st.integers(1, 4))
    base = draw(st.integers(0, n_tracks - 1))
    asset = np.zeros((n, n_tracks), dtype=np.int64)
    source = np.full((n, n_tracks), np.nan)
    params = {s.column: np.full((n, n_tracks), s.default) for s in DEFAULT_PARAMETERS}
    for col in range(n_tracks):
        cuts = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=5))) if n > 1 else []
        roles = (
            [0, 1, 1, 1, 3, 4, 5, 6, 7, 8, 9] if col == base else [0, 0, 2, 2, 3, 4, 5, 6, 7, 8, 9]
        )
        role = 0
        for s, e in pairwise([0, *cuts, n]):
            # half the time the main source goes on with a jump in source time: a cut
            if not (role in (1, 2) and draw(st.booleans())):
                role = draw(st.sampled_from(roles))
            asset[s:e, col] = role
            if role in (1, 2):
                source[s:e, col] = draw(st.integers(0, 5000)) + np.arange(e - s)
            if role:
                for spec in DEFAULT_PARAMETERS:
                    params[spec.column][s:e, col] = draw(curves(e - s, spec.column, spec.default))
    # repairs, so no example is thrown away: first the base track must win the main source's
    # frames, then no placeholder run may cover as many frames as the main source does
    role1 = (asset[:, base] == 1).sum()
    for col in range(n_tracks):
        role2 = (asset[:, col] == 2).sum()
        if col != base and (role2 > role1 or (role2 == role1 and col < base)):
            asset[asset[:, col] == 2, col] = 5
    main_total = int(np.isin(asset, (1, 2)).sum())
    for col in range(n_tracks):
        code = asset[:, col]
        bounds = [0, *(np.flatnonzero(np.diff(code)) + 1), n]
        for s, e in pairwise(bounds):
            if code[s] in (3, 9) and main_total < 2:
                asset[s:e, col] = 4
    shown = np.isin(asset, (1, 2))
    for spec in DEFAULT_PARAMETERS:
        params[spec.column][asset == 0] = spec.default
    # source_timestamp: the base track's source time where it shows role 1, else the lowest
    # track showing role 2 (what the reader reports)
    owner = np.where(shown.any(axis=1), shown.argmax(axis=1), -1)
    owner = np.where(asset[:, base] == 1, base, owner)
    frames = np.where(owner >= 0, source[np.arange(n), np.maximum(owner, 0)], np.nan)
    fps_option = draw(st.sampled_from([fps, None])) if n > 1 else fps
    return make_table(asset, frames, fps, params), fps_option


def read_back(path, n_tracks):
    return sample(read_xmeml(path), n_tracks=n_tracks)


def assert_reads_back(table, back, tolerance=DEFAULT_TOLERANCE):
    n_tracks = sum(c.endswith("_active") for c in table.columns)
    assert len(back) == len(table)
    for k in range(1, n_tracks + 1):
        for column in ("active", "asset"):
            name = f"t{k:02d}_{column}"
            assert np.array_equal(back[name].to_numpy(), table[name].to_numpy()), name
        for spec in DEFAULT_PARAMETERS:
            name = f"t{k:02d}_{spec.column}"
            error = np.abs(back[name].to_numpy() - table[name].to_numpy())
            assert (error <= tolerance.of(spec.column) + 1e-9).all(), (name, error.max())
    want, got = table["source_timestamp"].to_numpy(), back["source_timestamp"].to_numpy()
    assert np.array_equal(np.isnan(want), np.isnan(got))
    assert np.allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=0, atol=1e-6)
    assert np.allclose(back["timestamp"], table["timestamp"], rtol=0, atol=1e-9)


def timings(data: bytes) -> dict[str, list[int]]:
    root = parse_document("written.xml", data).getroot()
    return {tag: [int(el.text) for el in root.iter(tag)] for tag in TIMING}


def cut_candidates(table) -> tuple[list[int], list[int]]:
    """Frames where some track changes role or the source time jumps (every cut is one), and
    those of them between two main-source segments of one track (the likely cuts)."""
    assets = table.filter(regex=r"_asset$").to_numpy()
    fps = 1 / table["timestamp"].diff().iloc[1] if len(table) > 1 else 1.0
    source = np.rint(table["source_timestamp"].to_numpy() * fps)
    changed = (np.diff(assets, axis=0) != 0).any(axis=1) | (np.diff(source) != 1)
    main = np.isin(assets, (1, 2))
    likely = changed & (main[1:] & main[:-1]).any(axis=1)
    return (np.flatnonzero(changed) + 1).tolist(), (np.flatnonzero(likely) + 1).tolist()


def dissolves(data: bytes, requested, longest: int) -> list[int]:
    """The cut of every transitionitem, after checking it is written as docs/xmeml-format.md
    section 3 says: a centred dissolve of 2..`longest` frames at a requested frame, between
    an outgoing clip with end -1 whose `out` lines up with the transition's end and an
    incoming clip with start -1 whose `in` lines up with its start."""
    root = parse_document("written.xml", data).getroot()
    cuts = []
    for track in root.iterfind("sequence/media/video/track"):
        children = [el for el in track if el.tag in ("clipitem", "generatoritem", "transitionitem")]
        for pos, el in enumerate(children):
            if el.tag != "transitionitem":
                continue
            start, end = int(el.findtext("start")), int(el.findtext("end"))
            cut = start + (end - start) // 2
            assert 2 <= end - start <= longest and cut in requested
            assert el.findtext("alignment") == "center"
            assert el.findtext("effect/effectid") == "Cross Dissolve"
            out_clip, in_clip = children[pos - 1], children[pos + 1]
            assert out_clip.tag == in_clip.tag == "clipitem"
            assert out_clip.findtext("end") == in_clip.findtext("start") == "-1"
            for clip, at in ((in_clip, pos + 1), (out_clip, pos - 1)):
                t = {k: int(clip.findtext(k)) for k in ("start", "end", "in", "out")}
                if t["start"] == -1:  # in lines up with the start of the transition before
                    t["start"] = int(children[at - 1].findtext("start"))
                if t["end"] == -1:  # out lines up with the end of the transition after
                    t["end"] = int(children[at + 1].findtext("end"))
                assert t["out"] - t["in"] == t["end"] - t["start"] >= 1
            cuts.append(cut)
    return cuts


# -- the round trip -----------------------------------------------------------------------------


@FAST
@given(case=valid_tables(), data=st.data())
def test_any_valid_table_reads_back_within_tolerance(tmp_path, case, data):
    """... also with dissolves at random cuts (and at frames that are no cut, which are
    ignored): the reader shows each side up to the cut, so the table is exactly the same."""
    table, fps = case
    path = write_xmeml(table, tmp_path / "edit.xml", fps=fps, strict=True)
    n_tracks = sum(c.endswith("_active") for c in table.columns)
    plain = read_back(path, n_tracks)
    assert_reads_back(table, plain)
    assert all(v >= 0 for values in timings(path.read_bytes()).values() for v in values)

    candidates, likely = cut_candidates(table)
    frames = st.integers(-5, len(table) + 5)
    for some in (candidates, likely):
        frames = st.sampled_from(some) | frames if some else frames
    requested = data.draw(st.sets(frames, max_size=6))
    longest = data.draw(st.integers(2, 16))
    path = write_xmeml(
        table, path, fps=fps, strict=True, transitions=requested, transition_frames=longest
    )
    written = dissolves(path.read_bytes(), requested, longest)
    event("dissolves written", min(len(written), 3))
    pd.testing.assert_frame_equal(read_back(path, n_tracks), plain)
    times = timings(path.read_bytes())
    assert all(v >= 0 for tag in ("in", "out", "when") for v in times[tag])
    minus_one = sum(v == -1 for tag in ("start", "end") for v in times[tag])
    assert minus_one == 2 * len(written)
    assert all(v >= -1 for tag in ("start", "end") for v in times[tag])


def sound_frames(timeline) -> dict[int, dict[int, int]]:
    """Per source channel: sequence frame -> the source frame its audio clips play there."""
    heard: dict[int, dict[int, int]] = {}
    for track in timeline.sequence.audio_tracks:
        for item in track.items:
            frames = heard.setdefault(item.source_channel, {})
            for t in range(item.start, item.end):
                assert t not in frames, f"two clips of channel {item.source_channel} at {t}"
                frames[t] = item.in_ + t - item.start
    return heard


@FAST
@given(case=valid_tables())
def test_the_sound_covers_exactly_the_frames_where_the_main_source_is_on_screen(case):
    """A stereo pair (channels 1 and 2) plays the recording at the source time the picture
    shows, on every frame where role 1 or 2 is on screen and on no other, each clip linked to
    a video clip of the same span when there is one."""
    table, fps = case
    data = xmeml_bytes(table, fps=fps)
    timeline = read_xmeml("x.xml", data=data)
    shown = np.isin(table.filter(regex=r"_asset$").to_numpy(), (1, 2)).any(axis=1)
    rate = 1 / table["timestamp"].diff().iloc[1] if len(table) > 1 else float(fps)
    source = np.rint(table["source_timestamp"].to_numpy() * rate)
    expected = {int(t): int(source[t]) for t in np.flatnonzero(shown)}
    heard = sound_frames(timeline)
    assert structure_problems("x.xml", data) == []
    assert set(heard) == ({1, 2} if expected else set())
    for channel in heard:
        assert heard[channel] == expected
    assert_links_are_consistent(parse_document("x.xml", data).getroot())


def assert_links_are_consistent(root):
    """Every <link> names a clip that exists, on the track and at the index it says, and the
    clips of one group name each other."""
    where = {}
    for kind in ("video", "audio"):
        for track_index, track in enumerate(root.iterfind(f"sequence/media/{kind}/track"), 1):
            items = [el for el in track if el.tag in ("clipitem", "generatoritem")]
            for clip_index, el in enumerate(items, 1):
                where[el.get("id")] = (kind, track_index, clip_index)
    groups = set()
    for clip in root.iter("clipitem"):
        links = clip.findall("link")
        if not links:
            continue
        refs = []
        for link in links:
            ref = link.findtext("linkclipref")
            assert where[ref] == (
                link.findtext("mediatype"), int(link.findtext("trackindex")),
                int(link.findtext("clipindex")),
            )  # fmt: skip
            refs.append(ref)
        assert clip.get("id") in refs
        groups.add(tuple(sorted(refs)))
    for group in groups:
        spans = {(root.find(f".//clipitem[@id='{ref}']").findtext("start")) for ref in group}
        assert len(spans) == 1


def test_bundled_example_round_trips_identically(tmp_path):
    table = sample(read_xmeml(EXAMPLE))
    path = write_xmeml(table, tmp_path / EXAMPLE.name, strict=True)  # same stem, same edit_id
    assert structure_problems(path) == []
    back = sample(read_xmeml(path))
    pd.testing.assert_frame_equal(back, table)
    # and the V1 zoom is still two keyframes at the media frames the editor put them on
    root = parse_document(path).getroot()
    first = root.find("sequence/media/video/track/clipitem")
    scale = next(p for p in first.iter("parameter") if p.findtext("parameterid") == "scale")
    assert [int(w.text) for w in scale.iter("when")] == [450, 510, 540, 594]


@pytest.mark.corpus
def test_corpus_tables_round_trip(corpus, tmp_path, corpus_file):
    """Real edits (20 tracks): roles exactly, parameters within tolerance, source time, except
    inside nested sequences, which are written as empty placeholders (so the main source they
    hold is gone; otio_premiere_example.xml has 220 such frames)."""
    table = sample(read_xmeml(corpus / corpus_file))
    written = write_xmeml(table, tmp_path / corpus_file)
    assert structure_problems(written) == []
    back = sample(read_xmeml(written))
    nested = (table[[f"t{k:02d}_asset" for k in range(1, 21)]] == AssetRole.NESTED_SEQUENCE).any(
        axis=1
    )
    for frame in (table, back):
        frame.loc[nested, "source_timestamp"] = np.nan
    assert_reads_back(table, back)


# -- what the file holds -------------------------------------------------------------------------


def every_role_table():
    """V1: the main source with a source jump at frame 30; V2: every other role in turn."""
    n = 80
    asset = np.zeros((n, 2), dtype=np.int64)
    asset[:60, 0] = 1
    source = np.r_[np.arange(100, 130), np.arange(900, 930), np.full(20, np.nan)]
    for role, (s, e) in zip(range(2, 10), pairwise(range(0, 80, 9)), strict=False):
        asset[s:e, 1] = role
    return make_table(asset, source, Fraction(30000, 1001))


def test_every_role_is_written_as_its_kind_and_reads_back(tmp_path):
    table = every_role_table()
    data = xmeml_bytes(table, strict=True)
    assert structure_problems("x.xml", data) == []
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n')
    root = parse_document("x.xml", data).getroot()
    seq = root.find("sequence")
    assert (seq.findtext("rate/timebase"), seq.findtext("rate/ntsc")) == ("30", "TRUE")
    assert seq.findtext("duration") == "80"
    assert seq.findtext("media/video/format/samplecharacteristics/width") == "1920"

    files = [f for f in root.iter("file") if f.get("id") == "file-1"]
    # 2 on V1, 1 on V2 (the overlay), 2 sounds x 2 channels
    assert sum(len(f) > 0 for f in files) == 1 and len(files) == 7
    main = files[0]
    assert main.findtext("name") == "source video.mp4"
    assert main.findtext("pathurl") == (Path.cwd() / "source video.mp4").as_uri().replace(
        "file:///", "file://localhost/"
    )
    assert main.findtext("duration") == "930"  # the last source frame used
    assert main.findtext("timecode/string") == "00:00:00:00"
    assert main.findtext("media/audio/channelcount") == "2"
    v1 = root.findall("sequence/media/video/track")[0].findall("clipitem")
    assert [(c.findtext("in"), c.findtext("out")) for c in v1] == [("100", "130"), ("900", "930")]
    a1, a2 = root.findall("sequence/media/audio/track")
    for channel, track in enumerate((a1, a2), start=1):
        clips = track.findall("clipitem")
        assert [c.findtext("in") for c in clips] == ["100", "900"]
        assert {c.findtext("sourcetrack/trackindex") for c in clips} == {str(channel)}
        assert track.findtext("outputchannelindex") == str(channel)

    v2 = list(root.findall("sequence/media/video/track")[1])[:-2]  # minus enabled, locked
    assert [el.tag for el in v2] == [
        "clipitem", "clipitem", "clipitem", "generatoritem",
        "generatoritem", "clipitem", "clipitem", "clipitem",
    ]  # fmt: skip
    overlay = v2[0]  # the recording in sync with V1, not from its first frame
    assert (overlay.findtext("in"), overlay.findtext("out")) == ("100", "109")
    assert overlay.find("file").get("id") == "file-1" and overlay.find("link") is None
    still = v2[2]
    assert still.findtext("stillframe") == "TRUE" and still.findtext("file/name").endswith(".png")
    assert still.find("file/stillframe") is None
    assert still.findtext("file/media/video/stillframe") == "TRUE"
    assert v2[1].findtext("file/name") == "broll_t02_0001.mov"
    effects = [el.findtext("effect/effectid") for el in v2 if el.tag == "generatoritem"]
    assert effects == ["Text", "Color"]
    title = {p.findtext("parameterid"): p for p in v2[3].iterfind("effect/parameter")}
    assert {"str", "fontname", "fontsize", "fontcolor", "origin"} <= set(title)
    assert title["fontcolor"].findtext("value/alpha") == "255"
    assert v2[4].findtext("effect/parameter/parameterid") == "fillcolor"
    assert v2[4].findtext("effect/parameter/value/red") == "0"
    nested = v2[5].find("sequence")
    assert nested.get("id") not in (None, "sequence-1") and nested.findtext("duration") == "9"
    assert v2[6].findtext("file/name").endswith(".motn")  # role 8: a Motion template
    unresolved = v2[7].find("file")  # role 9: named (Apple requires it), nowhere to relink to
    assert unresolved.findtext("name") == "unresolved t02 1" and unresolved.find("pathurl") is None

    path = tmp_path / "every_role.xml"
    path.write_bytes(data)
    back = read_back(path, 2)
    assert_reads_back(table, back)
    assert set(back["t02_asset"]) == {0, *range(2, 10)}
    assert read_xmeml(path).source_video_name == "source video.mp4"


def test_filters_only_where_a_value_leaves_its_default_and_keyframes_on_the_media_axis(tmp_path):
    n = 40
    asset = np.zeros((n, 1), dtype=np.int64)
    asset[:, 0] = 1
    source = np.arange(500, 500 + n, dtype=float)
    zoom = np.full((n, 1), 100.0)
    zoom[10:20, 0] = np.linspace(100, 200, 10)
    zoom[20:, 0] = 200
    quiet = make_table(asset, source, Fraction(25))
    assert b"<filter>" not in xmeml_bytes(quiet)
    tiny = make_table(asset, source, Fraction(25), {"scale": np.full((n, 1), 100.01)})
    assert b"<filter>" not in xmeml_bytes(tiny)  # within the 0.05 tolerance of the default
    table = make_table(asset, source, Fraction(25), {"scale": zoom})
    data = xmeml_bytes(table)
    root = parse_document("x.xml", data).getroot()
    params = {p.findtext("parameterid"): p for p in root.iter("parameter")}
    assert set(params) == {"scale", "center"}  # Basic Motion only; no crop filter
    assert [int(w.text) for w in params["scale"].iter("when")] == [500, 510, 519, 539]
    assert params["scale"].findtext("value") == "100"  # a value beside the keyframes
    assert params["center"].find("keyframe") is None  # constant: a static value
    path = tmp_path / "zoom.xml"
    path.write_bytes(data)
    assert_reads_back(table, read_back(path, 1))


def test_overlay_of_the_recording_plays_in_sync_with_the_base_track(tmp_path):
    """V2 shows the main source while V1 does too and then alone: it shows the source time the
    table gives at each frame (the recording in sync), cut where that time jumps."""
    n = 50
    asset = np.zeros((n, 2), dtype=np.int64)
    asset[:40, 0] = 1
    asset[5:15, 1] = 2
    asset[30:50, 1] = 2  # under V1 until 40, alone after: V1's cut at 40 is V2's too
    source = np.r_[np.arange(100, 140), np.arange(740, 750)].astype(float)
    table = make_table(asset, source, Fraction(30))
    data = xmeml_bytes(table, strict=True)
    v2 = parse_document("x.xml", data).getroot().findall("sequence/media/video/track")[1]
    items = [(int(c.findtext("start")), int(c.findtext("in"))) for c in v2.iter("clipitem")]
    assert items == [(5, 105), (30, 130), (40, 740)]
    path = tmp_path / "overlay.xml"
    path.write_bytes(data)
    assert_reads_back(table, read_back(path, 2))


def test_main_source_frames_without_a_source_time_continue_the_known_ones():
    """A predicted table may leave source_timestamp unknown on part of a run: those frames
    continue the run's known source time linearly, the sound with them."""
    n = 20
    source = np.r_[np.full(5, np.nan), np.arange(305, 320)].astype(float)
    table = make_table(np.ones((n, 1), dtype=np.int64), source, Fraction(25))
    root = parse_document("x.xml", xmeml_bytes(table)).getroot()
    clip = root.find("sequence/media/video/track/clipitem")
    assert (clip.findtext("start"), clip.findtext("in")) == ("0", "300")
    sound = root.findall("sequence/media/audio/track")[0].findall("clipitem")
    assert [(c.findtext("start"), c.findtext("end"), c.findtext("in")) for c in sound] == [
        ("0", "20", "300")
    ]


def test_extra_rotation_and_opacity_columns_are_written(tmp_path):
    table = every_role_table()
    table["t01_rotation"] = np.where(table["t01_active"] == 1, np.linspace(0, 45, 80), 0)
    table["t02_rotation"] = 0.0
    table["t01_opacity"], table["t02_opacity"] = 100.0, np.where(table["t02_active"] == 1, 50, 100)
    path = write_xmeml(table, tmp_path / "extra.xml")
    back = sample(read_xmeml(path), n_tracks=2, extra_parameters=("rotation", "opacity"))
    for column in ("t01_rotation", "t02_rotation", "t01_opacity", "t02_opacity"):
        assert np.abs(back[column] - table[column]).max() <= 0.05 + 1e-9
    assert path.read_bytes().count(b"<effectid>opacity</effectid>") == 8  # V2's items only


def test_frame_rate_is_inferred_and_snapped(tmp_path):
    table = every_role_table()
    for fps, rate in [
        (None, ("30", "TRUE")),
        ("30000/1001", ("30", "TRUE")),
        (29.97, ("30", "TRUE")),
        (Fraction(24000, 1001), ("24", "TRUE")),
        (23.976, ("24", "TRUE")),
        (25, ("25", "FALSE")),
        (59.94, ("60", "TRUE")),
    ]:
        root = parse_document("x.xml", xmeml_bytes(table, fps=fps)).getroot()
        assert (root.findtext("sequence/rate/timebase"), root.findtext("sequence/rate/ntsc")) == (
            rate
        )
    with pytest.raises(ValueError, match="neither a whole nor an NTSC"):
        xmeml_bytes(table, fps=27.3)
    with pytest.raises(ValueError, match="fraction"):
        xmeml_bytes(table, fps="fast")
    with pytest.raises(ValueError, match="pass fps"):
        xmeml_bytes(table.iloc[:1])


def test_source_options(tmp_path):
    table = every_role_table()
    data = xmeml_bytes(table, source_pathurl="file://localhost/D%3a/rec/cam.mov", width=1280)
    root = parse_document("x.xml", data).getroot()
    assert root.find("sequence/media/video/track/clipitem/file/pathurl").text.endswith("cam.mov")
    assert root.findtext("sequence/media/video/format/samplecharacteristics/width") == "1280"
    data = xmeml_bytes(table, source_duration_frames=5000, sequence_name="cut 1")
    root = parse_document("x.xml", data).getroot()
    assert root.findtext("sequence/name") == "cut 1"
    assert root.find(".//file[@id='file-1']").findtext("duration") == "5000"
    with pytest.raises(ValueError, match="source frames up to 930"):
        xmeml_bytes(table, source_duration_frames=500)


@FAST
@given(
    shots=st.lists(st.tuples(st.integers(1, 20), st.integers(0, 40)), min_size=2, max_size=8),
    data=st.data(),
)
def test_dissolves_at_random_cuts_read_back_as_the_same_table(shots, data):
    """One track of shots of the main source (some too short or starting too near source
    frame 0 for a full dissolve) under a zoom: dissolves at random cuts shrink to fit and
    change nothing the reader sees. With 2-frame dissolves, shots of 2+ frames and media
    before each, every requested cut is written."""
    fps = data.draw(st.sampled_from(RATES))
    source = np.concatenate([first + np.arange(length) for length, first in shots])
    cuts = np.cumsum([length for length, _ in shots])[:-1]
    cuts = cuts[source[cuts] != source[cuts - 1] + 1].tolist()  # a shot that goes on is no cut
    n = len(source)
    zoom = np.interp(
        np.arange(n), [0, n - 1], data.draw(st.lists(st.floats(50, 300), min_size=2, max_size=2))
    )
    table = make_table(
        np.ones((n, 1), dtype=np.int64), source.astype(float), fps, {"scale": zoom[:, None]}
    )
    requested = data.draw(st.sets(st.sampled_from(cuts), min_size=1) if cuts else st.just(set()))
    longest = data.draw(st.integers(2, 12))
    slack = data.draw(st.none() | st.integers(0, 3))
    duration = None if slack is None else int(source.max()) + 1 + slack
    plain = sample(read_xmeml("x.xml", data=xmeml_bytes(table, strict=True)), n_tracks=1)
    written_data = xmeml_bytes(
        table, strict=True, transitions=requested, transition_frames=longest,
        source_duration_frames=duration,
    )  # fmt: skip
    written = dissolves(written_data, requested, longest)
    assert structure_problems("x.xml", written_data) == []
    pd.testing.assert_frame_equal(sample(read_xmeml("x.xml", data=written_data), n_tracks=1), plain)
    assert sorted(written) == sorted(set(written))
    roomy = all(length >= 2 and first >= 1 for length, first in shots) and slack is None
    if longest == 2 and roomy:
        assert sorted(written) == sorted(requested)
    event("dissolves written", min(len(written), 3))


def three_shots(first_in=100, second_in=500, third_in=3):
    """V1: the main source in three 20-frame shots, with source jumps at frames 20 and 40."""
    source = np.r_[np.arange(20) + first_in, np.arange(20) + second_in, np.arange(20) + third_in]
    return make_table(np.ones((60, 1), dtype=np.int64), source.astype(float), Fraction(25))


def test_dissolves_are_written_with_minus_one_timing_and_shrink_to_fit(tmp_path):
    table = three_shots()
    # 50 is no cut (the middle of a shot): ignored
    data = xmeml_bytes(table, transitions=[20, 40, 50], strict=True)
    root = parse_document("x.xml", data).getroot()
    track = root.find("sequence/media/video/track")
    assert [el.tag for el in track][:5] == [
        "clipitem", "transitionitem", "clipitem", "transitionitem", "clipitem",
    ]  # fmt: skip
    transitions = [
        (int(el.findtext("start")), int(el.findtext("end")), el.findtext("alignment"))
        for el in track.iter("transitionitem")
    ]
    # at 20: the full 10 frames, 5 each side; at 40: the third shot's media starts at 3, so
    # 3 frames before the cut and d = 7 (2 * 3 + 1) with 4 after it
    assert transitions == [(15, 25, "center"), (37, 44, "center")]
    effect = track.find("transitionitem/effect")
    assert [effect.findtext(t) for t in ("name", "effectid", "effectcategory", "effecttype")] == [
        "Cross Dissolve", "Cross Dissolve", "Dissolve", "transition",
    ]  # fmt: skip
    assert effect.findtext("mediatype") == "video"
    assert track.find("transitionitem/rate/timebase").text == "25"
    clips = [
        {t: int(el.findtext(t)) for t in ("start", "end", "in", "out")}
        for el in track.iter("clipitem")
    ]
    assert clips == [
        {"start": 0, "end": -1, "in": 100, "out": 125},  # out = 120 + 5 after the cut
        {"start": -1, "end": -1, "in": 495, "out": 524},  # in = 500 - 5, out = 520 + 4
        {"start": -1, "end": 60, "in": 0, "out": 23},  # in = 3 - 3, from the start at 37
    ]
    audio = root.findall("sequence/media/audio/track")[0].findall("clipitem")
    assert [(int(a.findtext("start")), int(a.findtext("in"))) for a in audio] == [
        (0, 100),
        (20, 500),
        (40, 3),
    ]  # fmt: skip  the sound keeps plain cuts
    assert root.find(".//file[@id='file-1']").findtext("duration") == "524"
    path = tmp_path / "dissolves.xml"
    path.write_bytes(data)
    back = read_back(path, 1)
    pd.testing.assert_frame_equal(
        back, read_back(write_xmeml(table, tmp_path / "plain" / path.name), 1)
    )
    assert_reads_back(table, back)

    # the source ends 2 frames after the second shot: 2 frames after the cut, d = 4
    data = xmeml_bytes(table, transitions=[40], source_duration_frames=522, transition_frames=12)
    track = parse_document("x.xml", data).getroot().find("sequence/media/video/track")
    item = track.find("transitionitem")
    assert (item.findtext("start"), item.findtext("end")) == ("38", "42")
    # no source after the second shot at all, or no media before the third: a plain cut
    for options in ({"source_duration_frames": 520}, {}):
        shots = three_shots(third_in=0) if not options else table
        data = xmeml_bytes(shots, transitions=[40], **options)
        assert b"<transitionitem>" not in data and b">-1<" not in data


def test_dissolves_need_two_main_source_items_and_a_sane_length():
    table = every_role_table()  # V1 cuts at 30 (a source jump) and ends at 60; V2 other roles
    data = xmeml_bytes(table, transitions=[9, 18, 30, 60])
    assert data.count(b"<transitionitem>") == 1 and b"<start>25</start>" in data
    for bad in (1, 0, -4, 2.5, True):
        with pytest.raises(ValueError, match="transition_frames"):
            xmeml_bytes(table, transitions=[30], transition_frames=bad)
    with pytest.raises(ValueError, match="whole sequence frames"):
        xmeml_bytes(table, transitions=[30.5])
    assert xmeml_bytes(table, transitions=np.array([30.0])) == data  # numpy and floats are fine


# -- refusing bad tables -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns=["t02_crop_top"]), r"lacks column\(s\) \['t02_crop_top'\]"),
        (lambda t: t.drop(columns=["frame"]), "lacks column"),
        (lambda t: t.assign(t02_asset=t["t02_asset"].replace(9, 12)), "asset must be a whole"),
        (lambda t: t.assign(t02_asset=t["t02_asset"] + 0.5), "asset must be a whole"),
        (lambda t: t.assign(t01_active=t["t01_active"] * 2), "active must be a whole"),
        (lambda t: t.assign(t01_active=0), "inactive with a non-zero asset"),
        (lambda t: t.assign(t02_active=1), "active with asset 0"),
        (lambda t: t.assign(frame=t["frame"][::-1].to_numpy()), "'frame' must be 0, 1"),
        (lambda t: t.assign(t01_scale=np.nan), "t01 has a non-finite scale"),
        (lambda t: t.drop(columns=["source_timestamp"]), "'source_timestamp' column is needed"),
    ],
)
def test_bad_tables_are_refused_with_a_clear_error(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        write_xmeml(change(every_role_table()), tmp_path / "bad.xml")
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.__setitem__((slice(60, 70), 1), 1), "role 1 on several tracks"),
        (lambda a: a.__setitem__((slice(None), 0), np.where(a[:, 0] == 1, 2, 0)), "without any"),
        (lambda a: a.__setitem__((slice(0, 80), 1), 2), "outnumbers role 1"),
        (lambda a: np.place(a, np.isin(a, (1, 2)), 3), "fewer than 2"),
    ],
)
def test_strict_refuses_tables_that_would_not_read_back(tmp_path, change, message):
    base = every_role_table()
    asset = base[["t01_asset", "t02_asset"]].to_numpy().copy()
    change(asset)
    source = base["source_timestamp"].to_numpy() * 30000 / 1001
    table = make_table(asset, source, Fraction(30000, 1001))
    with pytest.raises(ValueError, match=message):
        xmeml_bytes(table, strict=True)
    assert parse_document("x.xml", xmeml_bytes(table)).getroot().tag == "xmeml"  # lenient


def test_strict_refuses_stray_source_times_and_parameters():
    table = every_role_table()
    with pytest.raises(ValueError, match="source_timestamp is NaN"):
        xmeml_bytes(table.assign(source_timestamp=1.0), strict=True)
    table.loc[70:, "t01_scale"] = 150.0  # V1 is inactive there
    with pytest.raises(ValueError, match="scale is not 100 on inactive frames"):
        xmeml_bytes(table, strict=True)


def test_writing_replaces_the_file_atomically(tmp_path):
    target = tmp_path / "out" / "edit.xml"
    write_xmeml(every_role_table(), target)
    first = target.read_bytes()
    write_xmeml(every_role_table().iloc[:40], target)
    assert target.read_bytes() != first and read_xmeml(target).sequence.duration == 40
    assert [p.name for p in target.parent.iterdir()] == ["edit.xml"]


def test_columns_are_the_sampler_order():
    # the writer reads the same layout the sampler writes; make_table follows it too
    assert list(every_role_table().columns[5:]) == track_columns(2)


# -- keyframe reduction --------------------------------------------------------------------------


def interpolated(values, keep):
    values = np.asarray(values, dtype=float)
    values = values[:, None] if values.ndim == 1 else values
    x = np.arange(len(values))
    return np.column_stack([np.interp(x, keep, values[keep, c]) for c in range(values.shape[1])])


@FAST
@given(
    values=st.lists(st.floats(-1000, 1000), min_size=1, max_size=300),
    tolerance=st.floats(0, 50),
)
def test_reduced_keyframes_stay_within_tolerance(values, tolerance):
    keep = reduce_keyframes(np.array(values), tolerance)
    assert keep == sorted(set(keep)) and 1 <= len(keep) <= len(values)
    assert keep[0] == 0 and (keep[-1] == len(values) - 1 or keep == [0])
    error = np.abs(interpolated(values, keep)[:, 0] - np.array(values))
    assert (error <= tolerance + 1e-9).all()


@FAST
@given(
    pieces=st.lists(st.tuples(st.integers(1, 40), st.floats(-50, 50)), min_size=1, max_size=6),
    start=st.floats(-100, 100),
    tolerance=st.floats(1e-3, 1),
)
def test_piecewise_linear_input_keeps_at_most_its_break_points(pieces, start, tolerance):
    values = [start]
    for length, slope in pieces:
        values += [values[-1] + slope * (i + 1) for i in range(length)]
    keep = reduce_keyframes(np.array(values), tolerance)
    assert len(keep) <= len(pieces) + 1


@FAST
@given(
    n=st.integers(2, 500),
    slope=st.floats(0.01, 10) | st.floats(-10, -0.01),
    offset=st.floats(-100, 100),
)
def test_linear_input_gives_its_two_endpoints(n, slope, offset):
    assert reduce_keyframes(offset + slope * np.arange(n), 0.005) == [0, n - 1]


def test_constant_runs_and_edge_cases():
    assert reduce_keyframes(np.full(100, 3.5), 0.0) == [0]
    assert reduce_keyframes(np.array([1.0]), 0.1) == [0]
    assert reduce_keyframes(np.array([]), 0.1) == []
    assert reduce_keyframes(np.array([0.0, 0.04, 0.0]), 0.05) == [0]  # within tolerance
    with pytest.raises(ValueError, match="finite"):
        reduce_keyframes(np.array([0.0, np.nan]), 0.1)


@FAST
@given(
    x=st.lists(st.floats(-1, 1), min_size=2, max_size=200),
    y_scale=st.floats(0, 2),
)
def test_point_parameters_share_keyframes_within_each_components_tolerance(x, y_scale):
    x = np.array(x)
    values = np.column_stack([x, np.cumsum(x) * y_scale])
    tolerance = [0.01, 0.2]
    keep = reduce_keyframes(values, tolerance)
    error = np.abs(interpolated(values, keep) - values)
    assert (error <= np.array(tolerance) + 1e-9).all()


CURVE = st.lists(st.tuples(st.integers(1, 30), st.floats(-3, 3)), min_size=1, max_size=4)


def curve(pieces, start: float, n: int) -> np.ndarray:
    """A piecewise-linear curve of n frames (the shape a smoothed prediction has)."""
    values = [start]
    for length, slope in pieces:
        values += [values[-1] + slope * (i + 1) for i in range(length)]
    return np.resize(np.array(values), n)


@FAST
@given(
    n=st.integers(1, 120),
    scale=CURVE, pos=CURVE, crop=CURVE,
    start=st.tuples(st.floats(50, 150), st.floats(-0.5, 0.5), st.floats(0, 20)),
    still=st.sets(st.sampled_from([p.column for p in DEFAULT_PARAMETERS])),
)  # fmt: skip
def test_written_keyframes_counts_the_keyframes_the_filters_hold(n, scale, pos, crop, start, still):
    from xml2csv.keyframes import filter_elements, written_keyframes

    block = {
        "scale": curve(scale, start[0], n),
        "pos_x": curve(pos, start[1], n) / 10,
        "pos_y": curve(pos[::-1], -start[1], n) / 10,
        "crop_left": curve(crop, start[2], n),
        "crop_right": np.zeros(n),
        "crop_top": curve(crop[::-1], start[2], n),
        "crop_bottom": np.zeros(n),
    }
    for column in still:  # some parameters held at their default: no filter for them
        block[column] = np.full(
            n, next(p.default for p in DEFAULT_PARAMETERS if p.column == column)
        )
    filters = filter_elements(DEFAULT_PARAMETERS, block, 0, DEFAULT_TOLERANCE)
    held = sum(len(f.findall(".//keyframe")) for f in filters)
    assert written_keyframes(block) == held


def test_tolerance_is_configurable_and_bounds_the_read_back_error(tmp_path):
    n = 200
    asset = np.ones((n, 1), dtype=np.int64)
    wobble = 120 + 10 * np.sin(np.arange(n) / 7.0)
    table = make_table(asset, np.arange(n, dtype=float), Fraction(30), {"scale": wobble[:, None]})
    coarse, fine = Tolerance(scale=2.0), Tolerance(scale=0.01)
    counts = {}
    for name, tolerance in (("coarse", coarse), ("fine", fine)):
        path = write_xmeml(table, tmp_path / f"{name}.xml", tolerance=tolerance)
        counts[name] = path.read_bytes().count(b"<keyframe>")
        assert_reads_back(table, read_back(path, 1), tolerance)
    assert 2 <= counts["coarse"] < counts["fine"] <= n


def test_tables_have_the_users_file_mode_as_it_is_when_they_are_written(tmp_path):
    import os
    import stat

    import pandas as pd

    from xml2csv.io import write_table

    old = os.umask(0o002)  # a shared folder's umask, set after xml2csv was imported
    try:
        write_table(pd.DataFrame({"frame": [0, 1]}), tmp_path / "t.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.csv").stat().st_mode) == 0o664
