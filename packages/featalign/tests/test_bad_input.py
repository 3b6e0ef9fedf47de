"""Every bad input the issue lists gets a specific error or a masked, reported value."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from featalign import (
    FeatAlignError,
    FeatureSchema,
    FeatureTableError,
    SchemaError,
    align,
    load_features,
)

FRAMES = np.arange(0, 3, 1 / 30)


def table(**cols) -> pd.DataFrame:
    base = {"time": [0.0, 1.0, 2.0, 3.0], "x": [0.0, 1.0, 2.0, 3.0]}
    return pd.DataFrame({**base, **cols})


def test_empty_file_is_a_specific_error(tmp_path):
    path = tmp_path / "v.audio.csv"
    path.write_text("")
    with pytest.raises(FeatureTableError, match="empty") as err:
        align(FRAMES, path)
    assert str(path) in str(err.value)


def test_header_only_file_is_empty(tmp_path):
    path = tmp_path / "v.audio.csv"
    path.write_text("time,x\n")
    with pytest.raises(FeatureTableError, match="no rows"):
        align(FRAMES, path)


def test_missing_time_column_names_the_columns(tmp_path):
    with pytest.raises(FeatureTableError, match="no time column") as err:
        align(FRAMES, pd.DataFrame({"x": [1.0, 2.0]}), source="a.csv")
    assert "a.csv" in str(err.value) and "'x'" in str(err.value)
    with pytest.raises(FeatureTableError, match="secs"):
        align(FRAMES, table(), FeatureSchema(time_column="secs"))


def test_non_numeric_time_column():
    with pytest.raises(FeatureTableError, match="not numeric"):
        align(FRAMES, pd.DataFrame({"time": ["a", "b"], "x": [1.0, 2.0]}))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_times_are_dropped_and_counted(bad):
    t = table()
    t.loc[1, "time"] = bad
    al = align(FRAMES, t, max_gap_s=5)
    assert al.report.bad_time_rows == 1
    assert any("NaN/inf time" in w for w in al.report.warnings)
    assert al.report.n_samples == 3


def test_all_times_nan_is_an_error():
    with pytest.raises(FeatureTableError, match="every time value"):
        align(FRAMES, table(time=[np.nan] * 4))


def test_unsorted_times_are_sorted_with_a_warning_or_rejected():
    shuffled = table().iloc[[2, 0, 3, 1]].reset_index(drop=True)
    al = align(FRAMES, shuffled)
    assert al.report.was_unsorted and any("not sorted" in w for w in al.report.warnings)
    assert np.allclose(al.values[al.mask, 0], FRAMES[al.mask], atol=1e-6)
    with pytest.raises(FeatureTableError, match="not sorted") as err:
        align(FRAMES, shuffled, FeatureSchema(unsorted="error"))
    assert "row" in str(err.value)


def test_duplicate_times_keep_the_last_row_by_default():
    dup = pd.DataFrame({"time": [0.0, 1.0, 1.0, 2.0], "x": [0.0, 5.0, 7.0, 2.0]})
    at_one = np.array([1.0])
    assert align(at_one, dup).values[0, 0] == 7.0
    assert align(at_one, dup, FeatureSchema(duplicates="first")).values[0, 0] == 5.0
    assert align(at_one, dup).report.duplicate_rows == 1
    with pytest.raises(FeatureTableError, match="repeated"):
        align(at_one, dup, FeatureSchema(duplicates="error"))


def test_nan_inside_values_is_masked_and_counted():
    t = table(x=[0.0, np.nan, 2.0, 3.0])
    al = align(np.array([1.0, 2.5]), t)
    assert al.values[0, 0] == 0 and al.missing[0, 0]
    assert al.values[1, 0] == pytest.approx(2.5)
    assert al.report.nonfinite_values == 1 and al.report.zero_filled_cells == 1


def test_embedding_group_of_the_wrong_width():
    cols = {f"clip_{k}": np.ones(4) for k in range(5)}
    with pytest.raises(SchemaError, match="schema says 6"):
        align(FRAMES, table(**cols), FeatureSchema(embeddings={"clip": 6}))
    # a hole in the indices is the wrong width too
    cols.pop("clip_2")
    with pytest.raises(SchemaError, match="clip"):
        align(FRAMES, table(**cols), FeatureSchema(embeddings={"clip": None, "x": 1}))


def test_non_numeric_feature_columns_are_dropped_with_a_log_line(caplog):
    with caplog.at_level(logging.INFO, logger="featalign"):
        al = align(FRAMES, table(name=["a", "b", "c", "d"]))
    assert al.columns == ["x"] and al.report.dropped_columns == ["name"]
    assert "name" in caplog.text


def test_unknown_extension_and_unreadable_files(tmp_path):
    path = tmp_path / "v.audio.xlsx"
    path.write_text("x")
    with pytest.raises(FeatureTableError, match="unknown feature file type"):
        load_features(path)
    with pytest.raises(FeatAlignError):
        load_features(tmp_path / "absent.csv")


def test_corrupt_parquet_is_a_specific_error(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "v.visual.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(FeatureTableError, match="cannot read"):
        load_features(path)


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "v.visual.parquet"
    table().to_parquet(path)
    al = align(np.array([1.5]), path)
    assert al.values[0, 0] == pytest.approx(1.5)


def test_declared_but_absent_columns_are_zero_and_reported():
    al = align(np.array([1.0]), table(), FeatureSchema(continuous=["x", "loudness"]))
    assert al.columns == ["x", "loudness"] and al.values[0, 1] == 0
    assert any("dimension mismatch" in w for w in al.report.warnings)


def test_bad_schema_options():
    with pytest.raises(SchemaError):
        FeatureSchema(unsorted="shuffle")
    with pytest.raises(SchemaError):
        FeatureSchema(duplicates="mean")


def test_a_sparse_binary_file_named_csv_is_refused_at_once(tmp_path):
    import time

    path = tmp_path / "v.audio.csv"
    with path.open("wb") as handle:
        handle.truncate(256 * 1024 * 1024)  # sparse: all NUL bytes, no disk space
    started = time.perf_counter()
    with pytest.raises(FeatureTableError, match=r"binary content.*NUL byte at byte 0") as err:
        load_features(path)
    assert time.perf_counter() - started < 1.0  # pandas took seconds per GB to say less
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_a_table_that_is_not_utf8_text_is_refused_with_the_byte(tmp_path):
    path = tmp_path / "v.audio.csv"
    path.write_bytes("time,lautstärke\n0,1\n".encode("latin-1"))
    with pytest.raises(FeatureTableError, match=r"not UTF-8 text \(byte 11\)"):
        load_features(path)
