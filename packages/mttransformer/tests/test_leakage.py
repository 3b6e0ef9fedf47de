"""No target leakage (SPEC, "The learning task", defect 1): the tracks a model predicts are
never an input to it, and given and predicted tracks are disjoint sets."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mttransformer import (
    BatchLoss,
    ConfigError,
    InputShapeError,
    MultiTrackTransformer,
    model_inputs,
    select_given_tracks,
)

FIXTURE_OK = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
KEYS = ("active", "asset", "regression")


def _outputs(model, batch):
    return model(**model_inputs(batch, model.config))


def test_default_task_never_reads_the_target_tracks(tiny_config, make_batch):
    config = tiny_config()
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, seed=3)
    before = _outputs(model, batch)
    batch["tracks"] = torch.randn_like(batch["tracks"]) * 100  # every target changed
    after = _outputs(model, batch)
    for key in KEYS:
        assert torch.equal(before[key], after[key])
    assert "given_tracks" not in model_inputs(batch, config)


def test_default_task_loss_sees_the_targets_only_as_labels(tiny_config, make_batch):
    """Through BatchLoss (the trainer's loss_fn) the forward pass is target-independent too."""
    config = tiny_config()
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, seed=4)
    seen = []
    model.register_forward_hook(lambda module, args, output: seen.append(output))
    BatchLoss(config)(model, batch)
    batch["tracks"] = torch.flip(batch["tracks"], dims=[1])
    BatchLoss(config)(model, batch)
    for key in KEYS:
        assert torch.equal(seen[0][key], seen[1][key])


@FIXTURE_OK
@given(data=st.data(), n_tracks=st.integers(2, 6))
def test_changing_a_predicted_track_cannot_change_any_prediction(
    tiny_config, make_batch, data, n_tracks
):
    given_tracks = tuple(
        data.draw(
            st.lists(st.integers(0, n_tracks - 1), min_size=1, max_size=n_tracks - 1, unique=True)
        )
    )
    config = tiny_config(n_tracks=n_tracks, given_tracks=given_tracks, n_layers=1)
    assert set(config.predicted_tracks).isdisjoint(given_tracks)
    assert set(config.predicted_tracks) | set(given_tracks) == set(range(n_tracks))
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, B=2, L=6, seed=data.draw(st.integers(0, 99)))
    before = _outputs(model, batch)

    target = data.draw(st.sampled_from(config.predicted_tracks))
    values = data.draw(st.lists(st.floats(-500, 500), min_size=9, max_size=9))
    changed = dict(batch, tracks=batch["tracks"].clone())
    changed["tracks"][..., target * 9 : (target + 1) * 9] = torch.tensor(values)
    after = _outputs(model, changed)
    for key in KEYS:
        assert torch.equal(before[key], after[key])


def test_changing_a_given_track_does_change_predictions(tiny_config, make_batch):
    """The control for the test above: the given tracks really are an input."""
    config = tiny_config(given_tracks=(0,))
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, seed=5)
    before = _outputs(model, batch)
    batch["tracks"][..., 0:9] = torch.tensor([1.0, 3.0, 150.0, 0.2, -0.1, 5.0, 0.0, 0.0, 10.0])
    after = _outputs(model, batch)
    assert not torch.allclose(before["regression"], after["regression"])


def test_the_given_input_holds_only_the_given_tracks(tiny_config, random_tracks):
    config = tiny_config(n_tracks=5, given_tracks=(3, 1))
    tracks = random_tracks(2, 4, 5, torch.Generator().manual_seed(0))
    given = select_given_tracks(tracks, config)
    assert given.shape == (2, 4, 18)
    assert torch.equal(given[..., :9], tracks[..., 27:36])  # config order: track 3 first
    assert torch.equal(given[..., 9:], tracks[..., 9:18])


def test_the_model_refuses_the_full_track_table_as_given_tracks(tiny_config, make_batch):
    config = tiny_config(given_tracks=(0,))
    model = MultiTrackTransformer(config)
    batch = make_batch(config)
    inputs = model_inputs(batch, config)
    inputs["given_tracks"] = batch["tracks"]  # all 4 tracks, targets included
    with pytest.raises(
        InputShapeError, match=r"given_tracks has shape \(3, 10, 36\).*\(3, 10, 9\)"
    ):
        model(**inputs)


@pytest.mark.parametrize(
    ("given_tracks", "predicted_tracks", "match"),
    [
        ((0, 1), (1, 2), r"tracks \[1\] are both given and predicted"),
        ((0, 1, 2, 3), None, "no track is left to predict"),
        ((4,), None, r"given_tracks \[4\] out of range 0..3"),
        ((1, 1), None, "repeats a track"),
    ],
)
def test_given_and_predicted_sets_must_be_disjoint(
    tiny_config, given_tracks, predicted_tracks, match
):
    with pytest.raises(ConfigError, match=match):
        tiny_config(given_tracks=given_tracks, predicted_tracks=predicted_tracks)


def test_a_subset_of_tracks_can_be_predicted(tiny_config, make_batch):
    config = tiny_config(given_tracks=(0,), predicted_tracks=(2,))
    model = MultiTrackTransformer(config).eval()
    out = _outputs(model, make_batch(config))
    assert out["active"].shape[2] == 1
    assert config.task == "edit_completion"
