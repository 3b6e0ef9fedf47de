"""stitch: exact round trip, tapered seams, padded tails ignored, bad input named."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqwin import StitchError, make_windows, stitch, taper_weights

window_params = st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1)))


def cut(per_frame: dict[int, np.ndarray], index, fill=0.0) -> np.ndarray:
    """Windows cut from per-frame arrays, padded rows set to `fill`."""
    any_arr = next(iter(per_frame.values()))
    out = np.full((len(index), index.length, *any_arr.shape[1:]), fill, dtype=any_arr.dtype)
    for w in range(len(index)):
        e, s, r = int(index.edit_index[w]), int(index.start_frame[w]), int(index.n_real[w])
        out[w, :r] = per_frame[e][s : s + r]
    return out


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(1, 300), min_size=1, max_size=5),
    window_params,
    st.sampled_from([(), (1,), (3,), (2, 2)]),
    st.sampled_from([np.float32, np.float16]),
    st.integers(0, 2**32 - 1),
)
def test_stitching_windows_cut_from_an_array_gives_it_back_exactly(
    n_frames, params, tail, dtype, seed
):
    length, overlap = params
    rng = np.random.default_rng(seed)
    truth = {
        e: (rng.standard_normal((n, *tail)) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
        for e, n in enumerate(n_frames)
    }
    index = make_windows(n_frames, length, overlap)
    # Padding holds garbage (NaN): it must not leak into the stitched frames.
    windows = cut(truth, index, fill=np.nan)
    out = stitch(windows, index, n_frames)
    assert sorted(out) == list(range(len(n_frames)))
    for e, arr in out.items():
        assert arr.dtype == dtype and arr.shape == truth[e].shape
        np.testing.assert_array_equal(arr, truth[e])  # exact, not approximately


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 200), min_size=2, max_size=5), window_params, st.data())
def test_stitching_a_subset_of_windows_and_edits(n_frames, params, data):
    length, overlap = params
    index = make_windows(n_frames, length, overlap)
    keep_edits = data.draw(st.sets(st.integers(0, len(n_frames) - 1), min_size=1))
    rows = np.flatnonzero(np.isin(index.edit_index, list(keep_edits)))
    rows = data.draw(st.permutations(rows.tolist()))  # any order of windows
    sub = index.select(rows)
    truth = {e: np.arange(n, dtype=np.float32) * (e + 1) for e, n in enumerate(n_frames)}
    out = stitch(cut(truth, sub), sub, {e: n_frames[e] for e in keep_edits})
    assert set(out) == keep_edits
    for e in keep_edits:
        np.testing.assert_array_equal(out[e], truth[e])


def test_taper_prefers_the_window_where_a_frame_is_central():
    # Two windows of 10 with overlap 4 over 16 frames: window 0 predicts 0, window 1 predicts 1.
    index = make_windows([16], 10, 4)
    assert index.start_frame.tolist() == [0, 6]
    preds = np.stack([np.zeros(10), np.ones(10)]).astype(np.float32)
    out = stitch(preds, index, 16)[0]
    seam = out[6:10]  # the 4 shared frames
    assert (out[:6] == 0).all() and (out[10:] == 1).all()
    assert (np.diff(seam) > 0).all()  # a monotone cross-fade ...
    assert seam[0] < 0.5 < seam[-1]  # ... led by the window in which the frame is more central
    np.testing.assert_allclose(seam, [1 / 5, 2 / 5, 3 / 5, 4 / 5])


@settings(max_examples=50, deadline=None)
@given(window_params)
def test_taper_weights_shape(params):
    length, overlap = params
    w = taper_weights(length, overlap)
    assert w.shape == (length,) and (w >= 1).all() and (w <= overlap + 1).all()
    np.testing.assert_array_equal(w, w[::-1])  # symmetric
    # Across an overlap the two windows' weights sum to a constant (a cross-fade).
    if 0 < overlap <= length // 2:
        stride = length - overlap
        assert len({w[stride + j] + w[j] for j in range(overlap)}) == 1


def test_integer_predictions_give_float64():
    index = make_windows([7], 4, 1)
    truth = {0: np.arange(7 * 2).reshape(7, 2)}
    out = stitch(cut(truth, index), index, [7])[0]
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, truth[0])


def test_bad_input_to_stitch():
    index = make_windows([50, 30], 20, 5)
    good = np.zeros((len(index), 20, 2), np.float32)
    with pytest.raises(StitchError, match=r"expected \(5, 20, \.\.\.\)"):
        stitch(good[:, :10], index, [50, 30])
    with pytest.raises(StitchError, match="no frame count for edit 1"):
        stitch(good, index, {0: 50})
    with pytest.raises(StitchError, match="one frame count given for 2 edits"):
        stitch(good, index, 50)
    with pytest.raises(StitchError, match="edit 0 has 40 frames"):
        stitch(good, index, [40, 30])
    sub = index.select([0, 2])  # edit 0's middle window is missing
    with pytest.raises(StitchError, match="in no window"):
        stitch(good[[0, 2]], sub, [50, 30])
    with pytest.raises(StitchError, match="numeric"):
        stitch(good.astype(str), index, [50, 30])
