"""Windows: the segmentation invariant, padding, masks, views, batches, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqwin import FrameStore, WindowConfigError, WindowDataset, make_windows

# (length, overlap) with 0 <= overlap < length.
window_params = st.integers(1, 120).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1)))
frame_counts = st.lists(st.integers(0, 700), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(frame_counts, window_params)
def test_every_real_frame_is_in_a_window_at_its_absolute_position(n_frames, params):
    length, overlap = params
    index = make_windows(n_frames, length, overlap)
    for e, n in enumerate(n_frames):
        mine = index.edit_index == e
        covered = np.zeros(n, dtype=int)
        for s, r in zip(index.start_frame[mine], index.n_real[mine], strict=True):
            assert 1 <= r <= length  # never a window without real frames, never longer than L
            assert s + r <= n
            assert r == min(length, n - s)  # a window is only padded past the end of its edit
            covered[s : s + r] += 1
        assert (covered >= 1).all()
        starts = index.start_frame[mine]
        assert (np.diff(starts) == length - overlap).all()  # consecutive windows share `overlap`
        if n == 0:
            assert not mine.any()
        elif n <= length:
            assert starts.tolist() == [0]  # a short video is one padded window


@settings(max_examples=60, deadline=None)
@given(window_params, st.data())
def test_items_hold_store_rows_at_absolute_positions_and_zero_padding(
    varied_store, value_at, params, data
):
    """Padding keeps every item L long, the masks mark exactly the real rows, values are the
    store's rows at start_frame + row (the window clock is the edit's clock, not reset)."""
    length, overlap = params
    store = FrameStore(varied_store)
    ds = WindowDataset(store, None, length, overlap)
    for i in data.draw(st.lists(st.integers(0, len(ds) - 1), min_size=1, max_size=6)):
        item = ds[i]
        e, s = int(item["edit_index"]), int(item["start_frame"])
        assert item["start_frame"].dtype == np.int64 and item["edit_index"].dtype == np.int64
        n = int(store.n_frames[e])
        real = min(length, n - s)
        assert real >= 1
        expected_mask = (s + np.arange(length) < n).astype(np.float32)
        np.testing.assert_array_equal(item["frame_mask"], expected_mask)
        # The synthetic store encodes (edit, frame) in every value: row j is absolute frame s + j.
        np.testing.assert_array_equal(
            item["tracks"][:real, 0], value_at(e, s + np.arange(real), 0, 0)
        )
        arrays = store.arrays(e)
        for k in ds.keys:
            assert item[k].shape == (length, store.widths[k]) and item[k].dtype == np.float32
            np.testing.assert_array_equal(item[k][:real], arrays[k][s : s + real])
            assert not item[k][real:].any()  # padded rows are zeros everywhere
        assert not item["modality_mask"][expected_mask == 0].any()


@settings(max_examples=60, deadline=None)
@given(window_params, st.data())
def test_gather_matches_items_and_keeps_batch_size(varied_store, params, data):
    length, overlap = params
    ds = WindowDataset(FrameStore(varied_store), None, length, overlap)
    idx = data.draw(st.lists(st.integers(-len(ds), len(ds) - 1), min_size=0, max_size=12))
    batch = ds.gather(idx)
    b = len(idx)
    assert set(batch) == {*ds.keys, "frame_mask", "start_frame", "edit_index"}
    for v in batch.values():
        assert v.shape[0] == b
    for k in ds.keys:
        assert batch[k].shape == (b, length, ds.widths[k])
    assert batch["frame_mask"].shape == (b, length)
    for row, i in enumerate(idx):
        item = ds[i]
        for k, v in item.items():
            np.testing.assert_array_equal(batch[k][row], v)


def test_gather_reusing_a_buffer_clears_old_rows(varied_store):
    ds = WindowDataset(FrameStore(varied_store), None, 100, 20)
    full = [i for i in range(len(ds)) if ds.index.n_real[i] == 100]
    short = [i for i in range(len(ds)) if ds.index.n_real[i] < 100]
    buffer = ds.gather(full[:3])
    again = ds.gather(short[:3], out=buffer)
    assert again["tracks"] is buffer["tracks"]  # the memory was reused
    fresh = ds.gather(short[:3])
    for k in fresh:
        np.testing.assert_array_equal(again[k], fresh[k])


def test_views_are_views_not_copies(varied_store):
    store = FrameStore(varied_store)
    ds = WindowDataset(store, None, 100, 20)
    for i in (0, len(ds) - 1):
        view = ds.view(i)
        e = int(ds.index.edit_index[i])
        for k, v in view.items():
            assert np.shares_memory(v, store.arrays(e)[k])
            assert v.shape[0] == ds.index.n_real[i]
            assert not v.flags.writeable


def test_short_and_empty_edits(make_store):
    store = FrameStore(make_store([0, 30, 100, 101]))
    ds = WindowDataset(store, None, 100, 20)
    assert ds.index.edit_index.tolist() == [1, 2, 3, 3]  # the empty edit has no window
    assert ds.index.start_frame.tolist() == [0, 0, 0, 80]
    assert ds.index.n_real.tolist() == [30, 100, 100, 21]
    assert ds[0]["frame_mask"].sum() == 30


def test_subset_of_edits_keeps_store_edit_index(small_store):
    store = FrameStore(small_store)
    ds = WindowDataset(store, [4, 2], 100, 20)
    assert set(ds.index.edit_index.tolist()) == {2, 4}
    assert ds.edit_table()["edits_index"].tolist() == [2, 4]


def test_defaults_are_100_and_20(small_store):
    ds = WindowDataset(FrameStore(small_store))
    assert (ds.length, ds.overlap) == (100, 20)
    assert ds.index.start_frame[:3].tolist() == [0, 80, 160]


@pytest.mark.parametrize(
    ("length", "overlap", "message"),
    [
        (0, 0, "length: must be >= 1"),
        (-5, 0, "length: must be >= 1"),
        (10, 10, "overlap 10 must be smaller than the length 10"),
        (10, 11, "must be smaller than the length"),
        (10, -1, "overlap: must be >= 0"),
        (10.5, 2, "length: must be an integer"),
        (True, 0, "length: must be an integer"),
        (10, "2", "overlap: must be an integer"),
    ],
)
def test_bad_window_parameters_raise_a_specific_error(small_store, length, overlap, message):
    with pytest.raises(WindowConfigError, match=message):
        make_windows([10], length, overlap)
    with pytest.raises(WindowConfigError, match=message):
        WindowDataset(FrameStore(small_store), None, length, overlap)


def test_bad_edit_selection(small_store):
    with pytest.raises(WindowConfigError, match="out of range"):
        WindowDataset(FrameStore(small_store), [7])


def test_index_errors(small_store):
    ds = WindowDataset(FrameStore(small_store))
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(IndexError):
        ds.gather([0, len(ds)])
    with pytest.raises(TypeError):
        ds["0"]
    np.testing.assert_array_equal(ds[-1]["tracks"], ds[len(ds) - 1]["tracks"])


def test_length_one_windows_cover_every_frame_once(make_store):
    store = FrameStore(make_store([5]))
    ds = WindowDataset(store, None, 1, 0)
    assert len(ds) == 5
    assert ds.index.start_frame.tolist() == [0, 1, 2, 3, 4]
    assert ds.gather(range(5))["frame_mask"].tolist() == [[1.0]] * 5


def test_copy_of_a_dataset_reopens_maps_instead_of_copying_data(small_store):
    """What a DataLoader worker started with 'spawn' receives: the manifest, not array data."""
    import copy

    ds = WindowDataset(FrameStore(small_store))
    ds.gather(range(len(ds)))  # open every edit
    clone = copy.deepcopy(ds)
    assert len(clone.store._open) == 0
    for k, v in clone[3].items():
        np.testing.assert_array_equal(v, ds[3][k])


def test_torch_dataloader_uses_the_dataset_unchanged(small_store):
    torch = pytest.importorskip("torch")
    ds = WindowDataset(FrameStore(small_store))
    loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False)
    batch = next(iter(loader))
    assert batch["tracks"].shape == (4, 100, 18) and batch["tracks"].dtype == torch.float32
    assert batch["start_frame"].dtype == torch.int64 and batch["start_frame"].tolist() == [
        0,
        80,
        160,
        240,
    ]
    np.testing.assert_array_equal(batch["visual"].numpy(), ds.gather(range(4))["visual"])
