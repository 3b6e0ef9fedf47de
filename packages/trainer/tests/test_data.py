import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.data import collate, empty_samples, epoch_batches, epoch_order, eval_batches, shard


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**31), epoch=st.integers(0, 50))
def test_epoch_order_is_a_pure_permutation(n, seed, epoch):
    order = epoch_order(n, seed, epoch)
    assert sorted(order) == list(range(n))
    torch.manual_seed(epoch)  # the global RNG has no say
    assert epoch_order(n, seed, epoch) == order


def test_epochs_and_seeds_differ():
    assert epoch_order(50, 0, 0) != epoch_order(50, 0, 1)
    assert epoch_order(50, 0, 0) != epoch_order(50, 1, 1)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 200),
    world=st.integers(1, 5),
    batch=st.integers(1, 17),
    epoch=st.integers(0, 9),
)
def test_rank_shards_cover_the_epoch_with_equal_lengths(n, world, batch, epoch):
    per_rank = [
        epoch_batches(n, batch, seed=3, epoch=epoch, rank=r, world_size=world) for r in range(world)
    ]
    flat = [[i for b in batches for i in b] for batches in per_rank]
    assert len({len(b) for b in per_rank}) == 1  # same step count on every rank (DDP)
    assert set().union(*map(set, flat)) == set(range(n))
    total = sum(len(f) for f in flat)
    assert n <= total < n + world  # padding only to make the shards even
    if world == 1:
        assert flat[0] == epoch_order(n, 3, epoch)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 100), world=st.integers(1, 4))
def test_eval_shards_count_every_item_once(n, world):
    items = sorted(i for r in range(world) for b in eval_batches(n, 7, r, world) for i in b)
    assert items == list(range(n))
    assert shard(range(n), 0, 1, pad=False) == list(range(n))


def test_drop_last():
    batches = epoch_batches(10, 4, seed=0, epoch=0, drop_last=True)
    assert [len(b) for b in batches] == [4, 4]


def test_collate_stacks_arrays_scalars_and_tensors():
    items = [
        {"x": np.ones(3, np.float32) * i, "i": np.int64(i), "t": torch.tensor([i]), "name": f"e{i}"}
        for i in range(4)
    ]
    batch = collate(items)
    assert batch["x"].shape == (4, 3) and batch["x"].dtype == torch.float32
    assert batch["i"].tolist() == [0, 1, 2, 3] and batch["i"].dtype == torch.int64
    assert batch["t"].shape == (4, 1)
    assert batch["name"] == ["e0", "e1", "e2", "e3"]


def test_empty_samples_finds_windows_without_real_frames():
    mask = torch.ones(3, 5)
    mask[1] = 0
    assert empty_samples({"frame_mask": mask}) == [1]
    assert empty_samples({"x": mask}) == []
    with pytest.raises(TypeError):
        collate([1, 2])
