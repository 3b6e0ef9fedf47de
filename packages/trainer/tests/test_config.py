import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer import ConfigError, TrainConfig, load_config
from trainer.config import parse_overrides


def test_toml_file_and_typed_overrides(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text('epochs = 4\nlr = 3e-4\nprecision = "bf16"\nbetas = [0.9, 0.95]\n')
    cfg = load_config(path, ["batch_size=16", "grad_clip=none", "run_dir=runs/a b", "lr=1"])
    assert (cfg.epochs, cfg.batch_size, cfg.precision) == (4, 16, "bf16")
    assert cfg.betas == (0.9, 0.95)
    assert cfg.grad_clip is None
    assert cfg.run_dir == "runs/a b"
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)


def test_json_snapshot_round_trips(tmp_path):
    cfg = TrainConfig(epochs=3, ema_decay=0.99, extra={"note": "x"})
    path = tmp_path / "c.json"
    import json

    path.write_text(json.dumps(cfg.to_dict()))
    assert load_config(path) == cfg


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text("epochs = 2\nlearning_rat = 0.1\n")
    with pytest.raises(ConfigError, match=r"cfg.toml.*'learning_rat'"):
        load_config(path)
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        load_config(None, ["epoch=3"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("epochs=two", "'epochs' must be int"),
        ("epochs=2.5", "'epochs' must be int"),
        ("compile=1", "'compile' must be bool"),
        ("betas=[0.9]", "'betas' must be"),
        ("precision=fp8", "precision must be one of"),
        ("monitor_mode=up", "monitor_mode must be min or max"),
        ("batch_size=0", "batch_size must be >= 1"),
        ("ema_decay=1.0", "ema_decay must be in"),
        ("noequals", "key=value"),
    ],
)
def test_wrong_types_and_values_are_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("epochs = = 2")
    with pytest.raises(ConfigError, match=r"broken\.toml: cannot parse"):
        load_config(broken)
    other = tmp_path / "cfg.ini"
    other.write_text("[x]")
    with pytest.raises(ConfigError, match="unknown config format"):
        load_config(other)


def test_yaml_loads_or_says_what_is_missing(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("epochs: 7\nlr: 0.5\n")
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="PyYAML"):
            load_config(path)
    else:
        assert load_config(path).epochs == 7


def test_with_overrides_validates():
    cfg = TrainConfig().with_overrides(["keep_last=5"])
    assert cfg.keep_last == 5
    with pytest.raises(ConfigError):
        cfg.with_overrides(["keep_last=0"])
    with pytest.raises(ConfigError):  # dataclasses.replace re-validates too
        dataclasses.replace(cfg, epochs=0)


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from(["epochs", "batch_size", "lr", "warmup_steps", "weight_decay"]),
    value=st.one_of(st.integers(1, 10**6), st.floats(1e-6, 1e3, allow_nan=False)),
)
def test_override_values_parse_to_their_type(key, value):
    parsed = parse_overrides([f"{key}={value!r}"])[key]
    assert parsed == value and type(parsed) is type(value)
