"""save_pretrained / from_pretrained: round trip, schema checks, task detection, refusals."""

import hashlib
import json
import pickle
from pathlib import Path

import pytest
import torch

from mttransformer import (
    CheckpointError,
    MultiTrackTransformer,
    SchemaMismatchError,
    checkpoint_task,
    from_pretrained,
    model_inputs,
    read_checkpoint_info,
)


def _saved(tmp_path, tiny_config, **overrides):
    config = tiny_config(**overrides)
    torch.manual_seed(0)
    model = MultiTrackTransformer(config)
    return model, model.save_pretrained(tmp_path / "ckpt")


@pytest.mark.parametrize(
    "overrides",
    [{}, {"given_tracks": (2,), "fusion": "concat", "positional": "learned", "max_frames": 700}],
)
def test_round_trip_gives_identical_outputs(tmp_path, tiny_config, make_batch, overrides):
    model, directory = _saved(tmp_path, tiny_config, **overrides)
    loaded = MultiTrackTransformer.from_pretrained(directory)
    assert loaded.config == model.config and not loaded.training
    batch = make_batch(model.config)
    expected = model.eval()(**model_inputs(batch, model.config))
    got = loaded(**model_inputs(batch, loaded.config))
    for key in expected:
        assert torch.equal(expected[key], got[key])
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "weights.pt"]


def test_config_json_holds_format_version_and_input_schema(tmp_path, tiny_config):
    model, directory = _saved(
        tmp_path,
        tiny_config,
        given_tracks=(0,),
        feature_names={"audio": ["rms", "speech", "onset"], "visual": list("abcde")},
    )
    meta = read_checkpoint_info(directory)
    assert meta["format"] == "xmlai-mttransformer" and meta["format_version"] == 1
    schema = meta["input_schema"]
    assert schema["modalities"] == {"audio": 3, "visual": 5}
    assert schema["feature_names"]["audio"] == ["rms", "speech", "onset"]
    assert (schema["n_tracks"], schema["task"]) == (4, "edit_completion")
    assert (schema["given_tracks"], schema["predicted_tracks"]) == ([0], [1, 2, 3])
    assert meta["n_parameters"] == model.count_parameters()


def test_checkpoint_task_tells_the_two_tasks_apart(tmp_path, tiny_config):
    _, default = _saved(tmp_path / "a", tiny_config)
    _, completion = _saved(tmp_path / "b", tiny_config, given_tracks=(0, 1))
    assert checkpoint_task(default) == "features_to_tracks"
    assert checkpoint_task(completion) == "edit_completion"


def test_a_mismatched_schema_lists_every_difference(tmp_path, tiny_config):
    _, directory = _saved(tmp_path, tiny_config)
    from_pretrained(
        directory, modalities={"audio": 3, "visual": 5}, n_tracks=4, task="features_to_tracks"
    )  # matching expectations load
    with pytest.raises(SchemaMismatchError) as caught:
        from_pretrained(
            directory, modalities={"audio": 3, "visual": 8}, n_tracks=20, task="edit_completion"
        )
    message = str(caught.value)
    assert "modalities: checkpoint has {'audio': 3, 'visual': 5}" in message
    assert "'visual': 8" in message and "n_tracks: checkpoint has 4, you have 20" in message
    assert "task: checkpoint has 'features_to_tracks'" in message
    with pytest.raises(SchemaMismatchError, match="feature_names"):
        from_pretrained(directory, feature_names={"audio": ["a", "b", "c"]})


def test_weights_of_another_architecture_are_refused(tmp_path, tiny_config):
    _, small = _saved(tmp_path / "small", tiny_config)
    _, wide = _saved(tmp_path / "wide", tiny_config, d_model=32)
    # pair wide weights with the small config, keeping the digest consistent
    meta = json.loads((small / "config.json").read_text())
    (small / "weights.pt").write_bytes((wide / "weights.pt").read_bytes())
    meta["weights"] = json.loads((wide / "config.json").read_text())["weights"]
    (small / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"another architecture.*shapes"):
        from_pretrained(small)


def test_an_interrupted_save_is_detected(tmp_path, tiny_config):
    """Weights replaced without the matching config.json (a save cut off between the two
    renames, or a swapped file) fail the digest check before torch reads them."""
    _, directory = _saved(tmp_path, tiny_config)
    other = MultiTrackTransformer(tiny_config())
    torch.save(other.state_dict(), directory / "weights.pt")
    with pytest.raises(CheckpointError, match="SHA-256 does not match"):
        from_pretrained(directory)


def test_a_save_that_fails_half_way_leaves_the_previous_checkpoint(
    tmp_path, tiny_config, monkeypatch
):
    _, directory = _saved(tmp_path, tiny_config)
    before = (directory / "weights.pt").read_bytes()

    def broken_save(obj, handle):
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        MultiTrackTransformer(tiny_config()).save_pretrained(directory)
    monkeypatch.undo()
    assert (directory / "weights.pt").read_bytes() == before
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "weights.pt"]
    from_pretrained(directory)


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_pickle_with_code_is_refused_without_running_it(tmp_path, tiny_config, writer):
    _, directory = _saved(tmp_path, tiny_config)
    marker = tmp_path / "executed"
    weights = directory / "weights.pt"
    if writer == "torch.save":
        torch.save({"x": _Payload(marker)}, weights)
    else:
        weights.write_bytes(pickle.dumps({"x": _Payload(marker)}, protocol=2))
    # an attacker can also fix up the digest: weights_only loading still refuses
    meta = json.loads((directory / "config.json").read_text())
    meta["weights"]["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (directory / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="not a plain tensor state_dict"):
        from_pretrained(directory)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("corrupt", "match"),
    [
        (lambda d: (d / "config.json").write_text("{not json"), "invalid JSON"),
        (lambda d: (d / "config.json").write_text('{"format": "other"}'), "format is 'other'"),
        (lambda d: (d / "config.json").unlink(), "config.json: missing"),
        (lambda d: (d / "weights.pt").unlink(), "weights.pt: missing"),
    ],
)
def test_what_is_not_a_checkpoint_is_refused(tmp_path, tiny_config, corrupt, match):
    _, directory = _saved(tmp_path, tiny_config)
    corrupt(directory)
    with pytest.raises(CheckpointError, match=match):
        from_pretrained(directory)


def test_a_plain_file_or_a_newer_format_is_refused(tmp_path, tiny_config):
    stray = tmp_path / "model.bin"
    stray.write_bytes(b"\x80\x04not a checkpoint")
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        from_pretrained(stray)
    _, directory = _saved(tmp_path, tiny_config)
    meta = json.loads((directory / "config.json").read_text())
    meta["format_version"] = 2
    (directory / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"format_version 2.*up to 1"):
        checkpoint_task(directory)


@pytest.fixture
def group_umask():
    """A shared run folder's umask (group may write); restored after the test."""
    import os

    old = os.umask(0o002)
    yield 0o002
    os.umask(old)


def test_a_saved_model_has_the_users_file_mode(tmp_path, tiny_config, group_umask):
    import stat

    _, directory = _saved(tmp_path, tiny_config)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}
    assert modes == {"config.json": 0o664, "weights.pt": 0o664}


def test_the_layout_version_is_part_of_the_schema_and_an_older_checkpoint_is_layout_1(
    tmp_path, tiny_config
):
    _, directory = _saved(tmp_path, tiny_config)
    meta = read_checkpoint_info(directory)
    assert meta["input_schema"]["layout_version"] == meta["config"]["layout_version"] == 1
    assert from_pretrained(directory, layout_version=1).config.layout_version == 1
    with pytest.raises(SchemaMismatchError, match="layout_version: checkpoint has 1"):
        from_pretrained(directory, layout_version=2)
    del meta["config"]["layout_version"]  # a checkpoint saved before the field existed
    (directory / "config.json").write_text(json.dumps(meta))
    assert from_pretrained(directory).config.layout_version == 1
    meta["config"]["layout_version"] = 2
    (directory / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="track layout version 2"):
        from_pretrained(directory)


@pytest.mark.parametrize(
    "field, value", [("n_layers", 10**6), ("d_model", 2**20), ("d_ff", 10**10)]
)
def test_a_config_larger_than_its_weights_is_refused_before_building(
    tmp_path, tiny_config, field, value
):
    _, directory = _saved(tmp_path, tiny_config)
    meta = json.loads((directory / "config.json").read_text())
    meta["config"][field] = value
    (directory / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"config\.json: the config describes at least"):
        from_pretrained(directory)


def test_feature_names_of_the_wrong_type_is_a_checkpoint_error(tmp_path, tiny_config):
    _, directory = _saved(tmp_path, tiny_config)
    meta = json.loads((directory / "config.json").read_text())
    meta["config"]["feature_names"] = 5
    (directory / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="wrong type"):
        from_pretrained(directory)
