"""The real exports in ../shared/xmeml-corpus: every file converts, with facts read off the
files by hand (skipped when the corpus is not beside the project)."""

from __future__ import annotations

import numpy as np
import pytest

from xml2csv import AssetRole, read_xmeml, sample

pytestmark = pytest.mark.corpus


def test_every_corpus_file_converts(corpus, corpus_file):
    timeline = read_xmeml(corpus / corpus_file)
    table = sample(timeline)
    assert len(table) == timeline.sequence.duration
    assert len(table.columns) == 5 + 180
    values = table.drop(columns=["edit_id", "source_video_name", "source_timestamp"])
    assert np.isfinite(values.to_numpy(dtype=float)).all()
    for k in range(1, 21):
        off = table[f"t{k:02d}_active"] == 0
        assert (table.loc[off, f"t{k:02d}_asset"] == 0).all()


def test_conecta_ntsc_disabled_tracks_and_static_motion(corpus):
    timeline = read_xmeml(corpus / "ccnmtl_fcp7_conecta_2997.xml")
    table = sample(timeline)
    assert timeline.sequence.rate.ntsc and float(timeline.sequence.fps) == pytest.approx(
        29.97, abs=1e-3
    )
    assert [t.enabled for t in timeline.sequence.tracks] == [False, False, True, True, True]
    assert not table["t01_active"].any() and not table["t02_active"].any()
    # V3 starts with a clip whose start is -1 after a 0-30 centre dissolve: in 691 at frame 0
    first = timeline.sequence.tracks[2].items[0]
    assert (first.start, first.end, first.in_) == (0, 287, 691)
    assert table["t03_active"].iloc[0] == 1


def test_markp_single_clip_between_fades(corpus):
    table = sample(read_xmeml(corpus / "ccnmtl_fcp7_markp_2997.xml"))
    assert table["t01_active"].iloc[:44275].all() and not table["t01_active"].iloc[44275:].any()
    assert (table["t01_asset"].iloc[:44275] == AssetRole.MAIN_SOURCE).all()
    assert table["source_video_name"].iloc[0] == "marc_phillipson_032310.mov"
    assert table["source_timestamp"].iloc[30] == pytest.approx(30 * 1001 / 30000)


def test_enable_property_clips_and_track(corpus):
    timeline = read_xmeml(corpus / "otio_premiere_enable_property.xml")
    table = sample(timeline)
    items = timeline.sequence.tracks[0].items
    disabled = [i.name for t in timeline.sequence.tracks for i in t.items if not i.enabled]
    assert disabled and all("disabled" in name.lower() for name in disabled)
    assert not timeline.sequence.tracks[2].enabled and not table["t03_active"].any()
    for item in items:
        assert table["t01_active"].iloc[item.start : item.end].eq(int(item.enabled)).all()


def test_nick_premiere_static_basic_motion_and_pngs(corpus):
    timeline = read_xmeml(corpus / "nick_premiere_filtered.xml")
    table = sample(timeline)
    assert len(timeline.sequence.tracks) == 15
    # V11 holds PNG burn-ins; "Sc_002" (line 34281, frames 13920-14090) has a static Basic
    # Motion of scale 150 and centre (0, -0.0833333)
    on = table["t11_active"] == 1
    assert (table.loc[on, "t11_asset"] == AssetRole.STILL_IMAGE).all()
    assert set(np.round(table.loc[on, "t11_scale"].unique(), 3)) <= {150.0, 100.0}
    clip = table.iloc[13920:14090]
    assert (clip["t11_scale"] == 150).all() and (clip["t11_pos_y"] == -0.0833333).all()
    assert (clip["t11_pos_x"] == 0).all()
    assert any("file-22901" in w for w in timeline.warnings)


def test_premiere_generators_roles(corpus):
    table = sample(read_xmeml(corpus / "otio_premiere_generators.xml"))
    roles = set(table["t01_asset"].unique())
    assert AssetRole.MATTE in roles and AssetRole.TEXT in roles
    assert table["timestamp"].iloc[24] == pytest.approx(24 * 1001 / 24000)


def test_premiere_example_nested_sequence(corpus):
    timeline = read_xmeml(corpus / "otio_premiere_example.xml")
    table = sample(timeline)
    nested = [i for t in timeline.sequence.tracks for i in t.items if i.nested is not None]
    # the nested sequence's second use (an id-only reference) sits on an audio track
    assert [i.nested.seq_id for i in nested] == ["sequence-2"]
    assert (table["t02_asset"].iloc[636:956] == AssetRole.NESTED_SEQUENCE).all()
    # V4: two explicit clips overlap under a transition; the track switches at its centre
    first, second = timeline.sequence.tracks[3].items
    assert (first.visible_end, second.visible_start) == (1164, 1164)


def test_empty_name_tags_twelve_tracks_and_static_scale(corpus):
    timeline = read_xmeml(corpus / "otio_empty_name_tags.xml")
    table = sample(timeline)
    assert len(timeline.sequence.tracks) == 12
    scales = set(np.round(table.loc[table["t01_active"] == 1, "t01_scale"].unique(), 2))
    assert scales & {93.75, 93.8}


def test_resolve_export_stills_and_transition(corpus):
    timeline = read_xmeml(corpus / "nick_resolve_export.xml")
    table = sample(timeline)
    assert (table["t03_asset"] == AssetRole.STILL_IMAGE).all()
    # V2: a clip with start -1 after a transition at 511-547 (alignment start): it begins at 511
    item = timeline.sequence.tracks[1].items[1]
    assert item.start == 511 and item.visible_start == 511
