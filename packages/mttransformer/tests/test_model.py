"""The model's contract: output structure, inputs of any configured width, fusion gates,
masks, positions on the absolute clock, dropout modes, gradients, and bad input."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mttransformer import (
    ConfigError,
    InputShapeError,
    MultiTrackConfig,
    MultiTrackTransformer,
    model_inputs,
)

FIXTURE_OK = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _run(model, batch):
    return model(**model_inputs(batch, model.config))


@pytest.mark.parametrize("fusion", ["gated", "concat", "add"])
@pytest.mark.parametrize("given_tracks", [(), (0, 2)])
def test_outputs_have_every_key_shape_and_dtype(tiny_config, make_batch, fusion, given_tracks):
    config = tiny_config(fusion=fusion, given_tracks=given_tracks, n_assets=10)
    model = MultiTrackTransformer(config).eval()
    out = _run(model, make_batch(config, B=3, L=7))
    P = config.n_tracks - len(given_tracks)
    expected = {"active": (3, 7, P, 2), "asset": (3, 7, P, 10), "regression": (3, 7, P, 7)}
    if fusion == "gated":
        expected["gates"] = (3, 7, 2 + (1 if given_tracks else 0), config.d_model)
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in out.values())


def test_default_config_matches_the_issue_and_has_3_to_5_million_parameters():
    config = MultiTrackConfig(modalities={"audio": 32, "visual": 64})
    assert (config.d_model, config.n_heads, config.n_layers, config.d_ff) == (256, 8, 6, 1024)
    assert (config.dropout, config.n_tracks, config.fusion) == (0.1, 20, "gated")
    assert 3_000_000 <= MultiTrackTransformer(config).count_parameters() <= 5_100_000


def test_count_parameters_counts_trainable_ones(tiny_config):
    model = MultiTrackTransformer(tiny_config())
    total = sum(p.numel() for p in model.parameters())
    assert model.count_parameters() == total
    model.track_embedding.requires_grad_(False)
    assert model.count_parameters() == total - model.track_embedding.numel()
    assert model.count_parameters(trainable_only=False) == total


@FIXTURE_OK
@given(
    widths=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    n_tracks=st.integers(1, 6),
    L=st.integers(1, 9),
)
def test_any_configured_input_widths_work(tiny_config, make_batch, widths, n_tracks, L):
    modalities = {f"m{i}": w for i, w in enumerate(widths)}
    config = tiny_config(modalities=modalities, n_tracks=n_tracks, n_layers=1)
    model = MultiTrackTransformer(config).eval()
    out = _run(model, make_batch(config, B=2, L=L, n_real=[L, max(L - 1, 1)]))
    assert out["active"].shape == (2, L, n_tracks, 2)
    assert out["gates"].shape == (2, L, len(widths), config.d_model)


def test_gate_values_lie_in_0_1_and_masked_modalities_get_zero(tiny_config, make_batch):
    config = tiny_config()
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, B=3, L=8)
    batch["modality_mask"][0, :, 1] = 0  # visual missing in window 0
    batch["modality_mask"][1, 2:5, 0] = 0  # audio missing on a few frames of window 1
    gates = _run(model, batch)["gates"]  # (B, L, S, d)
    assert gates.min() >= 0 and gates.max() <= 1
    real = batch["frame_mask"].bool()
    assert (gates[0, :, 1] == 0).all()
    assert (gates[1, 2:5, 0] == 0).all()
    assert (gates[~real] == 0).all()
    present = batch["modality_mask"].bool() & real[..., None]
    assert (gates[present] > 0).all()  # sigmoid never reaches 0 where the modality is there


@pytest.mark.parametrize("fusion", ["gated", "concat", "add"])
def test_a_masked_modality_contributes_nothing(tiny_config, make_batch, fusion):
    config = tiny_config(fusion=fusion)
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config)
    batch["modality_mask"][:, :, 0] = 0
    before = _run(model, batch)
    batch["audio"] = torch.randn_like(batch["audio"]) * 1e3
    batch["audio"][0, 0, 0] = float("nan")  # even NaN where a modality is masked stays out
    after = _run(model, batch)
    for key in ("active", "asset", "regression"):
        torch.testing.assert_close(after[key], before[key], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("conv_kernel", "context", "runs"), [(0, (), 0), (5, (), 0), (0, (2, 7), 0), (0, (), 4)]
)
def test_padded_frames_cannot_change_real_frames(
    tiny_config, make_batch, conv_kernel, context, runs
):
    config = tiny_config(conv_kernel=conv_kernel, context_frames=context, run_channels=runs)
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, B=2, L=9, n_real=[6, 9])
    before = _run(model, batch)
    pad = ~batch["frame_mask"].bool()
    batch["audio"][pad] = 7.0
    batch["visual"][pad] = -3.0
    batch["modality_mask"][pad] = 1.0
    after = _run(model, batch)
    real = ~pad
    for key in ("active", "asset", "regression"):
        torch.testing.assert_close(after[key][real], before[key][real], rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_a_batch_of_padding_only_is_finite(tiny_config, make_batch, mode):
    config = tiny_config(dropout=0.2, modality_dropout=0.5)
    model = MultiTrackTransformer(config).train(mode == "train")
    batch = make_batch(config, B=2, L=6, n_real=[0, 0])
    out = _run(model, batch)
    assert all(torch.isfinite(v).all() for v in out.values())


def test_train_mode_without_dropout_agrees_with_eval_mode_on_real_frames(tiny_config, make_batch):
    config = tiny_config(dropout=0.0, modality_dropout=0.0)
    model = MultiTrackTransformer(config)
    batch = make_batch(config, B=3, L=10)
    train_out = _run(model.train(), batch)
    eval_out = _run(model.eval(), batch)
    real = batch["frame_mask"].bool()
    for key in ("active", "asset", "regression"):
        torch.testing.assert_close(train_out[key][real], eval_out[key][real])


def test_dropout_makes_train_mode_stochastic_and_eval_deterministic(tiny_config, make_batch):
    config = tiny_config(dropout=0.3)
    model = MultiTrackTransformer(config)
    batch = make_batch(config)
    torch.manual_seed(0)
    a, b = _run(model.train(), batch), _run(model.train(), batch)
    assert not torch.equal(a["regression"], b["regression"])
    c, d = _run(model.eval(), batch), _run(model.eval(), batch)
    assert torch.equal(c["regression"], d["regression"])


def test_modality_dropout_hides_whole_modalities_in_training_only(tiny_config, make_batch):
    config = tiny_config(modality_dropout=0.6)
    model = MultiTrackTransformer(config)
    batch = make_batch(config, B=64, L=4, n_real=[4] * 64)
    torch.manual_seed(1)
    gates = _run(model.train(), batch)["gates"]  # (B, L, M, d)
    on = gates.amax(dim=(1, 3)) > 0  # (B, M) modality used anywhere in the window
    assert (~on).any(), "no modality was ever dropped"
    assert on.any(dim=1).all(), "a window lost every modality"
    per_frame = gates.amax(dim=3) > 0  # (B, L, M): a dropped modality is gone for all frames
    assert (per_frame == on[:, None, :]).all()
    assert (_run(model.eval(), batch)["gates"].amax(dim=3) > 0).all()


@pytest.mark.parametrize("positional", ["rotary", "sinusoidal", "learned", "none"])
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**16),
    far=st.integers(0, 10**6),
    kernel=st.sampled_from([0, 3]),
    context=st.sampled_from([(), (1, 4)]),
    runs=st.sampled_from([0, 3]),
)
def test_the_same_window_gives_the_same_outputs_anywhere_in_a_recording(
    tiny_config, make_batch, positional, seed, far, kernel, context, runs
):
    """Shift invariance (SPEC): the window's absolute start frame never reaches the model, so
    a window at frame 0 and the same window at frame 10^6 predict the same."""
    config = tiny_config(
        positional=positional,
        conv_kernel=kernel,
        context_frames=context,
        run_channels=runs,
        max_frames=64,
    )
    torch.manual_seed(seed)
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, B=2, L=12, seed=seed, n_real=[12, 9])
    batch["start_frame"] = torch.tensor([0, 0])
    here = _run(model, batch)
    batch["start_frame"] = torch.tensor([far, 10**6])
    there = _run(model, batch)
    for key in ("active", "asset", "regression"):
        torch.testing.assert_close(there[key], here[key], rtol=0, atol=1e-6)


@pytest.mark.parametrize("positional", ["rotary", "sinusoidal", "learned", "none"])
def test_positions_inside_the_window_still_matter(tiny_config, make_batch, positional):
    """Shift invariance is not position blindness: the same frames in reverse order inside the
    window are read differently; only positional='none' (attention alone) cannot tell."""
    config = tiny_config(positional=positional)
    model = MultiTrackTransformer(config).double().eval()
    batch = make_batch(config, B=1, L=8, n_real=[8])
    forward = _run(model, batch)["active"][0]
    for name in config.modality_names:
        batch[name] = batch[name].flip(1)
    backward = _run(model, batch)["active"][0].flip(0)
    moved = (forward - backward).abs().max().item()  # untrained outputs differ by ~1e-6
    assert moved < 1e-12 if positional == "none" else moved > 1e-8


def test_learned_positions_refuse_windows_longer_than_max_frames(tiny_config, make_batch):
    config = tiny_config(positional="learned", max_frames=8)
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config, B=2, L=8)
    batch["start_frame"] = torch.tensor([3, 10**6])  # far frames are fine: never an input
    assert torch.isfinite(_run(model, batch)["active"]).all()
    with pytest.raises(InputShapeError, match=r"window of 9 frames.*max_frames=8"):
        _run(model, make_batch(config, B=2, L=9))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"fusion": "concat", "positional": "learned"},
        {"fusion": "add", "given_tracks": (1,)},
        {"given_tracks": (0, 3), "positional": "learned"},
        {"conv_kernel": 3},
        {"context_frames": (2, 5)},
        {"run_channels": 3},
    ],
)
def test_every_parameter_receives_a_gradient(tiny_config, make_batch, overrides):
    from mttransformer import BatchLoss

    config = tiny_config(**overrides)
    model = MultiTrackTransformer(config).train()
    batch = make_batch(config, B=3, L=8)
    total, _ = BatchLoss(config)(model, batch)
    total.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, f"{name} got an all-zero gradient"


def _shape_error(model, match, **changes):
    kwargs = {
        "features": {"audio": torch.zeros(2, 5, 3), "visual": torch.zeros(2, 5, 5)},
        "frame_mask": torch.ones(2, 5),
        "modality_mask": torch.ones(2, 5, 2),
        "start_frame": torch.zeros(2, dtype=torch.long),
    }
    kwargs.update(changes)
    with pytest.raises(InputShapeError, match=match):
        model(**kwargs)


def test_shape_and_dtype_mismatches_name_both_shapes(tiny_config):
    model = MultiTrackTransformer(tiny_config())
    _shape_error(
        model,
        r"features\['visual'\] has shape \(2, 5, 6\).*expects \(2, 5, 5\)",
        features={"audio": torch.zeros(2, 5, 3), "visual": torch.zeros(2, 5, 6)},
    )
    _shape_error(
        model,
        r"features\['audio'\] has shape \(2, 4, 3\).*expects \(2, 5, 3\)",
        features={"audio": torch.zeros(2, 4, 3), "visual": torch.zeros(2, 5, 5)},
    )
    _shape_error(
        model,
        r"features has keys \['audio', 'tracks', 'visual'\]",
        features={
            "audio": torch.zeros(2, 5, 3),
            "visual": torch.zeros(2, 5, 5),
            "tracks": torch.zeros(2, 5, 36),
        },
    )
    _shape_error(
        model,
        r"modality_mask has shape \(2, 5, 3\).*expects \(2, 5, 2\)",
        modality_mask=torch.ones(2, 5, 3),
    )
    _shape_error(
        model, r"frame_mask has shape \(2, 5, 1\).*expects \(B, L\)", frame_mask=torch.ones(2, 5, 1)
    )
    _shape_error(model, r"start_frame.*float32.*integer", start_frame=torch.zeros(2))
    _shape_error(
        model,
        r"features\['audio'\] \(shape \(2, 5, 3\)\) has dtype torch.int64",
        features={"audio": torch.zeros(2, 5, 3, dtype=torch.long), "visual": torch.zeros(2, 5, 5)},
    )
    _shape_error(
        model,
        r"given_tracks has shape \(2, 5, 36\).*takes no tracks",
        given_tracks=torch.zeros(2, 5, 36),
    )


def test_bf16_autocast_runs_forward_loss_and_backward(tiny_config, make_batch):
    from mttransformer import BatchLoss

    config = tiny_config(given_tracks=(1,))
    model = MultiTrackTransformer(config)
    batch = make_batch(config, n_real=[10, 0, 4])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, parts = BatchLoss(config)(model, batch)
    assert total.dtype == torch.float32 and torch.isfinite(total)
    assert all(torch.isfinite(v) for v in parts.values())
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_float64_features_are_accepted(tiny_config, make_batch):
    config = tiny_config()
    model = MultiTrackTransformer(config).eval()
    batch = make_batch(config)
    expected = _run(model, batch)
    batch["audio"], batch["visual"] = batch["audio"].double(), batch["visual"].double()
    torch.testing.assert_close(_run(model, batch)["active"], expected["active"])


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"d_model": 18, "n_heads": 4}, "not divisible"),
        ({"fusion": "sum"}, "fusion='sum'"),
        ({"positional": "rope"}, "positional='rope'"),
        ({"d_model": 12, "n_heads": 4}, "even head width"),
        ({"dropout": 1.0}, r"dropout=1.0"),
        ({"modalities": {"tracks": 3}}, "modality name 'tracks'"),
        ({"modalities": {"a b": 3}}, "modality name 'a b'"),
        ({"modalities": {"audio": 0}}, "width 0"),
        ({"modalities": {}}, "at least one input"),
        ({"feature_names": {"audio": ["x"], "visual": list("abcde")}}, "lists 1 names"),
        ({"regression_scale": (1.0,) * 6}, "need 7 values"),
        ({"conv_kernel": 4}, "conv_kernel=4"),
        ({"conv_kernel": -1}, "conv_kernel=-1"),
        # the one modality-name rule (trackcore): what featalign canonicalises at build
        ({"modalities": {"face-mesh": 3}}, "modality name 'face-mesh'"),
        ({"modalities": {"Audio": 3}}, "modality name 'Audio'"),
        ({"modalities": {"timestamps": 3}}, "modality name 'timestamps'"),
        ({"layout_version": 2}, "track layout version 2"),
        ({"context_frames": (3, 0)}, r"context_frames=\(3, 0\)"),
        ({"run_channels": -1}, "run_channels=-1"),
    ],
)
def test_invalid_configs_are_refused_with_the_field_named(tiny_config, overrides, match):
    with pytest.raises(ConfigError, match=match):
        tiny_config(**overrides)


def test_config_round_trips_through_json(tiny_config):
    import json

    config = tiny_config(
        given_tracks=(2,), feature_names={"audio": list("abc"), "visual": list("vwxyz")}
    )
    again = MultiTrackConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    with pytest.raises(ConfigError, match=r"unknown fields \['colour'\]"):
        MultiTrackConfig.from_dict({**config.to_dict(), "colour": 1})


def test_the_convolution_sees_exactly_its_width_of_neighbours(tiny_config, make_batch):
    """One block with a kernel of 3 and no attention reach (a single frame's worth of change)
    moves the frames within 1 of the changed one and no other."""
    config = tiny_config(conv_kernel=3, n_layers=1)
    model = MultiTrackTransformer(config).eval()
    block = model.blocks[0]
    x = torch.randn(1, 12, config.d_model, generator=torch.Generator().manual_seed(0))
    real = torch.ones(1, 12, dtype=torch.bool)
    changed = x.clone()
    changed[0, 6, 0] += (
        1.0  # one channel: the same shift in every channel is what LayerNorm removes
    )
    delta = (block.conv(block.ln_conv(changed), real) - block.conv(block.ln_conv(x), real)).abs()
    moved = delta.sum(-1)[0] > 0
    assert moved.tolist() == [i in (5, 6, 7) for i in range(12)]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    length=st.integers(1, 40),
    n_real=st.integers(0, 40),
    radius=st.integers(1, 12),
)
def test_window_statistics_are_the_rolling_mean_min_and_max_of_the_real_frames(
    seed, length, n_real, radius
):
    """Against a plain loop over each frame's centred window of real frames (padding at the
    end, as batches pad): the statistics the boosted baseline reads, inside the model."""
    from mttransformer.model import window_statistics

    n_real = min(n_real, length)
    x = torch.randn(
        1, length, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    real = torch.arange(length)[None, :] < n_real
    got = window_statistics(x, real, radius)[0]  # (L, 9)
    for i in range(length):
        near = x[0, max(0, i - radius) : min(n_real, i + radius + 1)]  # (k, 3) real neighbours
        if len(near) == 0:  # no real neighbour: zeros
            want = torch.zeros(9, dtype=x.dtype)
        else:
            want = torch.cat([near.mean(0), near.min(0).values, near.max(0).values])
        torch.testing.assert_close(got[i], want, rtol=0, atol=1e-9)


def test_context_pooling_reaches_exactly_its_widest_radius(tiny_config):
    """Frames farther than the widest radius from a change are untouched by the pool."""
    config = tiny_config(context_frames=(1, 3))
    pool = MultiTrackTransformer(config).eval().context
    x = torch.randn(1, 16, config.d_model, generator=torch.Generator().manual_seed(1))
    real = torch.ones(1, 16, dtype=torch.bool)
    changed = x.clone()
    changed[0, 8] += 1.0
    moved = (pool(changed, real) - pool(x, real)).abs().sum(-1)[0] > 0
    assert moved.tolist() == [abs(i - 8) <= 3 for i in range(16)]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    length=st.integers(1, 70),
    hard=st.booleans(),
)
def test_run_lengths_count_the_frames_since_each_run_began(seed, length, hard):
    """Against the closed form c_t = sum_{k<=t} prod_{j=k..t} g_j, which for hard gates is the
    number of frames since the last zero."""
    from mttransformer.model import run_lengths

    generator = torch.Generator().manual_seed(seed)
    gate = torch.rand(2, length, 3, generator=generator, dtype=torch.float64)
    if hard:
        gate = (gate > 0.3).to(gate.dtype)
    want = torch.zeros_like(gate)
    for t in range(length):
        for k in range(t + 1):
            want[:, t] += gate[:, k : t + 1].prod(dim=1)
    torch.testing.assert_close(run_lengths(gate), want, rtol=1e-9, atol=1e-9)


def test_run_counters_read_a_runs_whole_length_at_every_frame_of_it(tiny_config):
    """With saturated gates, each frame of a run of 6 sees held 1..6, ahead 6..1, whole 6:
    a rule on the run's length can be read at its first frame, before the run is over."""
    config = tiny_config(run_channels=1)
    counters = MultiTrackTransformer(config).eval().counters
    with torch.no_grad():
        counters.gate.weight.zero_()
        counters.gate.bias.fill_(50.0)  # every real frame's gate is 1
        real = torch.arange(8)[None, :] < 6  # 6 real frames, then padding ends the run
        counts = counters.counts(torch.randn(1, 8, config.d_model), real)
    held, ahead, whole = counts[0].round().T.tolist()
    assert held == [1, 2, 3, 4, 5, 6, 0, 0]
    assert ahead == [6, 5, 4, 3, 2, 1, 0, 0]
    assert whole == [6, 6, 6, 6, 6, 6, 0, 0]
