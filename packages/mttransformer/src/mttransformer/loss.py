"""The multi-track loss: every term honours the padding mask, and the asset and regression
terms count only frames where the track is truly active.

Each term is a sum over the elements that contribute, divided by how many contribute in the
whole batch (not a mean of per-frame means), so a frame with many active tracks weighs more
than a frame with one, and a batch with nothing to score gives exactly 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from mttransformer.config import N_REGRESSION, REGRESSION_NAMES
from mttransformer.errors import ConfigError, InputShapeError


@dataclass
class LossConfig:
    active_loss: str = "ce"  # "ce" or "focal" (most tracks are off most of the time)
    focal_gamma: float = 2.0
    active_class_weights: tuple[float, float] | None = None  # (off, on); used by ce and focal
    regression_loss: str = "smooth_l1"  # or "mse"
    smooth_l1_beta: float = 0.1  # in normalised units: 0.1 = 10 % zoom or crop
    parameter_weights: tuple[float, ...] = (1.0,) * N_REGRESSION  # scale, pos_x, ..., crop_bottom
    active_weight: float = 1.0
    asset_weight: float = 1.0
    regression_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.active_class_weights is not None:
            self.active_class_weights = tuple(float(w) for w in self.active_class_weights)
        self.parameter_weights = tuple(float(w) for w in self.parameter_weights)

        def fail(message: str) -> None:
            raise ConfigError(f"LossConfig: {message}")

        if self.active_loss not in ("ce", "focal"):
            fail(f"active_loss={self.active_loss!r}; choose 'ce' or 'focal'")
        if self.regression_loss not in ("smooth_l1", "mse"):
            fail(f"regression_loss={self.regression_loss!r}; choose 'smooth_l1' or 'mse'")
        if self.active_class_weights is not None and (
            len(self.active_class_weights) != 2 or min(self.active_class_weights) < 0
        ):
            fail(f"active_class_weights={self.active_class_weights} must be two values >= 0")
        if len(self.parameter_weights) != N_REGRESSION or min(self.parameter_weights) < 0:
            fail(
                f"parameter_weights needs {N_REGRESSION} values >= 0 "
                f"({', '.join(REGRESSION_NAMES)})"
            )
        if self.focal_gamma < 0 or self.smooth_l1_beta <= 0:
            fail("focal_gamma must be >= 0 and smooth_l1_beta > 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class MultiTrackLoss(nn.Module):
    def __init__(self, config: LossConfig | None = None):
        super().__init__()
        self.config = config or LossConfig()
        weights = self.config.active_class_weights
        self.register_buffer(
            "class_weights", torch.tensor(weights if weights else (1.0, 1.0)), persistent=False
        )
        self.register_buffer(
            "parameter_weights", torch.tensor(self.config.parameter_weights), persistent=False
        )

    def forward(
        self,
        outputs: dict[str, torch.Tensor],
        targets: dict[str, torch.Tensor],
        frame_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """outputs from the model, targets from `split_tracks`, frame_mask (B, L).

        Returns (total, {"active", "asset", "regression"}); the components are detached.
        """
        cfg = self.config
        active_logits = outputs["active"]  # (B, L, P, 2)
        B, L, P, _ = active_logits.shape
        for key, shape in (
            ("active", (B, L, P)),
            ("asset", (B, L, P)),
            ("regression", (B, L, P, N_REGRESSION)),
        ):
            if tuple(targets[key].shape) != shape:
                raise InputShapeError(
                    f"targets[{key!r}] has shape {tuple(targets[key].shape)} but the outputs need "
                    f"{shape} (outputs['active'] is {tuple(active_logits.shape)})"
                )
        if tuple(frame_mask.shape) != (B, L):
            raise InputShapeError(
                f"frame_mask has shape {tuple(frame_mask.shape)} but the outputs need {(B, L)}"
            )
        real = frame_mask.bool() if frame_mask.dtype == torch.bool else frame_mask != 0
        scored = real[..., None].expand(B, L, P)  # (B, L, P) every track of a real frame
        active_target = targets["active"].long()
        on = scored & (active_target == 1)  # (B, L, P) truly active track-frames

        # Boolean indexing picks only contributing elements, so whatever sits in padded rows
        # (even inf) never enters a sum or a gradient.
        active = self._active_term(active_logits[scored].float(), active_target[scored])
        asset = F.cross_entropy(
            outputs["asset"][on].float(), targets["asset"][on].long(), reduction="sum"
        ) / on.sum().clamp_min(1)
        regression = self._regression_term(
            outputs["regression"][on].float(), targets["regression"][on].float()
        )
        total = (
            cfg.active_weight * active
            + cfg.asset_weight * asset
            + cfg.regression_weight * regression
        )
        components = {
            "active": active.detach(),
            "asset": asset.detach(),
            "regression": regression.detach(),
        }
        return total, components

    def _active_term(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """logits (n, 2), target (n,) -> sum of weighted (focal) CE / n."""
        ce = F.cross_entropy(logits, target, reduction="none")  # (n,)
        if self.config.active_loss == "focal":
            p_true = torch.exp(-ce)
            ce = (1.0 - p_true) ** self.config.focal_gamma * ce
        ce = ce * self.class_weights.to(ce.device)[target]
        return ce.sum() / max(target.numel(), 1)

    def _regression_term(self, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(n, 7) each -> sum of weighted per-parameter losses / (n * 7)."""
        if self.config.regression_loss == "mse":
            per = F.mse_loss(predicted, target, reduction="none")
        else:
            per = F.smooth_l1_loss(
                predicted, target, reduction="none", beta=self.config.smooth_l1_beta
            )
        return (per * self.parameter_weights.to(per.device)).sum() / max(per.numel(), 1)
