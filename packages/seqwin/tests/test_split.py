"""split_by_group: disjoint by edit and by source video, deterministic, order-independent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqwin import SplitError, split_by_group

# Edits as (edit_id, source video); few names so that sharing is common.
edits_strategy = st.lists(
    st.tuples(st.sampled_from([f"e{i}" for i in range(12)]), st.sampled_from(["", *"abcdefg"])),
    min_size=1,
    max_size=25,
)
fractions = st.floats(0.0, 0.95)


@settings(max_examples=100, deadline=None)
@given(edits_strategy, fractions, st.integers(0, 2**31))
def test_no_edit_or_video_on_both_sides(edits, fraction, seed):
    ids = [e for e, _ in edits]
    videos = [v for _, v in edits]
    split = split_by_group(ids, fraction, seed, groups=videos)
    train, val = split.train.tolist(), split.val.tolist()
    assert sorted(train + val) == list(range(len(ids)))  # a partition of the edits
    assert not {ids[i] for i in train} & {ids[i] for i in val}
    assert not ({videos[i] for i in train} & {videos[i] for i in val}) - {""}
    if fraction > 0 and split.n_groups >= 2:
        assert train and val
    if fraction == 0:
        assert not val
    assert train  # something always trains


@settings(max_examples=60, deadline=None)
@given(edits_strategy, fractions, st.integers(0, 2**31), st.randoms())
def test_split_is_deterministic_and_ignores_input_order(edits, fraction, seed, rnd):
    ids = [e for e, _ in edits]
    videos = [v for _, v in edits]
    split = split_by_group(ids, fraction, seed, groups=videos)
    again = split_by_group(ids, fraction, seed, groups=videos)
    assert split.val.tolist() == again.val.tolist()
    order = list(range(len(ids)))
    rnd.shuffle(order)
    shuffled = split_by_group(
        [ids[i] for i in order], fraction, seed, groups=[videos[i] for i in order]
    )
    assert sorted(ids[order[i]] for i in shuffled.val) == sorted(ids[i] for i in split.val)


def test_val_share_follows_the_fraction_and_the_weights():
    ids = [f"edit{i}" for i in range(200)]
    split = split_by_group(ids, 0.25, seed=3)
    assert abs(split.val.size - 50) <= 1
    # Weighted by frames: the share of frames follows the fraction ...
    weights = np.random.default_rng(0).integers(1, 50, size=200)
    share = weights[split_by_group(ids, 0.25, seed=3, weights=weights).val].sum() / weights.sum()
    assert abs(share - 0.25) < 0.02
    # ... and one huge edit, which would overshoot alone, stays in training.
    weights = np.array([1000] + [100] * 9)
    split = split_by_group(ids[:10], 0.25, seed=3, weights=weights)
    assert 0 not in split.val
    assert abs(weights[split.val].sum() / weights.sum() - 0.25) < 0.03


def test_seeds_give_different_splits():
    ids = [f"edit{i}" for i in range(50)]
    vals = {tuple(split_by_group(ids, 0.2, seed=s).val.tolist()) for s in range(5)}
    assert len(vals) > 1


def test_edits_of_one_video_stay_together():
    ids = ["a1", "a2", "b1", "c1", "a3"]
    videos = ["A.mp4", "A.mp4", "B.mp4", "C.mp4", "A.mp4"]
    for seed in range(20):
        split = split_by_group(ids, 0.5, seed, groups=videos)
        side_of_a = {0 in split.val, 1 in split.val, 4 in split.val}
        assert len(side_of_a) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ids": [], "val_fraction": 0.2}, "no ids"),
        ({"ids": ["a", "b"], "val_fraction": 1.0}, r"val_fraction: must be in \[0, 1\)"),
        ({"ids": ["a", "b"], "val_fraction": -0.1}, "must be in"),
        ({"ids": ["a", "b"], "val_fraction": "0.2"}, "must be a number"),
        ({"ids": ["a", "b"], "val_fraction": 0.5, "groups": ["x"]}, "1 groups for 2 ids"),
        ({"ids": ["a", "b"], "val_fraction": 0.5, "weights": [1, np.nan]}, "weights"),
    ],
)
def test_bad_split_arguments(kwargs, message):
    with pytest.raises(SplitError, match=message):
        split_by_group(**kwargs)
