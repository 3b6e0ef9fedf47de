"""Hypothesis properties of align(): tolerance, kinds, bounds, unit length, masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from featalign import FeatureSchema, align

SETTINGS = settings(max_examples=60, deadline=None)
SCHEMA = FeatureSchema(continuous=["c"], discrete=["d"], binary=["b"])


@st.composite
def tables(draw, min_rows: int = 2):
    """A feature table with strictly increasing, irregular times and three kinds."""
    m = draw(st.integers(min_rows, 30))
    steps = draw(st.lists(st.floats(0.01, 2.0), min_size=m, max_size=m))
    t0 = draw(st.floats(-5, 5))
    t = t0 + np.cumsum(steps)
    finite = st.floats(-1e4, 1e4, allow_nan=False, width=32)
    c = np.array(draw(st.lists(finite, min_size=m, max_size=m)), dtype=np.float32)
    d = np.array(draw(st.lists(st.integers(0, 5), min_size=m, max_size=m)))
    b = np.array(draw(st.lists(st.integers(0, 1), min_size=m, max_size=m)))
    return pd.DataFrame({"time": t, "c": c, "d": d, "b": b})


@st.composite
def targets(draw, table: pd.DataFrame | None = None):
    lo, hi = (-10.0, 80.0) if table is None else (table.time.min() - 2, table.time.max() + 2)
    xs = draw(st.lists(st.floats(lo, hi), min_size=1, max_size=60))
    return np.array(xs)


@SETTINGS
@given(tables(), st.data())
def test_frames_within_tolerance_take_the_sample_exactly(table, data):
    k = data.draw(st.integers(0, len(table) - 1))
    jitter = data.draw(st.floats(-0.9e-6, 0.9e-6))
    x = np.array([table.time[k] + jitter])
    al = align(x, table, SCHEMA, max_gap_s=0.001)  # a gap limit this small: only exact frames
    assert al.mask[0]
    assert al.values[0, 0] == np.float32(table.c[k])
    assert al.values[0, 1] == table.d[k] and al.values[0, 2] == table.b[k]
    assert al.report.exact_pct == 100.0


@SETTINGS
@given(tables(), st.data())
def test_continuous_is_linear_interpolation(table, data):
    x = data.draw(targets(table))
    al = align(x, table, SCHEMA, max_gap_s=1e9)
    t, c = table.time.to_numpy(), table.c.to_numpy(np.float64)
    tol = SCHEMA.time_tolerance_s
    inside = (x >= t[0] - tol) & (x <= t[-1] + tol)
    assert np.array_equal(al.mask, inside)
    # Frames within tolerance of a sample take it exactly (tested above); compare the rest.
    between = inside & (np.min(np.abs(x[:, None] - t[None, :]), axis=1) > tol)
    want = np.interp(x[between], t, c)
    scale = np.maximum(1.0, np.abs(c).max())
    assert np.allclose(al.values[between, 0], want, rtol=0, atol=2e-6 * scale)


@SETTINGS
@given(tables(), st.data())
def test_discrete_and_binary_forward_fill(table, data):
    x = data.draw(targets(table))
    al = align(x, table, SCHEMA, max_gap_s=1e9)
    t = table.time.to_numpy()
    ref = table.set_index("time")[["d", "b"]].reindex(pd.Index(np.union1d(t, x[al.mask]))).ffill()
    want = ref.loc[x[al.mask]].to_numpy(np.float32)
    # Frames a hair before a sample (within tolerance) take that sample: compare elsewhere.
    far = np.min(np.abs(x[al.mask, None] - t[None, :]), axis=1) > 1e-6
    assert np.array_equal(al.values[al.mask][far][:, 1:], want[far])
    assert set(np.unique(al.values[al.mask, 1])) <= set(table.d.astype(np.float32))


@SETTINGS
@given(tables(), st.data())
def test_interpolated_values_stay_between_their_neighbours(table, data):
    x = data.draw(targets(table))
    al = align(x, table, SCHEMA, max_gap_s=1e9)
    t, c = table.time.to_numpy(), table.c.to_numpy(np.float32)
    for xi, v, ok in zip(x, al.values[:, 0], al.mask, strict=True):
        if not ok:
            continue
        near = int(np.argmin(np.abs(t - xi)))
        if abs(t[near] - xi) <= 1e-6:  # exact: that sample's value
            assert v == c[near]
            continue
        r = int(np.searchsorted(t, xi))
        lo, hi = min(c[r - 1], c[r]), max(c[r - 1], c[r])
        assert lo <= v <= hi


@st.composite
def embedding_tables(draw):
    m = draw(st.integers(2, 12))
    width = draw(st.integers(2, 8))
    vecs = draw(
        st.lists(
            st.lists(st.floats(-10, 10, allow_nan=False), min_size=width, max_size=width),
            min_size=m,
            max_size=m,
        )
    )
    vecs = np.array(vecs)
    vecs[np.linalg.norm(vecs, axis=1) < 1e-3, 0] = 1.0  # zero vectors have no direction
    t = np.cumsum(draw(st.lists(st.floats(0.05, 1.0), min_size=m, max_size=m)))
    cols = {f"e_{k}": vecs[:, k] for k in range(width)}
    return pd.DataFrame({"time": t, **cols}), width


@SETTINGS
@given(embedding_tables(), st.data(), st.floats(-1, 1))
def test_embeddings_have_unit_length_and_cuts_take_the_nearest(tw, data, threshold):
    table, width = tw
    schema = FeatureSchema(embeddings={"e": width}, cut_similarity=threshold)
    x = data.draw(targets(table))
    al = align(x, table, schema, max_gap_s=1e9)
    assert al.kinds["e_0"] == "embedding"
    norms = np.linalg.norm(al.values[al.mask], axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    assert np.all(al.values[~al.mask] == 0)
    t, v = table.time.to_numpy(), table.drop(columns="time").to_numpy(np.float32)
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    for xi, row, ok in zip(x, al.values, al.mask, strict=True):
        r = np.searchsorted(t, xi)
        if not ok or r == 0 or r >= len(t) or np.isclose(xi, t[r], atol=1e-6):
            continue
        if np.isclose(xi, t[r - 1], atol=1e-6):
            continue
        if float(unit[r - 1] @ unit[r]) < threshold - 1e-4:  # a cut: the nearest sample
            near = r if (xi - t[r - 1]) >= (t[r] - xi) else r - 1
            assert np.allclose(row, unit[near], atol=1e-4)


@SETTINGS
@given(tables(min_rows=1), st.data(), st.floats(0.05, 3.0))
def test_mask_is_zero_exactly_outside_coverage_and_in_long_gaps(table, data, max_gap):
    x = data.draw(targets(table))
    x[data.draw(st.lists(st.integers(0, len(x) - 1), max_size=3))] = np.nan
    al = align(x, table, SCHEMA, max_gap_s=max_gap)
    t = table.time.to_numpy()
    tol = SCHEMA.time_tolerance_s
    expect = []
    for xi in x:
        if not np.isfinite(xi):
            expect.append(False)
            continue
        if np.min(np.abs(t - xi)) <= tol:
            expect.append(True)
            continue
        r = np.searchsorted(t, xi)
        expect.append(0 < r < len(t) and t[r] - t[r - 1] <= max_gap)
    assert np.array_equal(al.mask, np.array(expect))
    assert np.all(al.values[~al.mask] == 0)
    assert np.isfinite(al.values).all()
    assert al.values.dtype == np.float32 and al.mask.dtype == bool
    rep = al.report
    assert np.isclose(rep.coverage_pct, 100 * al.mask.mean())
    assert np.isclose(rep.exact_pct + rep.interpolated_pct, rep.coverage_pct)
    assert np.isclose(rep.coverage_pct + rep.outside_pct + rep.in_gap_pct, 100)
    assert all(g.length_s > max_gap for g in rep.gaps)
    assert len(rep.gaps) == int((np.diff(t) > max_gap).sum())


@SETTINGS
@given(tables(min_rows=3), st.data())
def test_nan_and_inf_feature_values_are_zero_filled_and_counted(table, data):
    bad_rows = data.draw(st.lists(st.integers(0, len(table) - 1), min_size=1, max_size=3))
    table = table.astype({"c": np.float64})
    table.loc[bad_rows, "c"] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    x = data.draw(targets(table))
    al = align(x, table, SCHEMA, max_gap_s=1e9)
    assert np.isfinite(al.values).all()
    assert al.report.nonfinite_values == len(set(bad_rows))
    if al.missing is None:
        assert al.report.zero_filled_cells == 0
    else:
        assert al.report.zero_filled_cells == int(al.missing.sum())
        assert np.all(al.values[al.missing] == 0)
        assert not al.missing[~al.mask].any()
        assert not al.missing[:, 1:].any()  # only column c had bad values


def test_align_stays_the_function_after_the_store_is_imported():
    """The module that defines `align` must not shadow it: importing a submodule binds the
    submodule's name on the package (`featalign.align` was a module after `featalign.store`)."""
    import importlib

    import featalign

    importlib.import_module("featalign.store")
    importlib.import_module("featalign.validate")
    assert callable(featalign.align) and featalign.align.__name__ == "align"
