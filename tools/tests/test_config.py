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
