"""MultiTrackLoss against hand-computed values, and its masking (SPEC defect 3)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mttransformer import (
    BatchLoss,
    ConfigError,
    InputShapeError,
    LossConfig,
    MultiTrackLoss,
    MultiTrackTransformer,
)

LN3 = math.log(3.0)


def _example():
    """B=1, L=2 (frame 1 is padding), P=2 tracks; track 0 on, track 1 off at frame 0."""
    active = torch.tensor([[[[0.0, LN3], [LN3, 0.0]], [[50.0, -50.0], [9.0, 9.0]]]])
    asset = torch.zeros(1, 2, 2, 10)
    asset[0, 0, 0, 3] = math.log(10.0)  # p(target 3) = 10 / 19
    asset[0, 1] = 99.0  # padding: whatever is here must not count
    regression = torch.zeros(1, 2, 2, 7)
    regression[0, 0, 0, 0] = 0.5  # error 0.5 on scale for the active track
    regression[0, 0, 1] = 100.0  # inactive track: ignored
    regression[0, 1] = -100.0  # padding: ignored
    outputs = {"active": active, "asset": asset, "regression": regression}
    targets = {
        "active": torch.tensor([[[1, 0], [1, 1]]]),
        "asset": torch.tensor([[[3, 0], [5, 5]]]),
        "regression": torch.zeros(1, 2, 2, 7),
    }
    return outputs, targets, torch.tensor([[1.0, 0.0]])


def test_components_match_a_hand_computed_example():
    outputs, targets, frame_mask = _example()
    total, parts = MultiTrackLoss()(outputs, targets, frame_mask)
    # active: two real track-frames, p(true) = 3/4 for both
    assert parts["active"].item() == pytest.approx(math.log(4 / 3))
    # asset: one truly active track-frame
    assert parts["asset"].item() == pytest.approx(math.log(19 / 10))
    # smooth L1, beta 0.1: |0.5| - 0.05 on one of 7 parameters of one active track-frame
    assert parts["regression"].item() == pytest.approx(0.45 / 7)
    assert total.item() == pytest.approx(math.log(4 / 3) + math.log(1.9) + 0.45 / 7)


def test_mse_class_weights_parameter_and_component_weights():
    outputs, targets, frame_mask = _example()
    config = LossConfig(
        regression_loss="mse",
        active_class_weights=(0.2, 0.8),
        parameter_weights=(3.0, 1, 1, 1, 1, 1, 1),
        active_weight=2.0,
        asset_weight=0.5,
        regression_weight=10.0,
    )
    total, parts = MultiTrackLoss(config)(outputs, targets, frame_mask)
    active = (0.8 * math.log(4 / 3) + 0.2 * math.log(4 / 3)) / 2  # divided by count, not weights
    regression = 3.0 * 0.25 / 7
    assert parts["active"].item() == pytest.approx(active)
    assert parts["regression"].item() == pytest.approx(regression)
    assert total.item() == pytest.approx(2 * active + 0.5 * math.log(1.9) + 10 * regression)


def test_focal_loss_down_weights_easy_elements():
    outputs, targets, frame_mask = _example()
    _, parts = MultiTrackLoss(LossConfig(active_loss="focal", focal_gamma=2.0))(
        outputs, targets, frame_mask
    )
    assert parts["active"].item() == pytest.approx((1 / 4) ** 2 * math.log(4 / 3))
    _, plain = MultiTrackLoss(LossConfig(active_loss="focal", focal_gamma=0.0))(
        outputs, targets, frame_mask
    )
    assert plain["active"].item() == pytest.approx(math.log(4 / 3))


def test_terms_are_normalised_over_the_batch_not_per_frame():
    """Frame 0 has two active tracks (squared errors 1 and 1), frame 1 one (error 4)."""
    outputs = {
        "active": torch.zeros(1, 2, 2, 2),
        "asset": torch.zeros(1, 2, 2, 10),
        "regression": torch.zeros(1, 2, 2, 7),
    }
    outputs["regression"][0, 0, :, 0] = 1.0
    outputs["regression"][0, 1, 0, 0] = 2.0
    targets = {
        "active": torch.tensor([[[1, 1], [1, 0]]]),
        "asset": torch.zeros(1, 2, 2).long(),
        "regression": torch.zeros(1, 2, 2, 7),
    }
    _, parts = MultiTrackLoss(LossConfig(regression_loss="mse"))(outputs, targets, torch.ones(1, 2))
    assert parts["regression"].item() == pytest.approx((1 + 1 + 4) / (3 * 7))  # not 7.5 / 21


def test_asset_and_regression_ignore_tracks_that_are_truly_off():
    outputs, targets, frame_mask = _example()
    _, before = MultiTrackLoss()(outputs, targets, frame_mask)
    outputs["asset"][0, 0, 1] = torch.randn(10) * 50
    outputs["regression"][0, 0, 1] = torch.randn(7) * 50
    targets["asset"][0, 0, 1] = 7
    targets["regression"][0, 0, 1] = 3.0
    _, after = MultiTrackLoss()(outputs, targets, frame_mask)
    assert after == before


@pytest.mark.parametrize("active_loss", ["ce", "focal"])
def test_an_all_padding_batch_gives_zero_and_finite_gradients(active_loss):
    outputs, targets, _ = _example()
    outputs = {k: v.clone().requires_grad_(True) for k, v in outputs.items()}
    with torch.no_grad():
        outputs["regression"][0, 1, 0, 0] = float("inf")
    total, parts = MultiTrackLoss(LossConfig(active_loss=active_loss))(
        outputs, targets, torch.zeros(1, 2)
    )
    assert total.item() == 0.0 and all(v.item() == 0.0 for v in parts.values())
    total.backward()
    assert all(torch.isfinite(v.grad).all() and (v.grad == 0).all() for v in outputs.values())


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n_real=st.integers(0, 5), scale=st.floats(-1e4, 1e4))
def test_padded_frames_never_reach_the_loss(seed, n_real, scale):
    g = torch.Generator().manual_seed(seed)
    B, L, P = 2, 5, 3
    outputs = {
        "active": torch.randn(B, L, P, 2, generator=g),
        "asset": torch.randn(B, L, P, 10, generator=g),
        "regression": torch.randn(B, L, P, 7, generator=g),
    }
    targets = {
        "active": torch.randint(0, 2, (B, L, P), generator=g),
        "asset": torch.randint(0, 10, (B, L, P), generator=g),
        "regression": torch.randn(B, L, P, 7, generator=g),
    }
    frame_mask = torch.zeros(B, L, dtype=torch.bool)
    frame_mask[0, :n_real] = True
    frame_mask[1, : max(n_real - 2, 0)] = True
    loss = MultiTrackLoss(LossConfig(active_loss="focal", active_class_weights=(0.3, 0.7)))
    total, parts = loss(outputs, targets, frame_mask)
    pad = ~frame_mask
    for key in outputs:
        outputs[key][pad] = scale
    targets["active"][pad] = 1 - targets["active"][pad]
    targets["asset"][pad] = (targets["asset"][pad] + 3) % 10
    targets["regression"][pad] = -scale
    total2, parts2 = loss(outputs, targets, frame_mask)
    assert torch.equal(total, total2) and parts == parts2
    assert torch.isfinite(total)


def test_padded_inputs_and_targets_never_reach_the_batch_loss(tiny_config, make_batch):
    config = tiny_config(given_tracks=(1,))
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, B=3, L=8, n_real=[8, 5, 2])
    total, _ = BatchLoss(config)(model, batch)
    pad = ~batch["frame_mask"].bool()
    for key in ("audio", "visual", "tracks", "modality_mask"):
        batch[key][pad] = torch.rand_like(batch[key][pad]).round() * 3  # valid asset ids 0..3
    total2, _ = BatchLoss(config)(model, batch)
    assert torch.equal(total, total2)


def test_shape_mismatches_name_both_shapes():
    outputs, targets, frame_mask = _example()
    targets["regression"] = torch.zeros(1, 2, 3, 7)
    with pytest.raises(InputShapeError, match=r"\(1, 2, 3, 7\).*\(1, 2, 2, 7\)"):
        MultiTrackLoss()(outputs, targets, frame_mask)
    outputs, targets, _ = _example()
    with pytest.raises(InputShapeError, match=r"frame_mask has shape \(2,\).*\(1, 2\)"):
        MultiTrackLoss()(outputs, targets, torch.ones(2))


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"active_loss": "hinge"}, "active_loss"),
        ({"regression_loss": "l1"}, "regression_loss"),
        ({"active_class_weights": (1.0,)}, "two values"),
        ({"parameter_weights": (1.0,)}, "needs 7"),
    ],
)
def test_invalid_loss_configs_are_refused(overrides, match):
    with pytest.raises(ConfigError, match=match):
        LossConfig(**overrides)


def test_loss_settles_on_a_learnable_target(tiny_config, make_batch):
    """A few optimiser steps on one batch must reduce every component (the loss is learnable)."""
    config = tiny_config()
    torch.manual_seed(0)
    model = MultiTrackTransformer(config)
    batch = make_batch(config, B=2, L=6)
    objective = BatchLoss(config)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    _, first = objective(model, batch)
    for _ in range(50):
        optimiser.zero_grad()
        total, parts = objective(model, batch)
        total.backward()
        optimiser.step()
    assert all(parts[k] < first[k] * 0.8 for k in first), (first, parts)
