"""Stitch per-window predictions back into per-frame predictions, one array per edit.

Weights are a tent capped at overlap + 1: row t of a window weighs min(t + 1, L - t, O + 1).
Across an overlap of O frames the earlier window's weights fall O, O-1, ..., 1 while the later
one's rise 1, 2, ..., O: a linear cross-fade in which each frame leans on the window where it is
more central (more context on both sides). Padded rows weigh 0.

Weights are small integers and sums run in float64, so for float32 (or float16) predictions
every product and partial sum is exact: windows cut from a known array stitch back to exactly
that array. (float64 predictions are averaged to within an ulp.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from seqwin.errors import StitchError
from seqwin.windows import WindowIndex, check_window_params


def taper_weights(length: int, overlap: int) -> np.ndarray:
    """(L,) float64 integer-valued weights of the rows of one window, all >= 1."""
    length, overlap = check_window_params(length, overlap)
    t = np.arange(length)
    return np.minimum(np.minimum(t + 1, length - t), overlap + 1).astype(np.float64)


def stitch(
    window_predictions: np.ndarray,
    index: WindowIndex,
    n_frames: int | Sequence[int] | np.ndarray | Mapping[int, int],
) -> dict[int, np.ndarray]:
    """Reassemble (W, L, ...) window predictions into {edit_index: (n_frames, ...)} arrays.

    window_predictions[w] belongs to window w of `index` (a WindowIndex, or any selection of
    one, e.g. `dataset.index.select(batch_ids)`); rows past index.n_real[w] are padding and
    ignored. n_frames: frame count per edit index: a mapping, an array indexed by edit index
    (e.g. store.n_frames), or an int when the index holds one edit. Returns one array per edit
    present in the index; raises StitchError if a frame of such an edit is in no window.
    """
    pred = np.asarray(window_predictions)
    w_count, length = len(index), index.length
    if pred.ndim < 2 or pred.shape[0] != w_count or pred.shape[1] != length:
        raise StitchError(
            f"predictions of shape {pred.shape}, expected ({w_count}, {length}, ...) "
            "to match the index",
            where="window_predictions",
        )
    if not (np.issubdtype(pred.dtype, np.floating) or np.issubdtype(pred.dtype, np.integer)):
        raise StitchError(
            f"predictions must be numeric, got {pred.dtype}", where="window_predictions"
        )
    out_dtype = pred.dtype if np.issubdtype(pred.dtype, np.floating) else np.dtype(np.float64)
    weights = taper_weights(length, index.overlap)
    tail = pred.shape[2:]
    edits = np.unique(index.edit_index)
    sizes = _frame_counts(n_frames, edits)

    result: dict[int, np.ndarray] = {}
    order = np.argsort(index.edit_index, kind="stable")
    bounds = [*np.searchsorted(index.edit_index[order], edits, side="left").tolist(), w_count]
    for j, e in enumerate(edits.tolist()):
        n = sizes[e]
        total = np.zeros((n, *tail), dtype=np.float64)
        weight_sum = np.zeros(n, dtype=np.float64)
        for w in order[bounds[j] : bounds[j + 1]].tolist():
            s, r = int(index.start_frame[w]), int(index.n_real[w])
            if s < 0 or s + r > n:
                raise StitchError(
                    f"window {w} covers frames {s}..{s + r - 1} but edit {e} has {n} frames",
                    where="n_frames",
                )
            wt = weights[:r]
            total[s : s + r] += pred[w, :r].astype(np.float64) * wt.reshape(r, *([1] * len(tail)))
            weight_sum[s : s + r] += wt
        uncovered = np.flatnonzero(weight_sum == 0)
        if uncovered.size:
            raise StitchError(
                f"{uncovered.size} frame(s) of edit {e} are in no window "
                f"(first: frame {uncovered[0]})",
                where="index",
            )
        result[e] = (total / weight_sum.reshape(n, *([1] * len(tail)))).astype(out_dtype)
    return result


def _frame_counts(n_frames: object, edits: np.ndarray) -> dict[int, int]:
    if isinstance(n_frames, int | np.integer) and not isinstance(n_frames, bool):
        if edits.size > 1:
            raise StitchError(f"one frame count given for {edits.size} edits", where="n_frames")
        return {int(e): int(n_frames) for e in edits.tolist()}
    out: dict[int, int] = {}
    for e in edits.tolist():
        try:
            out[e] = int(n_frames[e])  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            raise StitchError(f"no frame count for edit {e}", where="n_frames") from None
    return out
