"""xmlai-trainer: a small, explicit, resumable training loop for any torch.nn.Module.

    from trainer import Trainer, TrainConfig
    summary = Trainer(model, loss_fn, train_data, val_data, TrainConfig(epochs=5)).fit()

torch is imported on first use of a torch-side name (PEP 562), so `import trainer` and the
CLI's --help stay fast.
"""

from importlib import import_module
from typing import Any

from trainer.__about__ import __version__
from trainer.config import TrainConfig, load_config
from trainer.errors import (
    AnomalyError,
    BatchError,
    CheckpointError,
    ConfigError,
    DiskFullError,
    RunDirLockedError,
    TrainerError,
)

_LAZY = {
    "Trainer": "trainer.loop",
    "TrainState": "trainer.loop",
    "EMA": "trainer.ema",
    "load_checkpoint": "trainer.checkpoint",
    "save_checkpoint": "trainer.checkpoint",
    "load_model_weights": "trainer.checkpoint",
    "latest_checkpoint": "trainer.checkpoint",
    "epoch_order": "trainer.data",
    "epoch_batches": "trainer.data",
    "collate": "trainer.data",
    "lr_factor": "trainer.schedule",
    "RunDirLock": "trainer.rundir",
    "lock_run_dir": "trainer.rundir",
    "check_device": "trainer.distributed",
    "available_devices": "trainer.distributed",
}

__all__ = [
    "EMA",
    "AnomalyError",
    "BatchError",
    "CheckpointError",
    "ConfigError",
    "DiskFullError",
    "RunDirLock",
    "RunDirLockedError",
    "TrainConfig",
    "TrainState",
    "Trainer",
    "TrainerError",
    "__version__",
    "available_devices",
    "check_device",
    "collate",
    "epoch_batches",
    "epoch_order",
    "latest_checkpoint",
    "load_checkpoint",
    "load_config",
    "load_model_weights",
    "lock_run_dir",
    "lr_factor",
    "save_checkpoint",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trainer' has no attribute {name!r}")
