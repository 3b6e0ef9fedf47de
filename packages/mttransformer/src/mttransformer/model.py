"""The multi-track transformer, in one file (nanoGPT style).

features (B, L, D_m) per modality --embed--> (B, L, S, d)  S streams: modalities (+ given tracks)
                                  --fuse-->  (B, L, d)     gated sum by default
                                  --count--> (B, L, d)     + how long each learned condition
                                                           has held and will hold (run_channels)
                                  --pool-->  (B, L, d)     + mean/min/max over +-r frames
                                                           (context_frames; optional)
                                  --encode-> (B, L, d)     pre-LN blocks on SDPA, rotary
                                                           positions inside the window
                                                           (+ a depthwise conv, conv_kernel)
+ one learned embedding per predicted track (B, L, P, d)
                                  --heads--> active (B, L, P, 2), asset (B, L, P, 10),
                                             regression (B, L, P, 7)

The target tracks are never an input: the only track values the model can take are the
configured given tracks (edit completion), and they are disjoint from the predicted ones.
Nor is the window's absolute start frame: positions are relative (rotary) or counted from the
window's first frame, so the same content gives the same outputs anywhere in a recording.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from mttransformer.config import N_REGRESSION, TRACK_WIDTH, MultiTrackConfig
from mttransformer.errors import InputShapeError
from trackcore import ACTIVE, ASSET, PARAMETERS


class SelfAttention(nn.Module):
    def __init__(self, config: MultiTrackConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.proj_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, rotary=None) -> torch.Tensor:
        B, L, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)  # 3 x (B, L, d)
        q, k, v = (t.view(B, L, self.n_heads, d // self.n_heads).transpose(1, 2) for t in (q, k, v))
        if rotary is not None:  # q.k then depends on the offset between frames only
            q, k = rotate(q, *rotary), rotate(k, *rotary)
        # allowed (B, 1, L, L): True where a query may look at a key (real keys, and itself)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0
        )  # (B, H, L, d/H)
        y = y.transpose(1, 2).reshape(B, L, d)
        return self.proj_dropout(self.proj(y))


class FeedForward(nn.Module):
    def __init__(self, config: MultiTrackConfig):
        super().__init__()
        self.up = nn.Linear(config.d_model, config.d_ff)
        self.down = nn.Linear(config.d_ff, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.gelu(self.up(x))))


class LocalConv(nn.Module):
    """Conformer's convolution module. Editing rules hinge on exact local timing (a silence
    that lasts 1.5 s, an onset this frame); a depthwise convolution gets that from a few
    weights, where attention over sinusoidal positions learns it slowly."""

    def __init__(self, config: MultiTrackConfig):
        super().__init__()
        d, k = config.d_model, config.conv_kernel
        self.pointwise_in = nn.Linear(d, 2 * d)
        self.depthwise = nn.Conv1d(d, d, k, padding=k // 2, groups=d)
        self.norm = nn.LayerNorm(d)
        self.pointwise_out = nn.Linear(d, d)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        x = F.glu(self.pointwise_in(x), dim=-1)  # (B, L, d)
        x = x.masked_fill(~real[..., None], 0.0)  # padding reads as silence, not as values
        x = self.depthwise(x.transpose(1, 2)).transpose(1, 2)  # (B, L, d)
        return self.dropout(self.pointwise_out(F.silu(self.norm(x))))


class Block(nn.Module):
    def __init__(self, config: MultiTrackConfig):
        super().__init__()
        self.ln_attn = nn.LayerNorm(config.d_model)
        self.attn = SelfAttention(config)
        if config.conv_kernel:
            self.ln_conv = nn.LayerNorm(config.d_model)
            self.conv = LocalConv(config)
        else:
            self.conv = None
        self.ln_ff = nn.LayerNorm(config.d_model)
        self.ff = FeedForward(config)

    def forward(self, x, allowed: torch.Tensor, real: torch.Tensor, rotary=None) -> torch.Tensor:
        x = x + self.attn(self.ln_attn(x), allowed, rotary)
        if self.conv is not None:
            x = x + self.conv(self.ln_conv(x), real)
        return x + self.ff(self.ln_ff(x))


class GivenTrackEncoder(nn.Module):
    """(B, L, K*9) raw given tracks -> (B, L, d): one-hot active and asset, normalised params."""

    def __init__(self, config: MultiTrackConfig):
        super().__init__()
        self.n_given = len(config.given_tracks)
        self.n_assets = config.n_assets
        self.register_buffer("offset", torch.tensor(config.regression_offset), persistent=False)
        self.register_buffer("scale", torch.tensor(config.regression_scale), persistent=False)
        per_track = 2 + config.n_assets + N_REGRESSION
        self.embed = nn.Linear(self.n_given * per_track, config.d_model)

    def forward(self, given: torch.Tensor) -> torch.Tensor:
        B, L, _ = given.shape
        blocks = given.view(B, L, self.n_given, TRACK_WIDTH)  # (B, L, K, 9)
        active = F.one_hot((blocks[..., ACTIVE] > 0.5).long(), 2)  # (B, L, K, 2)
        asset = blocks[..., ASSET].round().long().clamp(0, self.n_assets - 1)
        asset = F.one_hot(asset, self.n_assets)  # (B, L, K, n_assets)
        params = (blocks[..., PARAMETERS] - self.offset) / self.scale  # (B, L, K, 7)
        encoded = torch.cat([active.to(given.dtype), asset.to(given.dtype), params], dim=-1)
        return self.embed(encoded.flatten(2))  # (B, L, d)


def window_statistics(x: torch.Tensor, real: torch.Tensor, radius: int) -> torch.Tensor:
    """(B, L, d) frames, (B, L) bool real -> (B, L, 3d): per channel, the mean, min and max
    over the real frames within +-radius of each frame (zeros where there is none)."""
    seen = real[:, None, :]  # (B, 1, L)
    xt = x.transpose(1, 2).masked_fill(~seen, 0.0)  # (B, d, L): padding never counted
    width = 2 * radius + 1
    share = F.avg_pool1d(seen.to(x.dtype), width, 1, radius)  # real frames / width
    total = F.avg_pool1d(xt, width, 1, radius)  # sum / width
    mean = total / share.clamp_min(1.0 / width)
    high = F.max_pool1d(xt.masked_fill(~seen, -torch.inf), width, 1, radius)
    low = -F.max_pool1d((-xt).masked_fill(~seen, -torch.inf), width, 1, radius)
    stats = torch.cat([mean, low, high], dim=1).masked_fill(share == 0, 0.0)  # (B, 3d, L)
    return stats.transpose(1, 2)


class ContextPool(nn.Module):
    """(B, L, d) fused frames -> (B, L, d): each frame beside the window statistics of its
    neighbours for each radius in config.context_frames, mixed back to d. The gradient-boosted
    baseline wins with exactly such windowed statistics; attention learns "quiet for the last
    2 s" slowly from a few hundred edits, where a pooling layer states it."""

    def __init__(self, config: MultiTrackConfig):
        super().__init__()
        self.radii = config.context_frames
        self.mix = nn.Linear((1 + 3 * len(self.radii)) * config.d_model, config.d_model)

    def forward(self, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        parts = [x] + [window_statistics(x, real, r) for r in self.radii]
        return self.mix(torch.cat(parts, dim=-1))  # (B, L, d)


def run_lengths(gate: torch.Tensor) -> torch.Tensor:
    """(B, L, C) gates in [0, 1] -> (B, L, C) soft run lengths: c_t = g_t * (c_{t-1} + 1), so
    with hard gates, the number of frames up to t in the current run of ones.

    A loop over frames: exact, and on a CPU 40x faster than the (L, L) sum in log space for
    the 200-frame windows training uses (6 ms against 256 ms, forward and backward)."""
    counts, count = [], torch.zeros_like(gate[:, 0])  # (B, C)
    for frame in gate.unbind(dim=1):
        count = frame * (count + 1.0)
        counts.append(count)
    return torch.stack(counts, dim=1)  # (B, L, C)


# Where the run lengths are read: a soft step every 4 frames up to 126 (4 s at 30 fps), each
# free to move. Silences an editor cuts and the margins kept lie within that range.
RUN_STEPS = tuple(2.0 + 4.0 * k for k in range(32))
RUN_STEP_SHARPNESS = 0.5  # per frame: a step turns over about 8 frames


class RunCounters(nn.Module):
    """(B, L, d) fused frames -> (B, L, d) with, for C learned conditions, how many frames each
    has held up to this one, how many it will still hold, and the run's whole length, each
    read through a bank of learned steps ("has it lasted at least 68 frames?").

    Editors' rules hinge on durations: dead air is cut once a silence lasts 2.2 s, and a
    silence of 2.1 s is kept. Attention and convolutions estimate such a length to a few
    frames at best; a gated counter (c_t = g_t * (c_{t-1} + 1), forwards and backwards)
    states it to the frame, its gates learn which condition to count, and its steps where to
    draw the line, as a tree's split would."""

    def __init__(self, config: MultiTrackConfig):
        super().__init__()
        C = config.run_channels
        self.norm = nn.LayerNorm(config.d_model)
        self.gate = nn.Linear(config.d_model, C)
        self.steps = nn.Parameter(torch.tensor(RUN_STEPS).repeat(3 * C, 1))  # (3C, K)
        self.mix = nn.Linear(3 * C * len(RUN_STEPS), config.d_model)

    def reset_gates(self) -> None:
        """Logits of about +-4 from the start: a gate of 0.95 counts 55 frames as 18.8 and 56
        as 18.9, one of 0.999 as 53.5 and 54.5; a count is only exact where its gate saturates."""
        nn.init.normal_(self.gate.weight, std=4.0 / math.sqrt(self.gate.in_features))
        nn.init.zeros_(self.gate.bias)

    def forward(self, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        counts = self.counts(x, real)  # (B, L, 3C)
        past = torch.sigmoid(RUN_STEP_SHARPNESS * (counts[..., None] - self.steps))  # (B,L,3C,K)
        return x + self.mix(past.flatten(2))  # (B, L, d)

    def counts(self, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """(B, L, d), (B, L) -> (B, L, 3C): frames held so far, still to hold, and in all."""
        gate = torch.sigmoid(self.gate(self.norm(x)))  # (B, L, C)
        gate = gate.masked_fill(~real[..., None], 0.0)  # padding ends every run
        held = run_lengths(gate)  # (B, L, C) this frame included
        ahead = run_lengths(gate.flip(1)).flip(1)  # (B, L, C) from here to the run's end
        whole = held + ahead - gate  # (B, L, C) this frame counted once
        return torch.cat([held, ahead, whole], dim=-1)


class Fusion(nn.Module):
    """(B, L, S, d) stream embeddings + (B, L, S) stream mask -> (B, L, d).

    gated:  sum_s mask_s * sigmoid(W_s e_s + b_s) * e_s   (gates returned for inspection)
    concat: W [mask_1 e_1, ..., mask_S e_S] + b
    add:    sum_s mask_s * e_s
    A masked stream contributes nothing in all three.
    """

    def __init__(self, config: MultiTrackConfig, n_streams: int):
        super().__init__()
        self.kind = config.fusion
        d = config.d_model
        if self.kind == "gated":
            self.gates = nn.ModuleList(nn.Linear(d, d) for _ in range(n_streams))
        elif self.kind == "concat":
            self.mix = nn.Linear(n_streams * d, d)

    def forward(
        self, streams: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        mask = mask[..., None].to(streams.dtype)  # (B, L, S, 1)
        if self.kind == "gated":
            gates = torch.stack(
                [torch.sigmoid(gate(streams[:, :, s])) for s, gate in enumerate(self.gates)], dim=2
            )  # (B, L, S, d)
            gates = gates * mask
            return (gates * streams).sum(dim=2), gates
        if self.kind == "concat":
            return self.mix((streams * mask).flatten(2)), None
        return (streams * mask).sum(dim=2), None


def sinusoidal_positions(frames: torch.Tensor, d_model: int) -> torch.Tensor:
    """(..., L) frame numbers -> (..., L, d_model), the Transformer paper's encoding."""
    half = torch.arange(0, d_model, 2, device=frames.device, dtype=torch.float32)
    inv_freq = torch.exp(-math.log(10000.0) * half / d_model)  # (d/2,)
    angles = frames.to(torch.float32)[..., None] * inv_freq  # (B, L, d/2)
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(-2)  # (B, L, d)


def rotary_angles(length: int, head_dim: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin), each (L, head_dim/2): frame i turns pair j by i * 10000^(-2j/head_dim)."""
    half = torch.arange(0, head_dim, 2, device=device, dtype=torch.float32)
    inv_freq = torch.exp(-math.log(10000.0) * half / head_dim)  # (hd/2,)
    angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv_freq
    return angles.cos(), angles.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """(B, H, L, hd) queries or keys, each pair of channels turned by its frame's angle."""
    even, odd = x[..., 0::2], x[..., 1::2]  # (B, H, L, hd/2)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


class MultiTrackTransformer(nn.Module):
    def __init__(self, config: MultiTrackConfig):
        super().__init__()
        config.validate()
        self.config = config
        d = config.d_model
        self.modality_names = config.modality_names
        self.embed = nn.ModuleDict({name: nn.Linear(w, d) for name, w in config.modalities.items()})
        self.given_encoder = GivenTrackEncoder(config) if config.given_tracks else None
        n_streams = len(self.modality_names) + (1 if config.given_tracks else 0)
        self.fusion = Fusion(config, n_streams)
        self.counters = RunCounters(config) if config.run_channels else None
        self.context = ContextPool(config) if config.context_frames else None
        if config.positional == "learned":
            self.positions = nn.Embedding(config.max_frames, d)
        self.input_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_final = nn.LayerNorm(d)
        # heads: one shared trunk over (frame state + the track's own embedding)
        n_predicted = len(config.predicted_tracks)
        self.track_embedding = nn.Parameter(torch.zeros(n_predicted, d))
        self.ln_head = nn.LayerNorm(d)
        self.head_trunk = nn.Linear(d, config.head_hidden)
        self.active_head = nn.Linear(config.head_hidden, 2)
        self.asset_head = nn.Linear(config.head_hidden, config.n_assets)
        self.regression_head = nn.Linear(config.head_hidden, N_REGRESSION)
        self.apply(self._init_weights)
        nn.init.normal_(self.track_embedding, std=0.02)
        if self.counters is not None:  # self.apply above reset its gates to std 0.02
            self.counters.reset_gates()
        # GPT-2: scale the residual projections by depth so the residual stream stays O(1)
        for block in self.blocks:
            projections = [block.attn.proj, block.ff.down]
            if block.conv is not None:
                projections.append(block.conv.pointwise_out)
            for proj in projections:
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def count_parameters(self, trainable_only: bool = True) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def forward(
        self,
        features: Mapping[str, torch.Tensor],
        frame_mask: torch.Tensor,
        modality_mask: torch.Tensor | None = None,
        start_frame: torch.Tensor | None = None,
        given_tracks: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """features {name: (B, L, D_m)}, frame_mask (B, L) 1/True = real frame,
        modality_mask (B, L, M) (default: all present), start_frame (B,) long (default 0;
        checked, never read: where a window sits must not change what it predicts),
        given_tracks (B, L, K*9) raw values of config.given_tracks (edit completion only).

        Returns {"active": (B, L, P, 2), "asset": (B, L, P, n_assets), "regression":
        (B, L, P, 7)} for the P = len(config.predicted_tracks) predicted tracks, plus "gates"
        (B, L, S, d_model) with gated fusion (S = modalities, then the given-track stream).
        """
        real, modality_mask, start_frame = self._check_inputs(
            features, frame_mask, modality_mask, start_frame, given_tracks
        )
        L = real.shape[1]
        dtype = self.ln_final.weight.dtype

        # 1. one embedding per stream; masked inputs are zeroed first so NaN there cannot leak
        streams, masks = [], []
        for m, name in enumerate(self.modality_names):
            present = modality_mask[..., m] & real  # (B, L)
            x = features[name].to(dtype).masked_fill(~present[..., None], 0.0)
            streams.append(self.embed[name](x))  # (B, L, d)
            masks.append(present)
        if self.given_encoder is not None:
            given = given_tracks.to(dtype).masked_fill(~real[..., None], 0.0)
            streams.append(self.given_encoder(given))
            masks.append(real)
        streams = torch.stack(streams, dim=2)  # (B, L, S, d)
        masks = torch.stack(masks, dim=2)  # (B, L, S)
        masks = self._drop_modalities(masks)

        # 2. fuse, then place each frame in its window (start_frame is for stitching only)
        x, gates = self.fusion(streams, masks)  # (B, L, d)
        if self.counters is not None:
            x = self.counters(x, real)  # (B, L, d)
        if self.context is not None:
            x = self.context(x, real)  # (B, L, d)
        rotary = None
        if self.config.positional == "rotary":
            rotary = rotary_angles(L, self.config.d_model // self.config.n_heads, real.device)
        elif self.config.positional != "none":
            x = x + self._positions(torch.arange(L, device=real.device)).to(x.dtype)
        x = self.input_dropout(x)

        # 3. encoder; padding keys are masked out, and every query may attend to itself so a
        # window of padding only still has one finite term per softmax row (no NaN)
        eye = torch.eye(L, dtype=torch.bool, device=real.device)
        allowed = real[:, None, None, :] | eye  # (B, 1, L, L)
        for block in self.blocks:
            x = block(x, allowed, real, rotary)
        x = self.ln_final(x)  # (B, L, d)

        # 4. per-track heads
        h = x[:, :, None, :] + self.track_embedding  # (B, L, P, d)
        h = F.gelu(self.head_trunk(self.ln_head(h)))  # (B, L, P, head_hidden)
        outputs = {
            "active": self.active_head(h),  # (B, L, P, 2)
            "asset": self.asset_head(h),  # (B, L, P, n_assets)
            "regression": self.regression_head(h),  # (B, L, P, 7)
        }
        if gates is not None:
            outputs["gates"] = gates  # (B, L, S, d)
        return outputs

    def _positions(self, frames: torch.Tensor) -> torch.Tensor:
        """(L,) frames counted from the window's first -> (L, d_model)."""
        if self.config.positional == "sinusoidal":
            return sinusoidal_positions(frames, self.config.d_model)
        if len(frames) > self.config.max_frames:
            raise InputShapeError(
                f"a window of {len(frames)} frames is longer than the learned positions "
                f"(max_frames={self.config.max_frames}); use a larger max_frames"
            )
        return self.positions(frames)

    def _drop_modalities(self, masks: torch.Tensor) -> torch.Tensor:
        """Training only: hide whole modalities of a window, never all of them at once."""
        p, M = self.config.modality_dropout, len(self.modality_names)
        if not self.training or p == 0.0 or M == 0:
            return masks
        B = masks.shape[0]
        keep = torch.rand(B, M, device=masks.device) >= p  # (B, M)
        keep = keep | ~keep.any(dim=1, keepdim=True)  # a window that lost everything keeps all
        masks = masks.clone()
        masks[..., :M] &= keep[:, None, :]
        return masks

    def _check_inputs(self, features, frame_mask, modality_mask, start_frame, given_tracks):
        """Shapes and dtypes against the config; every error names both shapes."""
        if not isinstance(frame_mask, torch.Tensor) or frame_mask.ndim != 2:
            shape = tuple(frame_mask.shape) if isinstance(frame_mask, torch.Tensor) else None
            raise InputShapeError(f"frame_mask has shape {shape} but the model expects (B, L)")
        B, L = frame_mask.shape
        real = frame_mask.bool() if frame_mask.dtype == torch.bool else frame_mask != 0

        if not isinstance(features, Mapping):
            raise InputShapeError(
                f"features must be a dict of tensors keyed by modality, got {type(features)}"
            )
        if set(features) != set(self.modality_names):
            raise InputShapeError(
                f"features has keys {sorted(features)} but the model was built for modalities "
                f"{list(self.modality_names)} (track values are never a feature)"
            )
        for name in self.modality_names:
            _expect(
                features[name], f"features[{name!r}]", (B, L, self.config.modalities[name]), "float"
            )

        M = len(self.modality_names)
        if modality_mask is None:
            modality_mask = torch.ones(B, L, M, dtype=torch.bool, device=frame_mask.device)
        _expect(modality_mask, "modality_mask", (B, L, M), None)
        modality_mask = (
            modality_mask.bool() if modality_mask.dtype == torch.bool else (modality_mask != 0)
        )

        if start_frame is None:
            start_frame = torch.zeros(B, dtype=torch.long, device=frame_mask.device)
        _expect(start_frame, "start_frame", (B,), "int")

        K = len(self.config.given_tracks)
        if K:
            if given_tracks is None:
                raise InputShapeError(
                    f"this model completes edits: it needs given_tracks (B, L, {K * TRACK_WIDTH}) "
                    f"holding tracks {list(self.config.given_tracks)} (0-based)"
                )
            _expect(given_tracks, "given_tracks", (B, L, K * TRACK_WIDTH), "float")
        elif given_tracks is not None:
            raise InputShapeError(
                f"given_tracks has shape {tuple(given_tracks.shape)} but this model predicts every "
                "track from features alone (task features_to_tracks) and takes no tracks"
            )
        return real, modality_mask, start_frame

    # -- checkpoints (implemented in checkpoint.py) --------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        from mttransformer.checkpoint import save_pretrained

        return save_pretrained(self, directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, **expected) -> MultiTrackTransformer:
        from mttransformer.checkpoint import from_pretrained

        return from_pretrained(directory, **expected)


def _expect(tensor, name: str, shape: tuple[int, ...], kind: str | None) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise InputShapeError(f"{name} must be a torch.Tensor of shape {shape}, got {type(tensor)}")
    if tuple(tensor.shape) != shape:
        raise InputShapeError(
            f"{name} has shape {tuple(tensor.shape)} but the model expects {shape}"
        )
    if kind == "float" and not tensor.is_floating_point():
        raise InputShapeError(
            f"{name} (shape {tuple(tensor.shape)}) has dtype {tensor.dtype}; expected a floating "
            "point dtype"
        )
    if kind == "int" and (
        tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool
    ):
        raise InputShapeError(
            f"{name} (shape {tuple(tensor.shape)}) has dtype {tensor.dtype}; expected an integer "
            "dtype (torch.long)"
        )
