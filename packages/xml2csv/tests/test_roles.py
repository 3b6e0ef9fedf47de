"""Asset roles from the rule table: by track, by file extension, by generator and source."""

from __future__ import annotations

import pytest

from xml2csv import DEFAULT_RULES, AssetRole, read_xmeml, sample


def roles_of(write, xm, items, definitions, rules=DEFAULT_RULES):
    doc = xm.document(*(xm.track(item) for item in items), definitions=definitions)
    timeline = read_xmeml(write(doc))
    table = sample(timeline, n_tracks=len(items), rules=rules)
    return [int(table[f"t{k:02d}_asset"].iloc[0]) for k in range(1, len(items) + 1)]


@pytest.mark.parametrize(
    ("file", "role"),
    [
        ({"name": "shot.PNG"}, AssetRole.STILL_IMAGE),
        ({"name": "scan.tiff"}, AssetRole.STILL_IMAGE),
        ({"name": "frame.mov", "stillframe": True}, AssetRole.STILL_IMAGE),
        ({"name": "broll.mxf"}, AssetRole.OTHER_VIDEO),
        ({"name": "lower third.motn"}, AssetRole.OTHER_GRAPHIC),
        ({"name": "Black Video", "media_source": "Slug"}, AssetRole.MATTE),
        ({"name": "Title 01", "media_source": "GraphicAndType"}, AssetRole.TEXT),
        ({"name": "Adjustment", "media_source": "Adjustment"}, AssetRole.OTHER_GRAPHIC),
    ],
)
def test_roles_by_file(xm, write, file, role):
    defs = [xm.FileDef("main", "main.mp4"), xm.FileDef("x", **file)]
    items = [xm.clip(0, 100, 0, 100, "main"), xm.clip(0, 10, 0, 10, "x")]
    assert roles_of(write, xm, items, defs) == [AssetRole.MAIN_SOURCE, role]


@pytest.mark.parametrize(
    ("effect", "role"),
    [
        ("Text", AssetRole.TEXT),
        ("Outline Text", AssetRole.TEXT),
        ("Scrolling Text", AssetRole.TEXT),
        ("Color", AssetRole.MATTE),
        ("Bars and Tone", AssetRole.MATTE),
        ("Particle Fire", AssetRole.OTHER_GRAPHIC),
    ],
)
def test_roles_by_generator(xm, write, effect, role):
    items = [xm.clip(0, 100, 0, 100, "main"), xm.gen(0, 10, effect)]
    assert roles_of(write, xm, items, [xm.FileDef("main", "main.mp4")])[1] == role


def test_a_missing_file_definition_is_unresolved_and_reported(xm, write):
    doc = xm.document(
        xm.track(xm.clip(0, 10, 0, 10, "main")), xm.track(xm.clip(0, 10, 0, 10, "gone"))
    )
    timeline = read_xmeml(write(doc))
    table = sample(timeline, n_tracks=2)
    assert table["t02_asset"].iloc[0] == AssetRole.UNRESOLVED
    assert any("'gone'" in w and "never defined" in w for w in timeline.warnings)


def test_rules_can_be_extended_without_code_changes(xm, write):
    defs = [xm.FileDef("main", "main.mp4"), xm.FileDef("x", "subs.ass")]
    items = [
        xm.clip(0, 100, 0, 100, "main"),
        xm.gen(0, 10, "Subtitle Maker"),
        xm.clip(0, 10, 0, 10, "x"),
    ]
    rules = DEFAULT_RULES.extend(text_generators={"subtitle maker"}, image_extensions={".ass"})
    assert roles_of(write, xm, items, defs, rules)[1:] == [AssetRole.TEXT, AssetRole.STILL_IMAGE]
    assert roles_of(write, xm, items, defs)[1:] == [AssetRole.OTHER_GRAPHIC, AssetRole.OTHER_VIDEO]
    with pytest.raises(TypeError, match="no rule named"):
        DEFAULT_RULES.extend(colours={"x"})
