"""The [model] and [train] sections are the libraries' own configs, not copies of them.

Each section is made from the library's dataclass (`mttransformer.MultiTrackConfig`,
`trainer.TrainConfig`): every field a user may set, with the library's default unless the
pipeline chose another, listed here once with the reason. A field the library adds appears in
the section by itself; a default the library changes changes here unless the pipeline chose it.
"""

from __future__ import annotations

import copy
import dataclasses
import typing

from mttransformer.config import MultiTrackConfig
from trainer.config import TrainConfig

# set from the built data, never by a user: the feature widths, the track count and layout
MODEL_FROM_DATA = (
    "modalities", "feature_names", "n_tracks", "n_assets", "predicted_tracks", "max_frames",
    "regression_offset", "regression_scale", "layout_version",
)  # fmt: skip
# the pipeline's choices where they differ from the library's defaults (README "defaults")
MODEL_CHOICES = {
    # 1.1 M parameters train 150 edits of 30 s in 10 minutes on 2 cores; 256 x 6 layers do not
    # (the run counters below add 0.2 M; an epoch took 22 s with and without them)
    "d_model": 128, "n_heads": 4, "n_layers": 4, "d_ff": 512,
    "conv_kernel": 15,  # a depthwise temporal convolution per block (0.5 s at 30 fps)
    # hiding a modality in training teaches the model to guess what it would have said; that
    # guess is wrong wherever the edit depends on the feature being there
    "modality_dropout": 0.0,
    # how long 16 learned conditions have held and will hold, read at learned steps: dead air
    # is cut by the length of a silence to the frame (tools/README, "How each default ...")
    "run_channels": 16,
}  # fmt: skip

# set by `xmlai train` for each run, never by a user
TRAIN_FROM_RUN = ("run_dir", "resume", "extra")
TRAIN_CHOICES = {
    "epochs": 12, "batch_size": 16, "lr": 2e-3, "warmup_steps": 50, "min_lr_ratio": 0.05,
    "checkpoint_every_minutes": 0.0,  # 0: off (TOML has no null)
    "log_every_steps": 20,
}  # fmt: skip
# the pipeline's loss settings, passed to mttransformer's LossConfig, not to the trainer
LOSS_KEYS = {
    "active_on_weight": (float, 2.0),  # class weight of "on" in the active loss
    "regression_weight": (float, 5.0),  # regression targets are small numbers; let them count
}


def library_section(name: str, library, choices: dict, left_out, extra=None) -> type:
    """A dataclass with `library`'s fields minus `left_out`, defaulting to `choices` where
    given, else to the library's own default; `extra`: {field: (type, default)} of the
    pipeline's own."""
    hints = typing.get_type_hints(library)
    fields = []
    for f in dataclasses.fields(library):
        if f.name in left_out:
            continue
        default = choices[f.name] if f.name in choices else _default(f)
        fields.append((f.name, hints[f.name], _field(default)))
    for key, (hint, default) in (extra or {}).items():
        fields.append((key, hint, _field(default)))
    return dataclasses.make_dataclass(name, fields)


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()


def _field(default) -> dataclasses.Field:
    return dataclasses.field(default_factory=lambda: copy.deepcopy(default))


ModelSection = library_section("ModelSection", MultiTrackConfig, MODEL_CHOICES, MODEL_FROM_DATA)
TrainSection = library_section(
    "TrainSection", TrainConfig, TRAIN_CHOICES, TRAIN_FROM_RUN, LOSS_KEYS
)


def model_settings(section) -> dict:
    """The [model] section as MultiTrackConfig keyword arguments."""
    return dataclasses.asdict(section)


def trainer_settings(section) -> dict:
    """The [train] section's TrainConfig keys (the loss keys are the model's)."""
    return {k: v for k, v in dataclasses.asdict(section).items() if k not in LOSS_KEYS}
