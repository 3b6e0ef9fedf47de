"""Run a trained model over every window of some edits and stitch per-frame outputs back.

A track's stitched outputs are one row of `output_width(config)` values: P(active), the
`config.n_assets` asset shares and the regression parameters in table units, as
`mttransformer.output_probabilities` gives them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackcore import N_PARAMETERS, AssetRole
from xmlai.editor_style import EditorStyle
from xmlai.smooth import SmoothingConfig, smooth_tracks


@dataclass
class FramePredictions:
    """One edit's stitched model outputs (raw units), before smoothing."""

    active_prob: np.ndarray  # (n, N)
    asset_prob: np.ndarray  # (n, N, n_assets)
    regression: np.ndarray  # (n, N, 7) in table units (%, frame fractions)

    def smoothed(
        self, config: SmoothingConfig, style: EditorStyle | None = None, fps: float = 30.0
    ) -> np.ndarray:
        return smooth_tracks(
            self.active_prob, self.asset_prob, self.regression, config, style=style, fps=fps
        )


def prediction_overlap(window: int, overlap: int) -> int:
    """The overlap of the windows a model predicts on: at least half a window. Stitching leans
    on the window where a frame is most central, so each frame then has a quarter window of
    context on either side; a silence near the edge of a window with less is seen cut short,
    and its length is what decides whether it is cut. Training keeps `data.overlap`."""
    return max(overlap, window // 2)


def prediction_windows(store, edits, window: int, overlap: int):
    """A seqwin WindowDataset over `edits` (None: all) with the prediction overlap."""
    from seqwin import WindowDataset

    return WindowDataset(
        store, edits=edits, length=window, overlap=prediction_overlap(window, overlap)
    )


def output_width(cfg) -> int:
    """Values per track in a row of outputs: P(active), n_assets shares, the parameters."""
    return 1 + cfg.n_assets + N_PARAMETERS


def split_outputs(rows: np.ndarray, n_assets: int):
    """(..., output_width) -> P(active) (...), asset shares (..., n_assets), parameters
    (..., 7): the parts of one track's output rows."""
    return rows[..., 0], rows[..., 1 : 1 + n_assets], rows[..., 1 + n_assets :]


def predict_edits(model, dataset, batch_size: int = 32) -> dict[int, FramePredictions]:
    """dataset: a seqwin WindowDataset -> {edit_index: FramePredictions}."""
    from seqwin import stitch

    stitched = stitch(window_outputs(model, dataset, batch_size), dataset.index, dataset.n_frames)
    return {edit: frame_predictions(flat, model.config) for edit, flat in stitched.items()}


def window_outputs(model, dataset, batch_size: int = 32, first_frame: int = 0) -> np.ndarray:
    """(W, L, P * output_width): per predicted track P(active), the asset shares and the
    parameters (table units), from `mttransformer.output_probabilities`. `first_frame`: where
    the dataset's frame 0 sits in the recording, for a model that encodes absolute positions."""
    import torch

    from mttransformer import model_inputs, output_probabilities

    cfg = model.config
    chunks = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = dataset.gather(np.arange(start, min(start + batch_size, len(dataset))))
            if first_frame and "start_frame" in batch:
                batch["start_frame"] = np.asarray(batch["start_frame"]) + first_frame
            tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in batch.items()}
            probs = output_probabilities(model(**model_inputs(tensors, cfg)), cfg)
            active = probs["active"].numpy()  # (B, L, P)
            rows = np.concatenate(
                [active[..., None], probs["asset"].numpy(), probs["regression"].numpy()], axis=-1
            )  # (B, L, P, output_width)
            chunks.append(rows.reshape(active.shape[0], active.shape[1], -1))
    return np.concatenate(chunks)


def frame_predictions(flat: np.ndarray, cfg) -> FramePredictions:
    """(n, P * output_width) stitched outputs -> FramePredictions over all N tracks (the ones
    the model does not predict stay off, neutral)."""
    width = output_width(cfg)
    full = _full_tracks(flat.reshape(len(flat), len(cfg.predicted_tracks), width), cfg)
    return FramePredictions(*split_outputs(full, cfg.n_assets))


def _full_tracks(pred: np.ndarray, cfg) -> np.ndarray:
    """(n, P, width) for the predicted tracks -> (n, N, width), given tracks left off/neutral."""
    n = len(pred)
    full = np.zeros((n, cfg.n_tracks, output_width(cfg)), dtype=np.float32)
    _, assets, params = split_outputs(full, cfg.n_assets)  # views
    assets[..., AssetRole.NONE] = 1.0  # asset "none" for tracks this model does not predict
    params[...] = np.asarray(cfg.regression_offset, dtype=np.float32)  # raw value of a neutral 0
    full[:, list(cfg.predicted_tracks)] = pred
    return full
