"""Shared fixtures: tiny configs and synthetic window batches (CPU, milliseconds each)."""

from __future__ import annotations

import pytest
import torch

from mttransformer import MultiTrackConfig

# Tiny models gain nothing from threads, and the CI machine's cores are shared.
torch.set_num_threads(1)

NEUTRAL = [0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def _tiny_config(**overrides) -> MultiTrackConfig:
    fields = dict(
        modalities={"audio": 3, "visual": 5},
        n_tracks=4,
        d_model=16,
        n_heads=2,
        n_layers=2,
        d_ff=32,
        head_hidden=8,
        dropout=0.0,
        modality_dropout=0.0,
    )
    fields.update(overrides)
    return MultiTrackConfig(**fields)


def _random_tracks(B: int, L: int, n_tracks: int, generator: torch.Generator) -> torch.Tensor:
    """(B, L, N*9) in raw units, logically consistent: inactive blocks are neutral."""
    active = torch.rand(B, L, n_tracks, generator=generator) < 0.5
    asset = torch.randint(1, 10, (B, L, n_tracks), generator=generator).float()
    scale = 50 + 100 * torch.rand(B, L, n_tracks, generator=generator)
    pos = torch.rand(B, L, n_tracks, 2, generator=generator) - 0.5
    crops = 30 * torch.rand(B, L, n_tracks, 4, generator=generator)
    block = torch.cat(
        [active[..., None].float(), asset[..., None], scale[..., None], pos, crops], dim=-1
    )
    block = torch.where(active[..., None], block, torch.tensor(NEUTRAL))
    return block.reshape(B, L, n_tracks * 9)


def _batch(
    config: MultiTrackConfig,
    B: int = 3,
    L: int = 10,
    seed: int = 0,
    n_real: list[int] | None = None,
) -> dict[str, torch.Tensor]:
    """A collated window batch in seqwin's layout; padded rows are zeros everywhere."""
    g = torch.Generator().manual_seed(seed)
    n_real = n_real if n_real is not None else [L - 3 * (b % 2) for b in range(B)]
    frame_mask = torch.zeros(B, L)
    for b, n in enumerate(n_real):
        frame_mask[b, :n] = 1.0
    batch = {
        name: torch.randn(B, L, width, generator=g) * frame_mask[..., None]
        for name, width in config.modalities.items()
    }
    batch["tracks"] = _random_tracks(B, L, config.n_tracks, g) * frame_mask[..., None]
    batch["modality_mask"] = frame_mask[..., None].expand(B, L, len(config.modalities)).clone()
    batch["frame_mask"] = frame_mask
    batch["start_frame"] = torch.randint(0, 500, (B,), generator=g)
    batch["edit_index"] = torch.arange(B)
    return batch


@pytest.fixture
def tiny_config():
    return _tiny_config


@pytest.fixture
def make_batch():
    return _batch


@pytest.fixture
def random_tracks():
    return _random_tracks


@pytest.fixture
def neutral():
    return torch.tensor(NEUTRAL)
