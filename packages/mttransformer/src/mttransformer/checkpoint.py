"""Checkpoints: a directory with config.json (format, version, config, input schema, weights
digest) and weights.pt (a plain state_dict, read with torch.load(weights_only=True)).

Both files are written to a temporary name and renamed into place, weights first: the digest
in config.json then tells a complete checkpoint from one whose save was interrupted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mttransformer.__about__ import __version__
from mttransformer.config import TASK_COMPLETION, TASK_FEATURES, MultiTrackConfig
from mttransformer.errors import CheckpointError, ConfigError, SchemaMismatchError
from trackcore.atomic import atomic_open

FORMAT = "xmlai-mttransformer"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"


def _write_atomically(path: Path, write) -> None:
    # trackcore's atomic writer: open("xb") rather than mkstemp, so the file gets the user's
    # umask and the others sharing a run folder can read the model (mkstemp makes it 0600)
    with atomic_open(path, "wb", fsync=True) as handle:
        write(handle)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_pretrained(model, directory: str | Path) -> Path:
    """Write `model` (a MultiTrackTransformer) to `directory`; returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = directory / WEIGHTS_FILE
    _write_atomically(weights, lambda handle: torch.save(state, handle))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "task": model.config.task,
        "input_schema": model.config.input_schema(),
        "config": model.config.to_dict(),
        "weights": {"file": WEIGHTS_FILE, "sha256": _sha256(weights)},
        "n_parameters": model.count_parameters(trainable_only=False),
    }
    text = json.dumps(meta, indent=2).encode()
    _write_atomically(directory / CONFIG_FILE, lambda handle: handle.write(text))
    return directory


def read_checkpoint_info(directory: str | Path) -> dict[str, Any]:
    """The checkpoint's config.json, checked to be ours and of a version this library reads.
    Reads no weights, so it is safe on anything."""
    directory = Path(directory)
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise CheckpointError(
            f"{directory}: not a checkpoint directory (expected a directory "
            f"holding {CONFIG_FILE} and {WEIGHTS_FILE})"
        )
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; {directory} is not an mttransformer checkpoint")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: not a checkpoint config (invalid JSON: {error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{path}: format is {found!r}, not {FORMAT!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version!r}; this library (mttransformer {__version__}) "
            f"reads versions up to {FORMAT_VERSION}"
        )
    for key in ("config", "input_schema", "weights"):
        if not isinstance(meta.get(key), dict):
            raise CheckpointError(f"{path}: field {key!r} is missing or not an object")
    return meta


def checkpoint_task(directory: str | Path) -> str:
    """'features_to_tracks' or 'edit_completion': what the checkpoint was trained for."""
    meta = read_checkpoint_info(directory)
    task = meta.get("task")
    if task not in (TASK_FEATURES, TASK_COMPLETION):
        raise CheckpointError(f"{Path(directory) / CONFIG_FILE}: unknown task {task!r}")
    return task


def _least_parameters(config: MultiTrackConfig) -> int:
    """A lower bound on the model's parameter count, from the config alone: every block's
    attention (4 d^2) and feed-forward (2 d d_ff), the modality embeddings and the head."""
    d = config.d_model
    return (
        config.n_layers * (4 * d * d + 2 * d * config.d_ff)
        + d * sum(config.modalities.values())
        + config.head_hidden * (d + config.n_assets)
    )


def from_pretrained(
    directory: str | Path,
    *,
    modalities: Mapping[str, int] | None = None,
    feature_names: Mapping[str, list[str]] | None = None,
    n_tracks: int | None = None,
    task: str | None = None,
    given_tracks: tuple[int, ...] | None = None,
    layout_version: int | None = None,
    map_location: str | torch.device = "cpu",
):
    """Load a MultiTrackTransformer (in eval mode). Every keyword that is not None is the input
    schema the caller has; any difference from the checkpoint's raises SchemaMismatchError
    listing all of them."""
    from mttransformer.model import MultiTrackTransformer

    directory = Path(directory)
    meta = read_checkpoint_info(directory)
    config_path = directory / CONFIG_FILE
    try:
        config = MultiTrackConfig.from_dict(meta["config"])
    except ConfigError as error:
        raise CheckpointError(f"{config_path}: {error}") from None

    schema = config.input_schema()
    expected = {
        "modalities": None
        if modalities is None
        else {str(k): int(v) for k, v in modalities.items()},
        "feature_names": None
        if feature_names is None
        else {str(k): [str(c) for c in v] for k, v in feature_names.items()},
        "n_tracks": n_tracks,
        "task": task,
        "given_tracks": None if given_tracks is None else [int(i) for i in given_tracks],
        "layout_version": layout_version,
    }
    differences = [
        f"{key}: checkpoint has {schema[key]!r}, you have {value!r}"
        for key, value in expected.items()
        if value is not None and _normalise(schema[key]) != _normalise(value)
    ]
    if differences:
        raise SchemaMismatchError(
            f"{directory}: the checkpoint was trained on another input schema:\n  "
            + "\n  ".join(differences)
        )

    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing")
    if _sha256(weights) != meta["weights"].get("sha256"):
        # checked before torch.load sees a byte: a swapped or half-written file is refused
        raise CheckpointError(
            f"{weights}: its SHA-256 does not match {config_path}; the file was replaced or its "
            "save was interrupted"
        )
    try:
        state = torch.load(weights, map_location=map_location, weights_only=True)
    except Exception as error:  # weights_only refuses any pickle that would run code
        raise CheckpointError(f"{weights}: not a plain tensor state_dict ({error})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{weights}: not a state_dict of tensors")
    least = _least_parameters(config)
    if least > sum(v.numel() for v in state.values()):  # before building a model of that size
        raise CheckpointError(
            f"{config_path}: the config describes at least {least} parameters, more than "
            f"{weights} holds"
        )

    model = MultiTrackTransformer(config)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    reshaped = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if state[k].shape != own[k].shape
    ]
    if missing or unexpected or reshaped:
        raise CheckpointError(
            f"{weights}: the weights are of another architecture than {config_path} describes: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}, shapes (file vs config) "
            f"{reshaped[:5]}"
        )
    model.load_state_dict(state)
    return model.to(map_location).eval()


def _normalise(value: Any) -> Any:
    return json.loads(json.dumps(value))
