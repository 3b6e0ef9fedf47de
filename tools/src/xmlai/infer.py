"""Run a trained model over every window of some edits and stitch per-frame outputs back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xmlai.editor_style import EditorStyle
from xmlai.smooth import SmoothingConfig, smooth_tracks


@dataclass
class FramePredictions:
    """One edit's stitched model outputs (raw units), before smoothing."""

    active_prob: np.ndarray  # (n, N)
    asset_prob: np.ndarray  # (n, N, 10)
    regression: np.ndarray  # (n, N, 7) in table units (%, frame fractions)

    def smoothed(
        self, config: SmoothingConfig, style: EditorStyle | None = None, fps: float = 30.0
    ) -> np.ndarray:
        return smooth_tracks(
            self.active_prob, self.asset_prob, self.regression, config, style=style, fps=fps
        )


def predict_edits(model, dataset, batch_size: int = 32) -> dict[int, FramePredictions]:
    """dataset: a seqwin WindowDataset -> {edit_index: FramePredictions}."""
    from seqwin import stitch

    stitched = stitch(window_outputs(model, dataset, batch_size), dataset.index, dataset.n_frames)
    return {edit: frame_predictions(flat, model.config) for edit, flat in stitched.items()}


def window_outputs(model, dataset, batch_size: int = 32, first_frame: int = 0) -> np.ndarray:
    """(W, L, P*18) per window: P(active), the 10 asset shares and the 7 parameters (table
    units) of each predicted track. `first_frame`: where the dataset's frame 0 sits in the
    recording, for a model that encodes absolute positions."""
    import torch

    from mttransformer import model_inputs

    cfg = model.config
    scale = np.asarray(cfg.regression_scale, dtype=np.float32)
    offset = np.asarray(cfg.regression_offset, dtype=np.float32)
    chunks = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = dataset.gather(np.arange(start, min(start + batch_size, len(dataset))))
            if first_frame and "start_frame" in batch:
                batch["start_frame"] = np.asarray(batch["start_frame"]) + first_frame
            tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in batch.items()}
            out = model(**model_inputs(tensors, cfg))
            active = torch.softmax(out["active"].float(), -1)[..., 1].numpy()  # (B, L, P)
            asset = torch.softmax(out["asset"].float(), -1).numpy()  # (B, L, P, 10)
            regression = out["regression"].float().numpy() * scale + offset  # (B, L, P, 7)
            chunks.append(
                np.concatenate([active[..., None], asset, regression], axis=-1).reshape(
                    active.shape[0], active.shape[1], -1
                )
            )
    return np.concatenate(chunks)


def frame_predictions(flat: np.ndarray, cfg) -> FramePredictions:
    """(n, P*18) stitched outputs -> FramePredictions over all N tracks (the ones the model
    does not predict stay off, neutral)."""
    full = _full_tracks(flat.reshape(len(flat), len(cfg.predicted_tracks), 18), cfg)
    return FramePredictions(full[..., 0], full[..., 1:11], full[..., 11:18])


def _full_tracks(pred: np.ndarray, cfg) -> np.ndarray:
    """(n, P, 18) for the predicted tracks -> (n, N, 18), given tracks left off/neutral."""
    n = len(pred)
    full = np.zeros((n, cfg.n_tracks, 18), dtype=np.float32)
    full[..., 1] = 1.0  # asset "none" for tracks this model does not predict
    full[..., 11:18] = np.asarray(cfg.regression_offset, dtype=np.float32)
    full[:, list(cfg.predicted_tracks)] = pred
    return full
