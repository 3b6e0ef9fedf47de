"""The model's configuration: a plain dataclass that round-trips through JSON.

Track indices are 0-based: index 0 is the track table's `t01_*` block (V1, the bottom layer).
The block itself is the shared track layout (`trackcore.layout`, version `layout_version`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import trackcore
from mttransformer.errors import ConfigError
from trackcore import LAYOUT_VERSION, N_ASSETS, PARAMETER_NEUTRAL, LayoutError, check_layout
from trackcore.modality import MODALITY_RULE, is_modality_name

TRACK_WIDTH = trackcore.TRACK_WIDTH  # active, asset, then the regression parameters
REGRESSION_NAMES = trackcore.PARAMETER_NAMES  # scale, pos_x, pos_y, crop l/r/t/b
N_REGRESSION = len(REGRESSION_NAMES)
# An inactive track's block in the track table, in raw units.
NEUTRAL_TRACK = trackcore.TRACK_NEUTRAL

TASK_FEATURES = "features_to_tracks"  # default: every track predicted from the features alone
TASK_COMPLETION = "edit_completion"  # some tracks are given as input, the others predicted

FUSIONS = ("gated", "concat", "add")
# How a frame's place in its window is encoded. Never the window's absolute start frame: a
# prediction depends on the window's content and on positions inside it only, so a recording
# far longer than any training recording reads the same at its end as at its start.
POSITIONALS = ("rotary", "sinusoidal", "learned", "none")
# Keys a seqwin batch already uses; a modality with one of these names would be ambiguous
# (trackcore.modality: the one rule for modality names, the same in featalign and seqwin).
RESERVED_NAMES = trackcore.RESERVED_NAMES


@dataclass
class MultiTrackConfig:
    # inputs: modality name -> feature width, in modality_mask column order
    modalities: dict[str, int]
    feature_names: dict[str, list[str]] | None = None  # optional, checked against checkpoints
    n_tracks: int = trackcore.DEFAULT_N_TRACKS
    n_assets: int = N_ASSETS  # the asset roles of the layout (trackcore.AssetRole)
    # task: tracks given as input (edit completion); () = predict everything from features
    given_tracks: tuple[int, ...] = ()
    predicted_tracks: tuple[int, ...] | None = None  # None = every track not given
    # network
    d_model: int = 256
    n_heads: int = 8
    n_layers: int = 6
    d_ff: int = 1024
    dropout: float = 0.1
    head_hidden: int = 128
    fusion: str = "gated"
    positional: str = "rotary"  # relative positions in attention (RoFormer); see POSITIONALS
    # a depthwise temporal convolution of this width in every block (Conformer); 0 = none
    conv_kernel: int = 0
    # each frame also reads the masked mean, min and max of its neighbours within +-r frames,
    # for each r: what "silent for 2 s" needs, given directly rather than learned; () = none
    context_frames: tuple[int, ...] = ()
    # learned conditions whose run lengths (frames held so far, still to hold, in all) each
    # frame reads: what "cut a silence once it lasts 2.2 s" needs to the frame; 0 = none
    run_channels: int = 0
    max_frames: int = 8192  # only for positional="learned": the longest window it can place
    modality_dropout: float = 0.1  # training only: drop a whole modality of a window
    # normalised regression target = (raw - offset) / scale, so an inactive track (the layout's
    # neutral values) is all zeros
    regression_offset: tuple[float, ...] = PARAMETER_NEUTRAL
    regression_scale: tuple[float, ...] = (100.0, 1.0, 1.0, 100.0, 100.0, 100.0, 100.0)
    # the track layout of the tracks this model reads and predicts (trackcore.check_layout)
    layout_version: int = LAYOUT_VERSION

    def __post_init__(self) -> None:
        # JSON gives lists back; keep tuples so configs compare equal after a round trip.
        try:
            self.modalities = {str(k): int(v) for k, v in dict(self.modalities).items()}
            self.given_tracks = tuple(int(i) for i in self.given_tracks)
            self.context_frames = tuple(int(r) for r in self.context_frames)
            if self.predicted_tracks is None:
                given = set(self.given_tracks)
                self.predicted_tracks = tuple(i for i in range(self.n_tracks) if i not in given)
            self.predicted_tracks = tuple(int(i) for i in self.predicted_tracks)
            self.regression_offset = tuple(float(v) for v in self.regression_offset)
            self.regression_scale = tuple(float(v) for v in self.regression_scale)
            if self.feature_names is not None:
                self.feature_names = {
                    str(k): [str(c) for c in v] for k, v in self.feature_names.items()
                }
        except (TypeError, ValueError, AttributeError) as error:
            raise ConfigError(f"MultiTrackConfig: a field has the wrong type ({error})") from None
        self.validate()

    @property
    def task(self) -> str:
        return TASK_COMPLETION if self.given_tracks else TASK_FEATURES

    @property
    def modality_names(self) -> tuple[str, ...]:
        return tuple(self.modalities)

    def validate(self) -> None:
        def fail(message: str) -> None:
            raise ConfigError(f"MultiTrackConfig: {message}")

        try:
            check_layout(self.layout_version)
        except LayoutError as error:
            fail(str(error))
        for name, width in self.modalities.items():
            if not is_modality_name(name):
                fail(f"modality name {name!r} must be {MODALITY_RULE}")
            if width < 1:
                fail(f"modality {name!r} has width {width}; it must be at least 1")
        if not self.modalities and not self.given_tracks:
            fail("the model needs at least one input: a modality or given tracks")
        if self.feature_names is not None:
            if set(self.feature_names) != set(self.modalities):
                fail(
                    f"feature_names has modalities {sorted(self.feature_names)} but modalities "
                    f"has {sorted(self.modalities)}"
                )
            for name, names in self.feature_names.items():
                if len(names) != self.modalities[name]:
                    fail(
                        f"feature_names[{name!r}] lists {len(names)} names for a width of "
                        f"{self.modalities[name]}"
                    )
        if self.n_tracks < 1 or self.n_assets < 2:
            fail(f"n_tracks={self.n_tracks} must be >= 1 and n_assets={self.n_assets} >= 2")
        for label, indices in (
            ("given_tracks", self.given_tracks),
            ("predicted_tracks", self.predicted_tracks),
        ):
            bad = [i for i in indices if not 0 <= i < self.n_tracks]
            if bad:
                fail(f"{label} {bad} out of range 0..{self.n_tracks - 1} (0-based: 0 is t01)")
            if len(set(indices)) != len(indices):
                fail(f"{label} {list(indices)} repeats a track")
        if not self.predicted_tracks:
            fail("no track is left to predict")
        overlap = sorted(set(self.given_tracks) & set(self.predicted_tracks))
        if overlap:
            # The whole point of the task split: a track fed in must never be a target too.
            fail(
                f"tracks {overlap} are both given and predicted; the sets must be disjoint "
                "(predicted_tracks=None predicts every track that is not given)"
            )
        if self.fusion not in FUSIONS:
            fail(f"fusion={self.fusion!r}; choose one of {FUSIONS}")
        if self.positional not in POSITIONALS:
            fail(f"positional={self.positional!r}; choose one of {POSITIONALS}")
        if self.positional == "sinusoidal" and self.d_model % 2:
            fail(f"sinusoidal positions need an even d_model, got {self.d_model}")
        head_width, rest = divmod(self.d_model, self.n_heads)
        if self.positional == "rotary" and not rest and head_width % 2:
            fail(
                f"rotary positions need an even head width, got d_model {self.d_model} / "
                f"n_heads {self.n_heads}"
            )
        for label, value in (
            ("dropout", self.dropout),
            ("modality_dropout", self.modality_dropout),
        ):
            if not 0.0 <= value < 1.0:
                fail(f"{label}={value} must be in [0, 1)")
        for label, value in (
            ("d_model", self.d_model),
            ("n_heads", self.n_heads),
            ("n_layers", self.n_layers),
            ("d_ff", self.d_ff),
            ("head_hidden", self.head_hidden),
            ("max_frames", self.max_frames),
        ):
            if value < 1:
                fail(f"{label}={value} must be at least 1")
        if self.conv_kernel < 0 or (self.conv_kernel and self.conv_kernel % 2 == 0):
            fail(f"conv_kernel={self.conv_kernel} must be 0 (none) or an odd width")
        if self.run_channels < 0:
            fail(f"run_channels={self.run_channels} must be 0 (none) or more")
        if any(r < 1 for r in self.context_frames):
            fail(f"context_frames={self.context_frames}: each radius must be at least 1 frame")
        if self.d_model % self.n_heads:
            fail(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if (
            len(self.regression_offset) != N_REGRESSION
            or len(self.regression_scale) != N_REGRESSION
        ):
            fail(
                f"regression_offset and regression_scale need {N_REGRESSION} values "
                f"({', '.join(REGRESSION_NAMES)})"
            )
        if any(s == 0 for s in self.regression_scale):
            fail(f"regression_scale {self.regression_scale} has a zero")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultiTrackConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"MultiTrackConfig: unknown fields {unknown}")
        try:
            return cls(**data)
        except TypeError as error:  # a required field missing
            raise ConfigError(f"MultiTrackConfig: {error}") from None

    def input_schema(self) -> dict[str, Any]:
        """What a batch must look like for this model; stored in checkpoints and compared."""
        return {
            "modalities": dict(self.modalities),
            "feature_names": self.feature_names,
            "n_tracks": self.n_tracks,
            "n_assets": self.n_assets,
            "layout_version": self.layout_version,
            "task": self.task,
            "given_tracks": list(self.given_tracks),
            "predicted_tracks": list(self.predicted_tracks),
        }
