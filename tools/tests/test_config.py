"""The config's layers: RunConfig defaults < a command's defaults < the file < --set."""

from __future__ import annotations

import pytest

from xmlai.config import ConfigError, load_config


def test_each_layer_overrides_the_one_below(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[train]\nepochs = 3\n[model]\nd_model = 64\n")
    command_defaults = {"train.epochs": 20, "train.lr": 0.01, "data.n_tracks": 4}
    config = load_config(path, {"model.d_model": 32}, command_defaults)
    assert config.train.epochs == 3  # the file beats the command's default
    assert config.train.lr == 0.01 and config.data.n_tracks == 4  # defaults fill the rest
    assert config.model.d_model == 32  # --set beats the file
    assert config.model.n_layers == 4  # RunConfig's own default


def test_a_file_that_breaks_a_section_is_still_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("train = 5\n")
    with pytest.raises(ConfigError, match=r"\[train\] must be a table"):
        load_config(path, None, {"train.epochs": 20})


def test_features_section_is_mediafeats_own_config(tmp_path):
    from pathlib import Path

    from mediafeat import ExtractConfig

    config = load_config(None, {"features.clip_onnx": "enc.onnx", "features.text": False})
    assert isinstance(config.features, ExtractConfig)
    assert config.features.clip_onnx == Path("enc.onnx") and config.features.text is False
    path = tmp_path / "run.toml"
    path.write_text(config.to_toml())  # None is left out: TOML has no null
    again = load_config(path)
    assert again.features == config.features and again.features.asr_model is None
    with pytest.raises(ConfigError, match=r"\[features\]: visual_rate_hz must be > 0"):
        load_config(None, {"features.visual_rate_hz": 0})
    with pytest.raises(ConfigError, match=r"unknown key features\.fps"):
        load_config(None, {"features.fps": 30})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"data.window": 100_000_000}, r"data\.window must be 8 to 10000 frames, got 100000000"),
        ({"data.window": 4, "data.overlap": 0}, r"data\.window must be 8 to 10000 frames, got 4"),
        ({"data.window": 64, "data.overlap": 64}, r"data\.overlap must be >= 0 and smaller than "
         r"data\.window \(64\), got 64"),
        ({"data.overlap": -1}, r"data\.overlap must be >= 0 .* got -1"),
    ],
)  # fmt: skip
def test_window_and_overlap_are_bounded_when_the_config_is_read(overrides, message):
    with pytest.raises(ConfigError, match=rf"^<options>: {message}$"):
        load_config(None, overrides)
    bounds = load_config(None, {"data.window": 10_000, "data.overlap": 9_999}).data
    assert (bounds.window, bounds.overlap) == (10_000, 9_999)
    assert load_config(None, {"data.window": 8, "data.overlap": 0}).data.window == 8


def test_an_unavailable_train_device_is_named_with_what_is_available(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only torch
    with pytest.raises(ConfigError) as info:
        load_config(None, {"train.device": "cuda"})
    assert str(info.value).startswith(
        "<options>: train.device: device 'cuda' is not available here (available: cpu"
    )
    assert load_config(None, {"train.device": "cpu"}).train.device == "cpu"


def test_time_based_checkpoints_reach_the_trainers_config():
    from trainer import TrainConfig
    from xmlai.sections import trainer_settings

    config = load_config(None, {"train.checkpoint_every_minutes": 15})
    assert TrainConfig.from_dict(trainer_settings(config.train)).checkpoint_every_minutes == 15.0


def test_model_and_train_sections_are_the_libraries_configs_with_the_pipelines_choices():
    """Every field a user may set is the library's own, at the library's default unless the
    pipeline chose another: a default cannot drift, a new library field appears by itself."""
    import dataclasses

    from mttransformer.config import MultiTrackConfig
    from trainer.config import TrainConfig
    from xmlai.config import RunConfig
    from xmlai.sections import (
        LOSS_KEYS,
        MODEL_CHOICES,
        MODEL_FROM_DATA,
        TRAIN_CHOICES,
        TRAIN_FROM_RUN,
    )

    config = RunConfig()
    for section, library, choices, left_out, own in (
        (config.model, MultiTrackConfig, MODEL_CHOICES, MODEL_FROM_DATA, {}),
        (config.train, TrainConfig, TRAIN_CHOICES, TRAIN_FROM_RUN, LOSS_KEYS),
    ):
        library_fields = {f.name: f for f in dataclasses.fields(library)}
        keys = {f.name for f in dataclasses.fields(section)}
        assert keys == (library_fields.keys() - set(left_out)) | own.keys()
        for key in keys - own.keys():
            f = library_fields[key]
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            assert getattr(section, key) == choices.get(key, default), key


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model.fusion": "sum"}, r"\[model\]: .*fusion"),
        ({"model.d_model": 100, "model.n_heads": 3}, r"\[model\]: .*d_model"),
        ({"train.precision": "fp64"}, r"\[train\]: .*precision"),
        ({"train.betas": [0.9]}, r"train.betas must be a list of 2"),
    ],
)
def test_the_libraries_check_their_own_settings_when_the_config_is_read(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_a_library_setting_the_pipeline_did_not_mirror_reaches_the_library(tmp_path):
    given = {"train.grad_accum_steps": 2, "model.head_hidden": 64, "train.betas": [0.8, 0.95]}
    config = load_config(None, {**given, "smooth.param_tolerance_scale": 2.0})
    assert config.train.betas == (0.8, 0.95) and config.smooth.param_tolerance_scale == 2.0
    path = tmp_path / "run.toml"
    path.write_text(config.to_toml())
    assert load_config(path).to_dict() == config.to_dict()
    from xmlai.sections import model_settings, trainer_settings

    assert trainer_settings(config.train)["grad_accum_steps"] == 2
    assert "active_on_weight" not in trainer_settings(config.train)
    assert model_settings(config.model)["head_hidden"] == 64
