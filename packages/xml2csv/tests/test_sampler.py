"""The track table: which frames are on, what the parameters are, where the source is."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xml2csv import DEFAULT_PARAMETERS, read_xmeml, sample, track_columns
from xml2csv.roles import AssetRole

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def table_of(write, data, **kwargs):
    return sample(read_xmeml(write(data)), **kwargs)


@st.composite
def layouts(draw):
    """Up to 4 tracks of non-overlapping clips with static scale/centre/crop."""
    tracks = []
    for _ in range(draw(st.integers(1, 4))):
        cursor, clips = 0, []
        for _ in range(draw(st.integers(0, 4))):
            start = cursor + draw(st.integers(0, 20))
            end = start + draw(st.integers(1, 30))
            in_ = draw(st.integers(0, 500))
            scale = draw(st.floats(1, 400, allow_nan=False).map(lambda v: round(v, 3)))
            pos = (
                draw(st.floats(-1, 1).map(lambda v: round(v, 4))),
                draw(st.floats(-1, 1).map(lambda v: round(v, 4))),
            )
            crops = [draw(st.integers(0, 60)) for _ in range(4)]
            enabled = draw(st.booleans() | st.just(True))
            clips.append((start, end, in_, scale, pos, crops, enabled))
            cursor = end
        tracks.append((clips, draw(st.booleans() | st.just(True))))
    return tracks


@FAST
@given(layout=layouts())
def test_every_enabled_clip_frame_is_active_with_its_static_parameters(xm, write, layout):
    tracks_xml = []
    for clips, track_enabled in layout:
        items = []
        for start, end, in_, scale, pos, crops, enabled in clips:
            motion = xm.filt("basic", xm.param("scale", scale), xm.param("center", pos))
            crop = xm.filt(
                "crop",
                *(
                    xm.param(side, v)
                    for side, v in zip(("left", "right", "top", "bottom"), crops, strict=True)
                ),
            )
            items.append(
                xm.clip(start, end, in_, in_ + end - start, "main", motion, crop, enabled=enabled)
            )
        tracks_xml.append(xm.track(*items, enabled=track_enabled))
    table = table_of(write, xm.document(*tracks_xml), n_tracks=4)

    assert list(table.columns[5:]) == track_columns(4)
    n = len(table)
    for k, (clips, track_enabled) in enumerate(layout, start=1):
        expected_active = np.zeros(n, dtype=bool)
        expected_scale = np.full(n, 100.0)
        expected_crop_top = np.zeros(n)
        for start, end, _in, scale, _pos, crops, enabled in clips:
            if enabled and track_enabled:
                expected_active[start:end] = True
                expected_scale[start:end] = scale
                expected_crop_top[start:end] = crops[2]
        assert (table[f"t{k:02d}_active"].to_numpy() == expected_active).all()
        assert np.allclose(table[f"t{k:02d}_scale"], expected_scale)
        assert np.allclose(table[f"t{k:02d}_crop_top"], expected_crop_top)
        off = ~expected_active
        assert (table.loc[off, f"t{k:02d}_asset"] == 0).all()
        assert (table.loc[off, [f"t{k:02d}_pos_x", f"t{k:02d}_pos_y"]] == 0).all().all()


def reference_interp(x, whens, values):
    """Piecewise-linear through the keyframes, held flat outside them (written plainly)."""
    out = []
    for t in x:
        if t <= whens[0]:
            out.append(values[0])
        elif t >= whens[-1]:
            out.append(values[-1])
        else:
            j = next(i for i in range(1, len(whens)) if whens[i] >= t)
            w0, w1, v0, v1 = whens[j - 1], whens[j], values[j - 1], values[j]
            out.append(v0 if w1 == w0 else v0 + (v1 - v0) * (t - w0) / (w1 - w0))
    return np.array(out)


@FAST
@given(
    start=st.integers(0, 50),
    length=st.integers(2, 60),
    in_=st.integers(1, 5000),
    offsets=st.lists(st.integers(-80, 140), min_size=1, max_size=6, unique=True),
    values=st.lists(st.floats(1, 500).map(lambda v: round(v, 3)), min_size=6, max_size=6),
)
def test_keyframes_interpolate_on_the_media_axis_and_hold_outside(
    xm, write, start, length, in_, offsets, values
):
    whens = sorted(in_ + o for o in offsets)
    kfs = list(zip(whens, values, strict=False))
    end = start + length
    motion = xm.filt("basic", xm.param("scale", 100, keyframes=kfs))
    table = table_of(
        write,
        xm.document(xm.track(xm.clip(start, end, in_, in_ + length, "main", motion))),
        n_tracks=1,
    )
    media = in_ + np.arange(
        length
    )  # value at sequence frame t is the parameter at in + (t - start)
    expected = reference_interp(media, [w for w, _ in kfs], [v for _, v in kfs])
    got = table["t01_scale"].to_numpy()[start:end]
    assert np.allclose(got, expected)
    lo, hi = min(v for _, v in kfs), max(v for _, v in kfs)
    assert ((got >= lo - 1e-9) & (got <= hi + 1e-9)).all()


def test_keyframes_written_clip_relative_are_detected(xm, write):
    # every `when` in [0, out-in] and none in [in, out]: a writer that counts from the clip start
    motion = xm.filt("basic", xm.param("scale", keyframes=[(0, 100), (10, 200)]))
    path = write(xm.document(xm.track(xm.clip(0, 20, 500, 520, "main", motion))))
    timeline = read_xmeml(path)
    table = sample(timeline, n_tracks=1)
    assert table["t01_scale"].iloc[5] == pytest.approx(150)
    assert table["t01_scale"].iloc[15] == pytest.approx(200)
    assert any("clip-relative" in w for w in timeline.warnings)


def test_point_parameter_keyframes_interpolate_per_component(xm, write):
    motion = xm.filt(
        "basic", xm.param("center", (0, 0), keyframes=[(100, (0, 0)), (110, (0.5, -0.2))])
    )
    table = table_of(
        write, xm.document(xm.track(xm.clip(0, 20, 100, 120, "main", motion))), n_tracks=1
    )
    assert table["t01_pos_x"].iloc[5] == pytest.approx(0.25)
    assert table["t01_pos_y"].iloc[5] == pytest.approx(-0.1)
    assert table["t01_pos_x"].iloc[15] == pytest.approx(0.5)


def test_disabled_or_absent_effects_fall_back_to_defaults(xm, write):
    off = xm.filt("basic", xm.param("scale", 250), enabled=False)
    crop = xm.filt("crop", xm.param("left", 30))
    doc = xm.document(xm.track(xm.clip(0, 10, 0, 10, "main", off, crop), xm.clip(10, 20, 0, 10)))
    table = table_of(write, doc, n_tracks=1)
    assert (table["t01_scale"] == 100).all()
    assert (table["t01_crop_left"].iloc[:10] == 30).all()
    assert (table["t01_crop_left"].iloc[10:] == 0).all()
    assert (table["t01_crop_right"] == 0).all()


def test_optional_parameters_come_from_the_registry(xm, write):
    motion = xm.filt("basic", xm.param("rotation", 12.5))
    opacity = xm.filt("opacity", xm.param("opacity", 40))
    doc = xm.document(xm.track(xm.clip(0, 10, 0, 10, "main", motion, opacity)))
    table = table_of(write, doc, n_tracks=2, extra_parameters=("rotation", "opacity"))
    assert table.columns[5:16].tolist() == [
        "t01_active",
        "t01_asset",
        "t01_scale",
        "t01_pos_x",
        "t01_pos_y",
        "t01_crop_left",
        "t01_crop_right",
        "t01_crop_top",
        "t01_crop_bottom",
        "t01_rotation",
        "t01_opacity",
    ]
    assert (table["t01_rotation"] == 12.5).all() and (table["t01_opacity"] == 40).all()
    assert (table["t02_opacity"] == 100).all()
    with pytest.raises(ValueError, match="unknown parameter"):
        table_of(write, doc, extra_parameters=("blur",))


def test_a_user_parameter_spec_needs_no_sampler_change(xm, write):
    from xml2csv import ParameterSpec

    anchor = ParameterSpec("anchor_x", ("basic",), "centerOffset", 0.0, "horiz")
    doc = xm.document(
        xm.track(
            xm.clip(0, 5, 0, 5, "main", xm.filt("basic", xm.param("centerOffset", (0.2, 0.1))))
        )
    )
    table = table_of(write, doc, n_tracks=1, parameters=(*DEFAULT_PARAMETERS, anchor))
    assert (table["t01_anchor_x"] == 0.2).all()


def test_default_table_has_twenty_tracks_of_nine_columns(xm, write):
    table = table_of(write, xm.document(xm.track(xm.clip(0, 3, 0, 3))))
    assert table.columns.tolist()[:5] == [
        "edit_id",
        "source_video_name",
        "frame",
        "timestamp",
        "source_timestamp",
    ]
    assert len(table.columns) == 5 + 20 * 9
    assert table["frame"].tolist() == [0, 1, 2]


def test_tracks_above_the_limit_are_dropped_and_counted(xm, write):
    tracks = [xm.track(xm.clip(0, 5, 0, 5)) for _ in range(5)]
    timeline = read_xmeml(write(xm.document(*tracks)))
    table = sample(timeline, n_tracks=3)
    assert timeline.tracks_truncated == 2
    assert "t04_active" not in table.columns


def test_a_base_track_above_the_limit_is_reported_not_silently_demoted(xm, write):
    short, long = xm.track(xm.clip(0, 2, 0, 2)), xm.track(xm.clip(0, 10, 0, 10))
    timeline = read_xmeml(write(xm.document(short, short, long)))
    assert timeline.base_track == 3
    table = sample(timeline, n_tracks=2)
    assert set(table["t01_asset"]) == {0, 2}  # the only main-source frames left are overlays
    sample(timeline, n_tracks=2)
    assert [w for w in timeline.warnings if "base track V3" in w] == [
        "the main source's base track V3 is above n_tracks=2: no frame shows the main source "
        "(role 1), only overlays of it (role 2)"
    ]


def test_ntsc_timestamps_are_exact_fractions(xm, write):
    table = table_of(
        write, xm.document(xm.track(xm.clip(0, 3000, 0, 3000)), timebase=30, ntsc=True)
    )
    # 29.97 fps is 30000/1001: 30 frames last 1.001 s, never 30 / 29.97 rounded
    assert table["timestamp"].iloc[30] == 1.001
    assert table["timestamp"].iloc[2970] == pytest.approx(99.099, abs=1e-12)
    assert table["timestamp"].iloc[2997] == pytest.approx(2997 * 1001 / 30000, abs=1e-12)


def test_source_timestamp_follows_the_main_source_on_its_base_track(xm, write):
    defs = [xm.FileDef("main", "stream.mp4"), xm.FileDef("other", "broll.mov")]
    doc = xm.document(
        xm.track(
            xm.clip(0, 50, 300, 350), xm.clip(50, 60, 0, 10, "other"), xm.clip(60, 100, 30, 70)
        ),
        xm.track(xm.clip(20, 40, 900, 920)),  # the same source as an overlay
        definitions=defs,
    )
    timeline = read_xmeml(write(doc))
    table = sample(timeline, n_tracks=2)
    assert timeline.source_video_name == "stream.mp4" and timeline.base_track == 1
    src = table["source_timestamp"].to_numpy()
    assert src[0] == pytest.approx(10.0) and src[25] == pytest.approx(325 / 30)  # base, not overlay
    assert np.isnan(src[50:60]).all()
    assert src[60] == pytest.approx(1.0)
    assert (table["t01_asset"].iloc[:50] == AssetRole.MAIN_SOURCE).all()
    assert (table["t01_asset"].iloc[50:60] == AssetRole.OTHER_VIDEO).all()
    assert (table["t02_asset"].iloc[20:40] == AssetRole.MAIN_SOURCE_OVERLAY).all()


def test_premiere_ticks_give_the_exact_source_time(xm, write):
    ticks = f"<pproTicksIn>{254016000000 * 7}</pproTicksIn>"
    doc = xm.document(xm.track(xm.clip(0, 30, 999, 1029, extra=ticks)), timebase=25)
    table = table_of(write, doc, n_tracks=1)
    assert table["source_timestamp"].iloc[0] == pytest.approx(7.0)
    assert table["source_timestamp"].iloc[25] == pytest.approx(8.0)


def test_the_bundled_example_edit(tmp_path):
    from importlib.resources import files

    path = files("xml2csv") / "examples" / "example_edit.xml"
    timeline = read_xmeml(str(path))
    table = sample(timeline, n_tracks=4)
    assert timeline.source_video_name == "stream 2026-11-01.mp4"
    row = table.iloc[100]
    # zoom keyframes at media frames 510 -> 540 (100% -> 150%); frame 100 shows media 535
    assert row["t01_scale"] == pytest.approx(100 + 50 * 25 / 30)
    assert row["t02_asset"] == AssetRole.MAIN_SOURCE_OVERLAY and row["t02_crop_left"] == 70
    assert row["t03_asset"] == AssetRole.STILL_IMAGE
    assert (
        table["t04_asset"].iloc[30] == AssetRole.TEXT
        and table["t01_asset"].iloc[0] == AssetRole.MATTE
    )
    assert (table["t03_active"].iloc[200:230] == 0).all()  # the disabled b-roll
