"""The build's split: train / validation / test by source video (SPEC), so that early stopping
never sees the edits the report is on, and no recording sits on two sides."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xmlai.build import three_way_split


@settings(max_examples=100, deadline=None)
@given(
    videos=st.lists(st.sampled_from("abcdefghijklmnop"), min_size=3, max_size=40),
    val=st.floats(0.05, 0.4),
    test=st.floats(0.05, 0.4),
    seed=st.integers(0, 1000),
)
def test_every_edit_lands_on_one_side_and_every_recording_too(videos, val, test, seed):
    ids = [f"edit{i}" for i in range(len(videos))]
    split = three_way_split(ids, videos, val, test, seed)
    parts = [split[k] for k in ("train", "val", "test")]
    assert sorted(e for part in parts for e in part) == sorted(ids)  # each edit exactly once
    side = {}
    for name, part in zip(("train", "val", "test"), parts, strict=True):
        for edit in part:
            video = videos[ids.index(edit)]
            assert side.setdefault(video, name) == name, f"{video} on two sides"
    assert split["train"]
    if len(set(videos)) >= 3:  # enough recordings for three sides
        assert split["test"] and split["val"]
    assert three_way_split(ids, videos, val, test, seed) == split  # seeded, reproducible


def test_no_test_fraction_leaves_the_report_to_validation():
    ids, videos = [f"e{i}" for i in range(10)], [f"v{i}" for i in range(10)]
    split = three_way_split(ids, videos, 0.2, 0.0, 0)
    assert split["test"] == [] and len(split["val"]) == 2 and len(split["train"]) == 8


def test_an_edit_id_given_twice_is_refused_rather_than_split_twice():
    import pytest

    from xmlai.runlog import PipelineError

    with pytest.raises(PipelineError, match=r"\['a'\] given more than once"):
        three_way_split(["a", "b", "a", "c"], ["v1", "v2", "v1", "v3"], 0.2, 0.2, 0)
