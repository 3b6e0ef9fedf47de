"""Between the track table's (..., N*9) layout and the model's targets and outputs.

A track block is the shared layout (`trackcore.layout`): active (0/1), asset (an
`AssetRole`), then scale, pos_x, pos_y and the four crops in raw units. The model sees
regression targets normalised as (raw - offset) / scale, so an inactive track's neutral block
(scale 100, the rest 0) is all zeros.
"""

from __future__ import annotations

from typing import Any

import torch

from mttransformer.config import NEUTRAL_TRACK, TRACK_WIDTH, MultiTrackConfig
from mttransformer.errors import InputShapeError
from trackcore import ACTIVE, ASSET, PARAMETERS, AssetRole

FIRST_ROLE = AssetRole.NONE + 1  # a track on screen shows something: never role "none"


def _as_tensor(tracks: Any, name: str) -> torch.Tensor:
    tracks = torch.as_tensor(tracks)
    if not tracks.is_floating_point():
        tracks = tracks.float()
    if tracks.ndim < 1:
        raise InputShapeError(f"{name} must have a last dimension of tracks*9, got a scalar")
    return tracks


def _blocks(tracks: torch.Tensor, n_tracks: int, name: str) -> torch.Tensor:
    """(..., N*9) -> (..., N, 9), with an error naming both shapes when the width is wrong."""
    expected = n_tracks * TRACK_WIDTH
    if tracks.shape[-1] != expected:
        raise InputShapeError(
            f"{name} has shape {tuple(tracks.shape)} but the model expects (..., {expected}) "
            f"= {n_tracks} tracks x {TRACK_WIDTH} values"
        )
    return tracks.reshape(*tracks.shape[:-1], n_tracks, TRACK_WIDTH)


def _index(indices: tuple[int, ...], device: torch.device) -> torch.Tensor:
    return torch.tensor(indices, dtype=torch.long, device=device)


def split_tracks(tracks: Any, config: MultiTrackConfig) -> dict[str, torch.Tensor]:
    """Targets for the config's predicted tracks from a (..., N*9) track array.

    Returns {"active": (..., P) long, "asset": (..., P) long, "regression": (..., P, 7) float},
    P = len(config.predicted_tracks), regression normalised by the config.
    """
    blocks = _blocks(_as_tensor(tracks, "tracks"), config.n_tracks, "tracks")
    blocks = blocks.index_select(-2, _index(config.predicted_tracks, blocks.device))
    asset = blocks[..., ASSET].round().long()
    if asset.numel() and (asset.min() < 0 or asset.max() >= config.n_assets):
        bad = asset[(asset < 0) | (asset >= config.n_assets)].unique().tolist()
        raise InputShapeError(f"tracks hold asset ids {bad} outside 0..{config.n_assets - 1}")
    offset = blocks.new_tensor(config.regression_offset)
    scale = blocks.new_tensor(config.regression_scale)
    return {
        "active": (blocks[..., ACTIVE] > 0.5).long(),
        "asset": asset,
        "regression": ((blocks[..., PARAMETERS] - offset) / scale).float(),
    }


def select_given_tracks(tracks: Any, config: MultiTrackConfig) -> torch.Tensor:
    """The (..., K*9) given-track input for edit completion, cut from a full (..., N*9) array.

    Only the config's given tracks are copied, so the predicted tracks cannot reach the model.
    """
    tracks = _as_tensor(tracks, "tracks")
    blocks = _blocks(tracks, config.n_tracks, "tracks")
    given = blocks.index_select(-2, _index(config.given_tracks, blocks.device))
    return given.reshape(*tracks.shape[:-1], len(config.given_tracks) * TRACK_WIDTH)


def _check_outputs(outputs: dict[str, torch.Tensor], config: MultiTrackConfig) -> None:
    active_logits = outputs["active"]  # (B, L, P, 2)
    if active_logits.ndim != 4 or len(config.predicted_tracks) != active_logits.shape[2]:
        raise InputShapeError(
            f"outputs['active'] has shape {tuple(active_logits.shape)} but the config predicts "
            f"{len(config.predicted_tracks)} tracks"
        )
    if outputs["asset"].shape[-1] != config.n_assets:
        raise InputShapeError(
            f"outputs['asset'] has {outputs['asset'].shape[-1]} roles but the config has "
            f"n_assets={config.n_assets}"
        )


def denormalised_regression(regression: torch.Tensor, config: MultiTrackConfig) -> torch.Tensor:
    """(..., 7) normalised regression outputs -> raw units (raw = value * scale + offset)."""
    offset = torch.tensor(config.regression_offset, device=regression.device)
    scale = torch.tensor(config.regression_scale, device=regression.device)
    return regression.float() * scale + offset


def output_probabilities(
    outputs: dict[str, torch.Tensor], config: MultiTrackConfig
) -> dict[str, torch.Tensor]:
    """Model outputs -> what they say before any decision, for smoothing and calibration:

    {"active": (B, L, P) P(on), "asset": (B, L, P, n_assets) role probabilities (softmax),
     "regression": (B, L, P, 7) parameters in raw units}, float32, for the P =
    len(config.predicted_tracks) predicted tracks. `decode_outputs` takes its hard decisions
    from the same values.
    """
    _check_outputs(outputs, config)
    return {
        "active": torch.softmax(outputs["active"].float(), -1)[..., 1],
        "asset": torch.softmax(outputs["asset"].float(), -1),
        "regression": denormalised_regression(outputs["regression"], config),
    }


def decode_outputs(
    outputs: dict[str, torch.Tensor],
    config: MultiTrackConfig,
    *,
    given_tracks: torch.Tensor | None = None,
    frame_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Model outputs -> a (B, L, N*9) prediction in the track table's layout and raw units.

    Logically consistent by construction: a track predicted inactive gets the neutral block;
    a track predicted active gets its asset argmax over the real roles (never "none") and its
    regression (as `output_probabilities` gives them). Given tracks are copied from
    `given_tracks` (neutral when not passed); padded frames (frame_mask 0) are neutral.
    """
    _check_outputs(outputs, config)
    active_logits = outputs["active"]  # (B, L, P, 2)
    B, L = active_logits.shape[:2]
    device = active_logits.device
    active = active_logits.argmax(-1)  # (B, L, P)
    asset = outputs["asset"][..., FIRST_ROLE:].argmax(-1) + FIRST_ROLE  # (B, L, P), never none
    regression = denormalised_regression(outputs["regression"], config)  # (B, L, P, 7)
    block = torch.cat([active[..., None].float(), asset[..., None].float(), regression], dim=-1)
    neutral = torch.tensor(NEUTRAL_TRACK, device=device)  # (9,)
    block = torch.where(active[..., None] == 1, block, neutral)  # (B, L, P, 9)

    full = neutral.expand(B, L, config.n_tracks, TRACK_WIDTH).clone()  # (B, L, N, 9)
    full[:, :, _index(config.predicted_tracks, device)] = block
    if given_tracks is not None and config.given_tracks:
        K = len(config.given_tracks)
        expected = (B, L, K * TRACK_WIDTH)
        if tuple(given_tracks.shape) != expected:
            raise InputShapeError(
                f"given_tracks has shape {tuple(given_tracks.shape)} "
                f"but the outputs need {expected}"
            )
        full[:, :, _index(config.given_tracks, device)] = given_tracks.reshape(
            B, L, K, TRACK_WIDTH
        ).to(full.dtype)
    if frame_mask is not None:
        real = torch.as_tensor(frame_mask, device=device).bool()  # (B, L)
        full = torch.where(real[..., None, None], full, neutral)
    return full.reshape(B, L, config.n_tracks * TRACK_WIDTH)
