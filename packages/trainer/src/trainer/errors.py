"""The trainer's exceptions: one base class, so callers can catch everything we raise on purpose."""


class TrainerError(Exception):
    """Base class for every error the trainer raises about its input or its state."""


class ConfigError(TrainerError, ValueError):
    """A configuration file or override is malformed, has an unknown key or a wrong type."""


class CheckpointError(TrainerError):
    """A checkpoint is missing, corrupt, not a trainer checkpoint, or of another architecture."""


class DiskFullError(CheckpointError):
    """A checkpoint did not fit on its disk; the previous checkpoints are untouched."""


class RunDirLockedError(TrainerError):
    """Another command is writing this run directory; the message says who and since when."""


class BatchError(TrainerError):
    """A batch does not fit the model (shape/dtype) or holds a sample with no real frame."""


class AnomalyError(TrainerError):
    """Training was aborted after too many non-finite losses or gradients."""
