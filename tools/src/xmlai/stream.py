"""A recording of any length through the model in flat memory: its features are aligned and
windowed a chunk at a time, and the stitched outputs go to disk, one file region per track, so
that smoothing reads back one track at a time.

Chunks sit on the window grid and carry one window of context on each side, so every frame is
covered by exactly the windows (and the absolute start frames) a single pass over the whole
recording would give it: the result does not depend on the chunk size.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

OUTPUT_WIDTH = 18  # per track: P(active), 10 asset shares, 7 parameters
CHUNK_SECONDS = 600.0


class TrackOutputs:
    """(n, N, 18) float32 model outputs on disk, track-major: track k's (n, 18) are contiguous.
    Written with plain file writes, not a memory map, so they never count as resident."""

    def __init__(self, path: Path, n_frames: int, n_tracks: int):
        self.path, self.n, self.n_tracks = Path(path), n_frames, n_tracks
        self.row = OUTPUT_WIDTH * 4
        with open(self.path, "wb") as f:
            f.truncate(n_frames * n_tracks * self.row)

    def write(self, first: int, block: np.ndarray) -> None:
        """block: (m, N, 18) outputs of frames first..first+m-1."""
        fd = os.open(self.path, os.O_WRONLY)
        try:
            for k in range(self.n_tracks):
                data = np.ascontiguousarray(block[:, k], dtype=np.float32).tobytes()
                os.pwrite(fd, data, (k * self.n + first) * self.row)
        finally:
            os.close(fd)

    def read(self, k: int) -> np.ndarray:
        """Track k: (n, 18)."""
        with open(self.path, "rb") as f:
            f.seek(k * self.n * self.row)
            data = np.fromfile(f, dtype=np.float32, count=self.n * OUTPUT_WIDTH)
        return data.reshape(self.n, OUTPUT_WIDTH)


def chunk_ranges(n_frames: int, length: int, overlap: int, chunk_frames: int):
    """[(context_start, first, end, context_end)]: each chunk's own frames [first, end) on the
    window grid, and the frames its windows need around them."""
    stride = length - overlap
    size = max(stride, chunk_frames // stride * stride)
    ranges = []
    for first in range(0, n_frames, size):
        end = min(n_frames, first + size)
        context_start = max(0, (first - length + 1) // stride * stride)
        ranges.append((context_start, first, end, min(n_frames, end + length)))
    return ranges


def stream_outputs(run, tables: dict, video: str, n_frames: int, rate, work: Path,
                   chunk_seconds: float = CHUNK_SECONDS) -> TrackOutputs:  # fmt: skip
    """The model's stitched outputs over a whole recording, chunk by chunk. `tables`:
    {modality: featalign FeatureTable} of the recording, loaded once."""
    from featalign import Normaliser, build_frame_store
    from seqwin import FrameStore, WindowDataset, stitch
    from xmlai.infer import frame_predictions, window_outputs

    inputs, settings, model = run.inputs, run.settings, run.model
    length, overlap = settings["data.window"], settings["data.overlap"]
    normalisers = {
        m: Normaliser.from_dict(d) for m, d in inputs["normalisation"].items() if m in tables
    }
    outputs = TrackOutputs(work / "outputs.f32", n_frames, model.config.n_tracks)
    chunk_frames = max(1, round(chunk_seconds * float(rate)))
    for start, first, end, stop in chunk_ranges(n_frames, length, overlap, chunk_frames):
        frames = _frames_table(video, start, stop, rate)
        margin = settings["data.max_gap_s"] + 2.0  # alignment looks this far around a frame
        window_s = (start / rate - margin, stop / rate + margin)
        sliced = {m: _time_slice(t, *window_s) for m, t in tables.items()}
        sliced = {m: t for m, t in sliced.items() if len(t.times)}  # none here: masked
        store_dir = work / "store"
        build_frame_store(
            frames, {video: sliced}, store_dir, modalities=inputs["modalities"],
            normalisers={m: n for m, n in normalisers.items() if m in sliced},
            n_tracks=inputs["n_tracks"], max_gap_s=settings["data.max_gap_s"], overwrite=True,
        )  # fmt: skip
        dataset = WindowDataset(FrameStore(store_dir), length=length, overlap=overlap)
        flat = stitch(
            window_outputs(model, dataset, first_frame=start), dataset.index, stop - start
        )
        pred = frame_predictions(flat[0][first - start : end - start], model.config)
        block = np.concatenate(
            [pred.active_prob[..., None], pred.asset_prob, pred.regression], axis=-1
        )
        outputs.write(first, block)
        del dataset, flat, pred, block
        shutil.rmtree(store_dir, ignore_errors=True)
    return outputs


def _frames_table(video: str, start: int, stop: int, rate) -> pd.DataFrame:
    """Frames [start, stop) of the recording as an edit of their own: numbered from 0, at
    their own times (features are matched by time)."""
    seconds = np.arange(start, stop) * rate.denominator / rate.numerator
    return pd.DataFrame(
        {
            "edit_id": Path(video).stem,
            "source_video_name": video,
            "frame": np.arange(stop - start),
            "timestamp": seconds,
            "source_timestamp": seconds,
        }
    )


def _time_slice(table, first_s: float, last_s: float):
    lo, hi = np.searchsorted(table.times, [first_s, last_s])
    lo, hi = max(0, lo - 1), min(len(table.times), hi + 1)  # a neighbour each side
    return replace(table, times=table.times[lo:hi], values=table.values[lo:hi])
