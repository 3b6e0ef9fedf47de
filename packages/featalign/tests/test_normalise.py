"""Normaliser: round trip, per-column independence, zero-filling, JSON, track columns."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from featalign import Normaliser, SchemaError, mask_inactive_tracks, track_columns, track_kinds

SETTINGS = settings(max_examples=60, deadline=None)
finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


def make(d_cont: int, d_bin: int = 1, width: int = 0) -> Normaliser:
    cols = [f"c{k}" for k in range(d_cont)] + [f"b{k}" for k in range(d_bin)]
    emb = [f"e_{k}" for k in range(width)]
    kinds = {**{c: "continuous" for c in cols[:d_cont]}, **{c: "binary" for c in cols[d_cont:]}}
    kinds.update({c: "embedding" for c in emb})
    return Normaliser(cols + emb, kinds, {"e": emb} if width else None)


@SETTINGS
@given(arrays(np.float32, st.tuples(st.integers(2, 40), st.integers(2, 5)), elements=finite))
def test_inverse_transform_round_trip(x):
    norm = make(x.shape[1] - 1).fit(x)
    z = norm.transform(x)
    assert np.allclose(norm.inverse_transform(z), x, rtol=1e-5, atol=1e-3)
    assert np.array_equal(z[:, -1], x[:, -1])  # binary untouched
    cont = z[:, :-1]
    spread = x[:, :-1].std(axis=0) > 0.1
    assert np.allclose(cont.mean(axis=0), 0, atol=1e-3)
    assert np.allclose(cont.std(axis=0)[spread], 1, atol=1e-3)


@SETTINGS
@given(arrays(np.float32, st.tuples(st.integers(2, 30), st.just(3)), elements=finite), st.data())
def test_each_column_is_normalised_on_its_own(x, data):
    other = x.copy()
    other[:, 1:] = data.draw(arrays(np.float32, (len(x), 2), elements=finite))
    a = make(3, 0).fit(x)
    b = make(3, 0).fit(other)
    assert np.allclose(a.transform(x)[:, 0], b.transform(other)[:, 0])
    alone = Normaliser(["c0"], {"c0": "continuous"}).fit(x[:, :1])
    assert np.allclose(alone.transform(x[:, :1])[:, 0], a.transform(x)[:, 0])


@SETTINGS
@given(arrays(np.float32, st.tuples(st.integers(3, 30), st.just(3)), elements=finite), st.data())
def test_missing_values_become_zero_and_do_not_count(x, data):
    holes = data.draw(arrays(np.bool_, x.shape))
    holes[0] = False  # every column keeps one value
    with_nan = np.where(holes, np.nan, x)
    norm = make(2, 1).fit(with_nan)
    z = norm.transform(with_nan)
    assert np.isfinite(z).all() and np.all(z[holes] == 0)
    for k in range(2):
        kept = x[~holes[:, k], k].astype(np.float64)
        assert norm.mean[k] == pytest.approx(kept.mean(), rel=1e-6, abs=1e-6)
        assert norm.count[k] == len(kept)


@SETTINGS
@given(
    st.lists(
        arrays(np.float32, st.tuples(st.integers(1, 20), st.just(2)), elements=finite),
        min_size=1,
        max_size=5,
    )
)
def test_streaming_fit_equals_one_fit(chunks):
    a = make(2, 0).fit(chunks)
    b = make(2, 0).fit(np.concatenate(chunks))
    assert np.allclose(a.mean, b.mean, rtol=1e-9, atol=1e-6)
    assert np.allclose(a.std, b.std, rtol=1e-6, atol=1e-4)


def test_embeddings_are_l2_normalised_and_json_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 2 + 1 + 4)).astype(np.float32)
    x[3, 3:] = np.nan  # missing face/embedding row
    norm = make(2, 1, width=4).fit(x)
    z = norm.transform(x)
    rows = np.linalg.norm(z[:, 3:], axis=1)
    assert np.allclose(np.delete(rows, 3), 1, atol=1e-6) and rows[3] == 0
    path = norm.save(tmp_path / "audio.json")
    back = Normaliser.load(path)
    assert np.array_equal(back.transform(x), z)
    assert json.loads(path.read_text())["format"] == "xmlai-normaliser"
    with pytest.raises(SchemaError, match="expected"):
        norm.transform(x[:, :3])


def test_load_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"mean": [1]}')
    with pytest.raises(SchemaError, match="not a featalign normaliser"):
        Normaliser.load(path)


def test_track_normaliser_ignores_inactive_parameters():
    n_tracks = 2
    tracks = np.tile(np.array([0, 0, 100, 0, 0, 0, 0, 0, 0], np.float32), (6, n_tracks))
    tracks[:3, 0:3] = [1, 1, 150]  # track 1 zoomed to 150% while active
    norm = Normaliser.for_tracks(n_tracks).fit(mask_inactive_tracks(tracks))
    cols = track_columns(n_tracks)
    assert norm.mean[cols.index("t01_scale")] == pytest.approx(150)
    assert track_kinds(n_tracks)["t02_asset"] == "discrete"
    z = norm.transform(tracks)
    assert np.allclose(norm.inverse_transform(z), tracks, atol=1e-4)
