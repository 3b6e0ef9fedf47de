"""From a window batch (seqwin's item layout, collated) to the model's keyword arguments."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from mttransformer.config import MultiTrackConfig
from mttransformer.errors import InputShapeError
from mttransformer.loss import MultiTrackLoss
from mttransformer.tracks import select_given_tracks, split_tracks


def model_inputs(batch: dict[str, Any], config: MultiTrackConfig) -> dict[str, Any]:
    """{"tracks", "<modality>"..., "modality_mask", "frame_mask", "start_frame", ...} ->
    forward kwargs. `tracks` is read only for the configured given tracks, never whole."""
    missing = [k for k in (*config.modality_names, "frame_mask") if k not in batch]
    if config.given_tracks and "tracks" not in batch:
        missing.append("tracks")
    if missing:
        raise InputShapeError(f"batch lacks {missing}; it has {sorted(batch)}")
    frame_mask = torch.as_tensor(batch["frame_mask"])
    inputs: dict[str, Any] = {
        "features": {name: torch.as_tensor(batch[name]) for name in config.modality_names},
        "frame_mask": frame_mask,
    }
    if "modality_mask" in batch:
        inputs["modality_mask"] = torch.as_tensor(batch["modality_mask"])
    if "start_frame" in batch:
        start = torch.as_tensor(batch["start_frame"])
        inputs["start_frame"] = start.reshape(-1) if start.ndim == 0 else start
    if config.given_tracks:
        inputs["given_tracks"] = select_given_tracks(batch["tracks"], config)
    return inputs


class BatchLoss:
    """`loss_fn(model, batch)` for a generic trainer, over seqwin-style window batches.

    Splits the batch into model inputs and targets (the track table is used only as targets,
    plus the configured given tracks for edit completion), runs the model, scores it.
    """

    def __init__(self, config: MultiTrackConfig, loss: MultiTrackLoss | None = None):
        self.config = config
        self.loss = loss or MultiTrackLoss()

    def __call__(self, model: nn.Module, batch: dict[str, Any]):
        inputs = model_inputs(batch, self.config)
        outputs = model(**inputs)
        targets = split_tracks(batch["tracks"], self.config)
        targets = {k: v.to(outputs["active"].device) for k, v in targets.items()}
        return self.loss(outputs, targets, inputs["frame_mask"])
