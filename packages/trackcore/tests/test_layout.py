"""The track layout: one table, everything else derived from it."""

from __future__ import annotations

import pytest

import trackcore
from trackcore import (
    ACTIVE,
    ASSET,
    FIELD_NAMES,
    LAYOUT_VERSION,
    META_COLUMNS,
    N_ASSETS,
    N_PARAMETERS,
    PARAMETER_NAMES,
    PARAMETERS,
    TRACK_FIELDS,
    TRACK_NEUTRAL,
    TRACK_WIDTH,
    AssetRole,
    LayoutError,
    check_layout,
    check_track_columns,
    count_tracks,
    field_index,
    parse_track_column,
    track_column,
    track_columns,
)


def test_the_layout_of_spec_md():
    assert FIELD_NAMES == (
        "active", "asset", "scale", "pos_x", "pos_y",
        "crop_left", "crop_right", "crop_top", "crop_bottom",
    )  # fmt: skip
    assert TRACK_WIDTH == len(TRACK_FIELDS) == 9
    assert TRACK_NEUTRAL == (0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert (ACTIVE, ASSET) == (0, 1)
    assert FIELD_NAMES[PARAMETERS] == PARAMETER_NAMES and N_PARAMETERS == 7
    assert {f.kind for f in TRACK_FIELDS[PARAMETERS]} == {"continuous"}
    assert (TRACK_FIELDS[ACTIVE].kind, TRACK_FIELDS[ASSET].kind) == ("binary", "discrete")
    assert all(f.unit for f in TRACK_FIELDS)
    assert META_COLUMNS == (
        "edit_id",
        "source_video_name",
        "frame",
        "timestamp",
        "source_timestamp",
    )


def test_asset_roles():
    assert N_ASSETS == 10 and [int(r) for r in AssetRole] == list(range(10))
    assert AssetRole.NONE == 0 and AssetRole.UNRESOLVED == 9
    assert AssetRole(1).name == "MAIN_SOURCE"


def test_columns_are_named_and_parsed_back():
    columns = track_columns(2)
    assert columns[:2] == ["t01_active", "t01_asset"] and columns[-1] == "t02_crop_bottom"
    assert len(columns) == 2 * TRACK_WIDTH
    assert [parse_track_column(c) for c in columns[:3]] == [
        (1, "active"), (1, "asset"), (1, "scale"),
    ]  # fmt: skip
    assert track_column(12, "pos_x") == "t12_pos_x" == track_columns(12)[11 * 9 + 3]
    assert parse_track_column("t120_crop_top") == (120, "crop_top")
    for other in ("edit_id", "t1_active", "t01_opacity", "t00_active", "x_t01_active"):
        assert parse_track_column(other) is None
    assert count_tracks(["frame", *track_columns(3), "t07_active"]) == 7
    assert count_tracks(["frame"]) == 0
    assert field_index("crop_left") == 5
    with pytest.raises(LayoutError, match="not a track field"):
        field_index("rotation")
    with pytest.raises(LayoutError, match="count from 1"):
        track_column(0, "active")


def test_check_layout_knows_this_release_and_names_the_rest():
    assert check_layout(LAYOUT_VERSION) == 1
    for bad in (2, 0, "1", None, True, 1.0):
        with pytest.raises(LayoutError, match="track layout version") as caught:
            check_layout(bad, "x/manifest.json")
        assert str(caught.value).startswith("x/manifest.json: ")
    assert issubclass(LayoutError, ValueError)


def test_check_track_columns():
    check_track_columns(track_columns(2), 2)
    with pytest.raises(LayoutError, match=r"expected n_tracks\*9 = 27"):
        check_track_columns(track_columns(2), 3)
    swapped = track_columns(1)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    with pytest.raises(LayoutError, match="track column 2 is 't01_pos_x', expected 't01_scale'"):
        check_track_columns(swapped, 1)


def test_public_names_resolve_and_nothing_but_the_standard_library_is_loaded():
    import subprocess
    import sys

    assert all(getattr(trackcore, name) is not None for name in trackcore.__all__)
    code = (
        "import sys, trackcore, trackcore.atomic, trackcore.manifest\n"
        "heavy = [m for m in ('numpy', 'pandas', 'torch', 'typer') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
