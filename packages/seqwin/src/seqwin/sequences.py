"""A windowed set saved as one .npz (train_sequences.npz / val_sequences.npz) for interchange.

Contents (all plain arrays; np.load(path, allow_pickle=False) reads them):
    tracks (W, L, N*9) f4 · <modality> (W, L, D_m) f4 · modality_mask (W, L, M) f4
    frame_mask (W, L) f4 · start_frame (W,) i8 · edit_index (W,) i8     <- the window items
    edits_index (E,) i8 · edits_id (E,) U · edits_source_video (E,) U · edits_n_frames (E,) i8
    edits_fps (E,) f8                                                    <- the edits they cut
    meta () U: JSON {format, version, length, overlap, n_tracks, track_columns, modalities,
                     modality_columns, normalisation, source}
edit_index refers to the edit's position in the store manifest (edits_index holds them).
Written window by window into the zip (memory stays at one chunk), then renamed into place.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from seqwin._io import atomic_path
from seqwin.errors import StoreError
from seqwin.windows import WindowDataset, WindowIndex

FORMAT = "xmlai-sequences"
VERSION = 1
_EDIT_KEYS = ("edits_index", "edits_id", "edits_source_video", "edits_n_frames", "edits_fps")


def save_sequences(
    dataset: WindowDataset | SequenceSet,
    path: str | Path,
    chunk_windows: int = 256,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write every window of `dataset` to `path` (.npz, uncompressed). Returns the path.

    progress(n) is called after each chunk of n windows of each windowed array (so the total
    is len(dataset) * len(dataset.keys)), e.g. a rich progress bar's advance.
    """
    path = Path(path)
    n, length = len(dataset), dataset.length
    meta = dataset.meta()
    edits = dataset.edit_table()
    with (
        atomic_path(path, suffix=".npz") as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
        _write_array(zf, "meta", np.array(json.dumps(meta)))
        for k, v in edits.items():
            _write_array(zf, k, v)
        _write_array(zf, "start_frame", dataset.index.start_frame.astype(np.int64))
        _write_array(zf, "edit_index", dataset.index.edit_index.astype(np.int64))
        _write_array(zf, "frame_mask", dataset.index.frame_mask())
        for k in dataset.keys:
            shape = (n, length, dataset.widths[k])
            with zf.open(f"{k}.npy", "w", force_zip64=True) as fp:
                np.lib.format.write_array_header_1_0(
                    fp,
                    {
                        "descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
                        "fortran_order": False,
                        "shape": shape,
                    },
                )
                for lo in range(0, n, chunk_windows):
                    batch = dataset.gather(np.arange(lo, min(n, lo + chunk_windows)))
                    fp.write(np.ascontiguousarray(batch[k], dtype="<f4").tobytes())
                    if progress is not None:
                        progress(batch[k].shape[0])
    return path


def _write_array(zf: zipfile.ZipFile, name: str, arr: np.ndarray) -> None:
    with zf.open(f"{name}.npy", "w", force_zip64=True) as fp:
        np.lib.format.write_array(fp, np.asanyarray(arr), allow_pickle=False)


class SequenceSet:
    """Windows loaded from a sequences .npz: the same interface as WindowDataset
    (len, getitem -> window item, gather, index, keys, widths, edit_table, meta)."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict, path: Path | None = None):
        self.path = path
        self.arrays = arrays
        self._meta = meta
        self.length = int(meta["length"])
        self.overlap = int(meta["overlap"])
        self.modalities = list(meta["modalities"])
        self.keys = ["tracks", *self.modalities, "modality_mask"]
        self.widths = {k: int(arrays[k].shape[2]) for k in self.keys}
        frame_mask = arrays["frame_mask"]
        self.index = WindowIndex(
            arrays["edit_index"].astype(np.int64),
            arrays["start_frame"].astype(np.int64),
            frame_mask.sum(axis=1).astype(np.int64),
            self.length,
            self.overlap,
        )
        self.edit_indices = np.unique(self.index.edit_index)
        self.n_frames = dict(
            zip(arrays["edits_index"].tolist(), arrays["edits_n_frames"].tolist(), strict=True)
        )

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return (
            f"SequenceSet({str(self.path)!r}, windows={len(self)}, "
            f"length={self.length}, overlap={self.overlap})"
        )

    def meta(self) -> dict:
        return dict(self._meta)

    def edit_table(self) -> dict[str, np.ndarray]:
        return {k: self.arrays[k] for k in _EDIT_KEYS}

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"window index must be an integer, got {type(i).__name__}")
        if not -len(self) <= i < len(self):
            raise IndexError(f"window index {i} out of range [0, {len(self)})")
        item = {k: self.arrays[k][i] for k in (*self.keys, "frame_mask")}
        item["start_frame"] = np.int64(self.arrays["start_frame"][i])
        item["edit_index"] = np.int64(self.arrays["edit_index"][i])
        return item

    def gather(
        self, indices: Sequence[int] | np.ndarray, out: dict | None = None
    ) -> dict[str, np.ndarray]:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        keys = (*self.keys, "frame_mask", "start_frame", "edit_index")
        if out is not None and out["frame_mask"].shape == (idx.size, self.length):
            for k in keys:
                np.take(self.arrays[k], idx, axis=0, out=out[k])
            return out
        return {k: np.take(self.arrays[k], idx, axis=0) for k in keys}


def load_sequences(path: str | Path) -> SequenceSet:
    """Read a sequences .npz (no pickle), checking its format and that its arrays agree."""
    path = Path(path)
    if not path.is_file():
        raise StoreError("no such file", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # bad zip, bad member header, object arrays
        raise StoreError(f"not a readable .npz file ({type(exc).__name__}: {exc})", path) from None
    if "meta" not in arrays:
        raise StoreError("no 'meta' array (not a seqwin sequences file?)", path, "meta")
    try:
        meta = json.loads(str(arrays["meta"][()]))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise StoreError(f"meta is not JSON ({exc})", path, "meta") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise StoreError(f"meta does not describe a {FORMAT} v{VERSION} file", path, "meta")
    modalities = meta.get("modalities", [])
    needed = [
        "tracks",
        *modalities,
        "modality_mask",
        "frame_mask",
        "start_frame",
        "edit_index",
        *_EDIT_KEYS,
    ]
    for k in needed:
        if k not in arrays:
            raise StoreError("missing array", path, k)
    w = arrays["start_frame"].shape[0]
    length = meta.get("length")
    for k in ["tracks", *modalities, "modality_mask"]:
        a = arrays[k]
        if a.ndim != 3 or a.shape[:2] != (w, length) or a.dtype != np.float32:
            raise StoreError(
                f"shape {a.shape} dtype {a.dtype}, expected ({w}, {length}, D) float32", path, k
            )
    if arrays["frame_mask"].shape != (w, length) or arrays["edit_index"].shape != (w,):
        raise StoreError(
            "frame_mask / edit_index do not match the number of windows", path, "frame_mask"
        )
    if arrays["modality_mask"].shape[2] != len(modalities):
        raise StoreError(
            f"{arrays['modality_mask'].shape[2]} mask columns for {len(modalities)} modalities",
            path,
            "modality_mask",
        )
    return SequenceSet(arrays, meta, path)
