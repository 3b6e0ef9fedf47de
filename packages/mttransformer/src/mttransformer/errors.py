"""The library's exceptions: every one says which input, file or field is wrong and how."""


class MTTransformerError(ValueError):
    """Base class: anything this library refuses because of what it was given."""


class ConfigError(MTTransformerError):
    """A `MultiTrackConfig` or `LossConfig` field is out of range or inconsistent."""


class InputShapeError(MTTransformerError):
    """A batch tensor's shape or dtype does not match what the model was configured for."""


class CheckpointError(MTTransformerError):
    """A directory is not a readable mttransformer checkpoint, or its weights do not fit it."""


class SchemaMismatchError(CheckpointError):
    """A checkpoint was trained on other inputs (modalities, widths, tracks, task)."""
