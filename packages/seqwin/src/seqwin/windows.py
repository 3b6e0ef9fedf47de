"""Windows over per-edit arrays: an index of (edit, absolute start frame), never copies.

A window of length L with overlap O starts every S = L - O frames. Edit of n frames:
    n <= L : one window at 0, padded to L
    n >  L : 1 + ceil((n - L) / S) windows at 0, S, 2S, ...; the last one starts before n
             (so it has >= 1 real frame) and is padded past n.
Every real frame is in at least one window, at row (frame - start_frame); no window is empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from seqwin.errors import WindowConfigError
from seqwin.store import FrameStore

DEFAULT_LENGTH = 100
DEFAULT_OVERLAP = 20
MAX_LENGTH = 2**40  # frames: far past any edit, and safe in int64 index arithmetic


def check_window_params(length: object, overlap: object) -> tuple[int, int]:
    """Validate length >= 1 and 0 <= overlap < length; return them as ints."""
    for name, value in (("length", length), ("overlap", overlap)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise WindowConfigError(f"must be an integer, got {value!r}", where=f"window {name}")
    length, overlap = int(length), int(overlap)
    if length > MAX_LENGTH:  # past what the index's int64 arithmetic holds
        raise WindowConfigError(f"must be <= {MAX_LENGTH}, got {length}", where="window length")
    if length < 1:
        raise WindowConfigError(f"must be >= 1, got {length}", where="window length")
    if overlap < 0:
        raise WindowConfigError(f"must be >= 0, got {overlap}", where="window overlap")
    if overlap >= length:
        raise WindowConfigError(
            f"overlap {overlap} must be smaller than the length {length} (windows must advance)",
            where="window overlap",
        )
    return length, overlap


@dataclass(frozen=True)
class WindowIndex:
    """Where every window lies. Arrays are (W,) int64, aligned: window w covers rows
    start_frame[w] .. start_frame[w] + n_real[w] - 1 of edit edit_index[w], then padding."""

    edit_index: np.ndarray
    start_frame: np.ndarray
    n_real: np.ndarray
    length: int
    overlap: int

    def __len__(self) -> int:
        return int(self.edit_index.shape[0])

    @property
    def stride(self) -> int:
        return self.length - self.overlap

    def frame_mask(self, indices: np.ndarray | None = None) -> np.ndarray:
        """(W, L) float32, 1 on real rows, 0 on padding."""
        n_real = self.n_real if indices is None else self.n_real[np.asarray(indices)]
        return (np.arange(self.length)[None, :] < n_real[:, None]).astype(np.float32)

    def select(self, indices: np.ndarray | Sequence[int]) -> WindowIndex:
        idx = np.asarray(indices, dtype=np.int64)
        return WindowIndex(
            self.edit_index[idx], self.start_frame[idx], self.n_real[idx], self.length, self.overlap
        )


def make_windows(
    n_frames: Sequence[int] | np.ndarray,
    length: int = DEFAULT_LENGTH,
    overlap: int = DEFAULT_OVERLAP,
    edits: Iterable[int] | None = None,
) -> WindowIndex:
    """Index the windows of edits with `n_frames[e]` frames each (all edits, or those in `edits`).

    Vectorised: a million frames index in well under a millisecond. Edits with 0 frames get no
    window (a window without real frames would make the encoder return NaN).
    """
    length, overlap = check_window_params(length, overlap)
    n_all = np.asarray(n_frames, dtype=np.int64).reshape(-1)
    if (n_all < 0).any():
        raise WindowConfigError("negative frame count", where="n_frames")
    chosen = (
        np.arange(n_all.shape[0])
        if edits is None
        else np.unique(np.asarray(list(edits), dtype=np.int64))
    )
    if chosen.size and (chosen.min() < 0 or chosen.max() >= n_all.shape[0]):
        raise WindowConfigError(f"edit index out of range [0, {n_all.shape[0]})", where="edits")
    n = n_all[chosen]  # (E',)
    stride = length - overlap
    counts = np.where(n <= length, 1, 1 + (n - length + stride - 1) // stride)
    counts[n == 0] = 0
    total = int(counts.sum())
    edit_index = np.repeat(chosen, counts)  # (W,)
    first = np.cumsum(counts) - counts  # position of each edit's first window
    k = np.arange(total, dtype=np.int64) - np.repeat(first, counts)  # window number within edit
    start = k * stride
    n_real = np.minimum(length, n_all[edit_index] - start)
    return WindowIndex(edit_index, start, n_real, length, overlap)


class WindowDataset:
    """Map-style dataset of windows over a FrameStore (works with torch's DataLoader as is).

    `ds[i]` is the window item of the SPEC (padded copies, float32 arrays, int64 scalars);
    `ds.view(i)` the real rows only, as views of the memory maps; `ds.gather(idx)` a batch.
    Items carry the store's edit index, so train and validation sets of one store agree on it.
    """

    def __init__(
        self,
        store: FrameStore,
        edits: Iterable[int] | None = None,
        length: int = DEFAULT_LENGTH,
        overlap: int = DEFAULT_OVERLAP,
    ):
        self.store = store
        self.index = make_windows(store.n_frames, length, overlap, edits)
        self.length, self.overlap = self.index.length, self.index.overlap
        self.modalities = list(store.modalities)
        self.keys = ["tracks", *self.modalities, "modality_mask"]  # windowed arrays
        self.widths = {k: store.widths[k] for k in self.keys}
        self.edit_indices = np.unique(self.index.edit_index)
        self.n_frames = store.n_frames  # (E,) by store edit index; what stitch() needs
        # Python ints: faster than numpy scalars in the per-window loop of gather.
        self._edit = self.index.edit_index.tolist()
        self._start = self.index.start_frame.tolist()
        self._real = self.index.n_real.tolist()

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return (
            f"WindowDataset(windows={len(self)}, edits={self.edit_indices.size}, "
            f"length={self.length}, overlap={self.overlap})"
        )

    def meta(self) -> dict:
        """What a sequences .npz records about this windowing (JSON-ready)."""
        store = self.store
        return {
            "format": "xmlai-sequences",
            "version": 1,
            "length": self.length,
            "overlap": self.overlap,
            "n_tracks": store.n_tracks,
            "track_columns": store.track_columns,
            "modalities": self.modalities,
            "modality_columns": {m: store.modality_columns[m] for m in self.modalities},
            "normalisation": store.normalisation,
            "source": str(store.path),
        }

    def edit_table(self) -> dict[str, np.ndarray]:
        """The edits this dataset windows, as parallel arrays (edits_index = store edit index)."""
        chosen = self.edit_indices.tolist()
        edits = [self.store.edits[e] for e in chosen]
        return {
            "edits_index": np.array(chosen, dtype=np.int64),
            "edits_id": np.array([e.edit_id for e in edits], dtype=np.str_),
            "edits_source_video": np.array([e.source_video_name for e in edits], dtype=np.str_),
            "edits_n_frames": np.array([e.n_frames for e in edits], dtype=np.int64),
            "edits_fps": np.array([e.fps for e in edits], dtype=np.float64),
        }

    def view(self, i: int) -> dict[str, np.ndarray]:
        """Real rows of window i as read-only views of the store's memory maps (no copy)."""
        e, s, r = self._locate(i)
        arrays = self.store.arrays(e)
        return {k: arrays[k][s : s + r] for k in self.keys}

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        e, s, r = self._locate(i)
        arrays = self.store.arrays(e)
        item: dict[str, np.ndarray] = {}
        for k in self.keys:
            out = np.zeros((self.length, self.widths[k]), dtype=np.float32)  # padding = zeros
            out[:r] = arrays[k][s : s + r]
            item[k] = out
        frame_mask = np.zeros(self.length, dtype=np.float32)
        frame_mask[:r] = 1.0
        item["frame_mask"] = frame_mask
        item["start_frame"] = np.int64(s)
        item["edit_index"] = np.int64(e)
        return item

    def gather(
        self, indices: Sequence[int] | np.ndarray, out: dict[str, np.ndarray] | None = None
    ) -> dict[str, np.ndarray]:
        """A batch as a dict of (B, L, D) arrays plus frame_mask, start_frame and edit_index.

        Allocates the batch once and copies each window's real rows in (one memcpy per window and
        array); pass a previous batch of the same size as `out` to reuse its memory.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"window index out of range [0, {len(self)})")
        idx = idx % max(len(self), 1)
        b, length = idx.size, self.length
        if out is None or out["frame_mask"].shape != (b, length):
            # np.empty, not np.zeros: calloc'd pages would be zeroed (or faulted in) only to be
            # overwritten; only the padded tails are cleared below.
            out = {k: np.empty((b, length, self.widths[k]), dtype=np.float32) for k in self.keys}
        arrays_of = self.store.arrays
        for row, w in enumerate(idx.tolist()):
            e, s, r = self._edit[w], self._start[w], self._real[w]
            arrays = arrays_of(e)
            for k in self.keys:
                dst = out[k][row]
                dst[:r] = arrays[k][s : s + r]
                if r < length:
                    dst[r:] = 0.0
        out["frame_mask"] = self.index.frame_mask(idx)
        out["start_frame"] = self.index.start_frame[idx]
        out["edit_index"] = self.index.edit_index[idx]
        return out

    def _locate(self, i: int) -> tuple[int, int, int]:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"window index must be an integer, got {type(i).__name__}")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"window index {i} out of range [0, {n})")
        i = int(i) % n
        return self._edit[i], self._start[i], self._real[i]
