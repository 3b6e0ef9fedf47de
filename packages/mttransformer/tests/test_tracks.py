"""Track table <-> targets and predictions, and the logical consistency of decoded tracks."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mttransformer import InputShapeError, decode_outputs, select_given_tracks, split_tracks

FIXTURE_OK = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_split_tracks_on_a_hand_made_row(tiny_config):
    config = tiny_config(n_tracks=2)
    row = np.array(
        [[[1, 3, 150, 0.25, -0.5, 10, 0, 20, 5, 0, 0, 100, 0, 0, 0, 0, 0, 0]]], dtype=np.float64
    )  # (1, 1, 18): track 0 on, track 1 neutral
    targets = split_tracks(row, config)
    assert targets["active"].tolist() == [[[1, 0]]] and targets["active"].dtype == torch.long
    assert targets["asset"].tolist() == [[[3, 0]]] and targets["asset"].dtype == torch.long
    expected = torch.tensor([[[[0.5, 0.25, -0.5, 0.1, 0.0, 0.2, 0.05], [0.0] * 7]]])
    torch.testing.assert_close(targets["regression"], expected)


def test_split_tracks_keeps_only_the_predicted_tracks(tiny_config, random_tracks):
    config = tiny_config(n_tracks=4, given_tracks=(1, 2))
    tracks = random_tracks(2, 3, 4, torch.Generator().manual_seed(1))
    targets = split_tracks(tracks, config)
    assert targets["active"].shape == (2, 3, 2) and targets["regression"].shape == (2, 3, 2, 7)
    assert torch.equal(targets["active"][..., 1], (tracks[..., 27] > 0.5).long())  # track 3


def test_split_tracks_errors_name_the_shapes_and_values(tiny_config):
    config = tiny_config(n_tracks=4)
    with pytest.raises(InputShapeError, match=r"shape \(2, 5, 35\).*\(\.\.\., 36\)"):
        split_tracks(torch.zeros(2, 5, 35), config)
    bad = torch.zeros(1, 1, 36)
    bad[0, 0, 9 + 1] = 12
    with pytest.raises(InputShapeError, match=r"asset ids \[12\] outside 0..9"):
        split_tracks(bad, config)


def _perfect_outputs(targets):
    """Logits that put all mass on the targets, and the targets as regression."""
    return {
        "active": torch.nn.functional.one_hot(targets["active"], 2).float() * 10,
        "asset": torch.nn.functional.one_hot(targets["asset"], 10).float() * 10,
        "regression": targets["regression"].clone(),
    }


@FIXTURE_OK
@given(seed=st.integers(0, 10_000), n_tracks=st.integers(1, 6), data=st.data())
def test_split_then_decode_gives_the_tracks_back(tiny_config, random_tracks, seed, n_tracks, data):
    given_tracks = tuple(
        data.draw(st.lists(st.integers(0, n_tracks - 1), max_size=n_tracks - 1, unique=True))
    )
    config = tiny_config(n_tracks=n_tracks, given_tracks=given_tracks)
    tracks = random_tracks(2, 5, n_tracks, torch.Generator().manual_seed(seed))
    given = None
    if given_tracks:
        given = select_given_tracks(tracks, config)
    decoded = decode_outputs(
        _perfect_outputs(split_tracks(tracks, config)), config, given_tracks=given
    )
    torch.testing.assert_close(decoded, tracks, rtol=0, atol=1e-4)


@FIXTURE_OK
@given(seed=st.integers(0, 10_000), n_tracks=st.integers(1, 6))
def test_decoded_tracks_are_logically_consistent(tiny_config, neutral, seed, n_tracks):
    """A track decoded inactive is exactly the neutral block; one decoded active has a real
    asset role (1..9), never 'none'; padded frames decode to neutral."""
    config = tiny_config(n_tracks=n_tracks)
    g = torch.Generator().manual_seed(seed)
    B, L = 2, 6
    outputs = {
        "active": torch.randn(B, L, n_tracks, 2, generator=g),
        "asset": torch.randn(B, L, n_tracks, 10, generator=g) * 3,
        "regression": torch.randn(B, L, n_tracks, 7, generator=g),
    }
    outputs["asset"][..., 0] += 5  # "none" is often the argmax over all ten
    frame_mask = torch.ones(B, L)
    frame_mask[1, 4:] = 0
    blocks = decode_outputs(outputs, config, frame_mask=frame_mask).view(B, L, n_tracks, 9)
    predicted_on = outputs["active"].argmax(-1) == 1
    active = blocks[..., 0]
    assert set(active.unique().tolist()) <= {0.0, 1.0}
    on = active == 1
    assert torch.equal(on, predicted_on & frame_mask.bool()[..., None])
    assert (blocks[~on] == neutral).all()
    assert ((blocks[on][:, 1] >= 1) & (blocks[on][:, 1] <= 9)).all()
    assert (blocks[on][:, 1] == blocks[on][:, 1].round()).all()


def test_decode_refuses_outputs_of_another_task(tiny_config):
    config = tiny_config(n_tracks=4, given_tracks=(0,))
    outputs = {
        "active": torch.zeros(1, 2, 4, 2),
        "asset": torch.zeros(1, 2, 4, 10),
        "regression": torch.zeros(1, 2, 4, 7),
    }
    with pytest.raises(InputShapeError, match=r"\(1, 2, 4, 2\).*predicts 3 tracks"):
        decode_outputs(outputs, config)


@pytest.mark.parametrize("n_assets", [10, 4])
def test_output_probabilities_are_what_decode_outputs_decides_on(tiny_config, n_assets):
    """Probabilities and raw-unit parameters without decisions (what xmlai smooths), from the
    same code as decode_outputs; the asset axis is the config's n_assets, not a fixed 10."""
    from mttransformer import output_probabilities

    config = tiny_config(n_tracks=3, n_assets=n_assets)
    g = torch.Generator().manual_seed(3)
    outputs = {
        "active": torch.randn(2, 5, 3, 2, generator=g),
        "asset": torch.randn(2, 5, 3, n_assets, generator=g),
        "regression": torch.randn(2, 5, 3, 7, generator=g),
    }
    probs = output_probabilities(outputs, config)
    assert probs["active"].shape == (2, 5, 3) and probs["asset"].shape == (2, 5, 3, n_assets)
    torch.testing.assert_close(probs["asset"].sum(-1), torch.ones(2, 5, 3))
    blocks = decode_outputs(outputs, config).view(2, 5, 3, 9)
    on = probs["active"] > 0.5
    assert torch.equal(blocks[..., 0] == 1, on)
    assert torch.equal(blocks[..., 1][on], probs["asset"][..., 1:].argmax(-1)[on].float() + 1)
    torch.testing.assert_close(blocks[..., 2:][on], probs["regression"][on])
    scale = torch.tensor(config.regression_scale)
    torch.testing.assert_close(
        probs["regression"], outputs["regression"] * scale + torch.tensor(config.regression_offset)
    )
    wrong = {**outputs, "asset": torch.zeros(2, 5, 3, n_assets + 1)}
    with pytest.raises(InputShapeError, match=f"n_assets={n_assets}"):
        output_probabilities(wrong, config)
