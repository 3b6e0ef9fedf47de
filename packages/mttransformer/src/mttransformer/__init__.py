"""xmlai-mttransformer: a leak-free multi-track transformer that predicts an edit from features.

The public API (torch is imported on first use, so `mttransformer --help` stays fast):

    MultiTrackConfig, MultiTrackTransformer        the model: forward(features, frame_mask, ...)
    LossConfig, MultiTrackLoss, BatchLoss          the loss; BatchLoss is loss_fn(model, batch)
    split_tracks, select_given_tracks, decode_outputs, output_probabilities, model_inputs
    save_pretrained, from_pretrained, checkpoint_task, read_checkpoint_info
    errors: MTTransformerError, ConfigError, InputShapeError, CheckpointError, SchemaMismatchError
"""

from importlib import import_module

from mttransformer.__about__ import __version__

_EXPORTS = {
    "MultiTrackConfig": "mttransformer.config",
    "TASK_FEATURES": "mttransformer.config",
    "TASK_COMPLETION": "mttransformer.config",
    "TRACK_WIDTH": "mttransformer.config",
    "REGRESSION_NAMES": "mttransformer.config",
    "MultiTrackTransformer": "mttransformer.model",
    "LossConfig": "mttransformer.loss",
    "MultiTrackLoss": "mttransformer.loss",
    "BatchLoss": "mttransformer.batch",
    "model_inputs": "mttransformer.batch",
    "split_tracks": "mttransformer.tracks",
    "select_given_tracks": "mttransformer.tracks",
    "decode_outputs": "mttransformer.tracks",
    "output_probabilities": "mttransformer.tracks",
    "save_pretrained": "mttransformer.checkpoint",
    "from_pretrained": "mttransformer.checkpoint",
    "checkpoint_task": "mttransformer.checkpoint",
    "read_checkpoint_info": "mttransformer.checkpoint",
    "MTTransformerError": "mttransformer.errors",
    "ConfigError": "mttransformer.errors",
    "InputShapeError": "mttransformer.errors",
    "CheckpointError": "mttransformer.errors",
    "SchemaMismatchError": "mttransformer.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mttransformer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
