"""Schema defaults, TOML loading and the AlignmentReport's warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from featalign import FeatureSchema, SchemaError, align, load_schema


def test_defaults_detect_kinds_and_embedding_groups():
    n = 4
    frame = pd.DataFrame(
        {
            "timestamp": np.arange(n, dtype=float),
            "rms": np.ones(n),
            "face_present": [0, 1, 1, 0],
            "flag": np.array([True, False, True, True]),
            "frame_id": np.arange(n),
            "mfcc_0": np.ones(n),
            **{f"mfcc_{k}": np.ones(n) for k in range(1, 13)},
            **{f"clip_{k}": np.ones(n) for k in range(512)},
        }
    )
    al = align(np.array([0.5]), frame)
    assert al.kinds["rms"] == "continuous"
    assert al.kinds["face_present"] == "binary" and al.kinds["flag"] == "binary"
    assert "frame_id" not in al.columns  # ignored by default
    assert al.kinds["mfcc_3"] == "continuous"  # 13 wide: not an embedding
    assert list(al.groups) == ["clip"] and len(al.groups["clip"]) == 512
    assert al.report.embedding_groups == {"clip": 512}
    assert al.report.columns_by_kind == {"continuous": 14, "binary": 2, "embedding": 512}


def test_toml_schema_with_per_modality_overrides(tmp_path):
    path = tmp_path / "schema.toml"
    path.write_text(
        'time_column = "t"\ncontinuous = ["rms"]\n'
        "[modalities.visual]\ndiscrete = ['shot']\n[modalities.visual.embeddings]\nclip = 512\n"
    )
    audio = load_schema(path, "audio")
    visual = load_schema(path, "visual")
    assert audio.time_column == "t" and audio.embeddings == {}
    assert visual.embeddings == {"clip": 512} and visual.discrete == ["shot"]


def test_toml_schema_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("colour = 3\n")
    with pytest.raises(SchemaError, match="colour") as err:
        load_schema(path)
    assert str(path) in str(err.value)
    path.write_text("not toml [")
    with pytest.raises(SchemaError, match="cannot read"):
        load_schema(path)


def test_exact_name_beats_pattern():
    frame = pd.DataFrame({"time": [0.0, 1.0], "speech": [0.2, 0.8]})
    al = align(np.array([0.5]), frame, FeatureSchema(continuous=["speech"]))
    assert al.kinds["speech"] == "continuous" and al.values[0, 0] == pytest.approx(0.5)


def test_report_warns_about_interpolation_and_long_gaps():
    t = np.array([0.0, 1.0, 2.0, 9.0, 10.0])
    frame = pd.DataFrame({"time": t, "x": t})
    al = align(np.arange(0, 10, 0.1), frame, max_gap_s=2.0)
    rep = al.report
    assert [(g.start_s, g.end_s, g.length_s) for g in rep.gaps] == [(2.0, 9.0, 7.0)]
    assert any("gaps longer than 5 s" in w for w in rep.warnings)
    assert not any("interpolated" in w for w in rep.warnings)  # 28% interpolated
    dense = align(np.arange(0.05, 2, 0.1), frame, max_gap_s=2.0).report
    assert dense.interpolated_pct == 100 and any("interpolated" in w for w in dense.warnings)
    assert rep.in_gap_pct > 0 and not al.mask[50]
    d = rep.to_dict()
    assert d["gaps"][0]["length_s"] == 7.0


def test_default_max_gap_follows_the_sample_rate():
    t = np.arange(0, 20, 0.5)
    frame = pd.DataFrame({"time": t, "x": t})
    assert align(np.array([1.0]), frame).report.max_gap_s == 1.5
    slow = pd.DataFrame({"time": t * 4, "x": t})
    assert align(np.array([1.0]), slow).report.max_gap_s == 6.0
