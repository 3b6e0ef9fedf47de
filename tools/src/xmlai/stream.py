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

CHUNK_SECONDS = 600.0  # of frames per chunk: its store and window outputs are what it holds
INFER_BATCH = 16  # windows per forward pass: activations, not speed, grow with it on a CPU


class TrackOutputs:
    """(n, N, W) float32 model outputs on disk, track-major: track k's (n, W) are contiguous;
    W = `xmlai.infer.output_width(config)` (P(active), the asset shares, the parameters).
    Written with plain file writes, not a memory map, so they never count as resident."""

    def __init__(self, path: Path, n_frames: int, n_tracks: int, width: int):
        self.path, self.n, self.n_tracks = Path(path), n_frames, n_tracks
        self.width = width
        self.row = width * 4
        size = n_frames * n_tracks * self.row
        try:
            with open(self.path, "wb") as f:
                f.truncate(size)
        except (OSError, OverflowError) as err:  # features far past any recording, a full disk
            self.path.unlink(missing_ok=True)
            raise _outputs_error(self.path, n_frames, size, err) from None

    def write(self, first: int, block: np.ndarray) -> None:
        """block: (m, N, W) outputs of frames first..first+m-1."""
        fd = os.open(self.path, os.O_WRONLY)
        try:
            for k in range(self.n_tracks):
                data = np.ascontiguousarray(block[:, k], dtype=np.float32).tobytes()
                os.pwrite(fd, data, (k * self.n + first) * self.row)
        except OSError as err:  # a disk that fills up: the sparse file's blocks are written now
            raise _outputs_error(
                self.path, self.n, self.n * self.n_tracks * self.row, err
            ) from None
        finally:
            os.close(fd)

    def read(self, k: int) -> np.ndarray:
        """Track k: (n, W)."""
        with open(self.path, "rb") as f:
            f.seek(k * self.n * self.row)
            data = np.fromfile(f, dtype=np.float32, count=self.n * self.width)
        return data.reshape(self.n, self.width)


def _outputs_error(path: Path, n_frames: int, size: int, err: Exception):
    from xmlai.runlog import PipelineError

    return PipelineError(
        f"{path}: cannot hold the model's outputs for {n_frames} frames ({size / 1e9:.1f} GB): "
        f"{getattr(err, 'strerror', None) or err} (do the feature times reach past the "
        "recording's end?)"
    )


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


class FeatureSource:
    """One modality's feature file, handed out a time range at a time. A Parquet file is read
    by row groups (only those a chunk needs, the last ones kept for the next chunk); anything
    else, or a file whose times are not sorted, is loaded whole, once."""

    def __init__(self, path, schema=None):
        from featalign import FeatAlignError, FeatureSchema, load_features

        self.path, self.schema, self.whole = str(path), schema, None
        if Path(path).suffix.lower() in (".parquet", ".pq"):
            import pyarrow as pa
            import pyarrow.parquet as pq

            try:
                self.file = pq.ParquetFile(path)
                head = next(self.file.iter_batches(batch_size=2), None)
            except (OSError, pa.ArrowException) as err:
                raise FeatAlignError(f"{path}: not a readable Parquet file: {err}") from None
            if head is None:  # no rows: featalign says so, as for an empty CSV
                self.whole = load_features(path, schema, self.path)
                return
            head = head.to_pandas()
            self.first = load_features(head, schema, self.path)  # resolves the columns once
            raw = self.file.read(columns=[self.first.resolved.time]).column(0)
            unit = (schema or FeatureSchema()).time_unit_s
            self.times = np.asarray(raw.to_numpy(zero_copy_only=False), np.float64) * unit
            sizes = [
                self.file.metadata.row_group(g).num_rows for g in range(self.file.num_row_groups)
            ]
            self.group_starts = np.cumsum([0, *sizes])
            self.groups: dict[int, object] = {}  # row group -> Arrow table, the recent ones
            if len(self.times) > 1 and (np.diff(self.times) > 0).all():  # sorted: slice by time
                return
        self.whole = load_features(path, schema, self.path)

    def _groups(self, first: int, last: int):
        """Row groups first..last as one Arrow table; each group is read once as the chunks
        move through the file (those before `first` are dropped)."""
        import pyarrow as pa

        for group in range(first, last + 1):
            if group not in self.groups:
                self.groups[group] = self.file.read_row_group(group)
        for group in [g for g in self.groups if g < first]:
            del self.groups[group]
        return pa.concat_tables([self.groups[g] for g in range(first, last + 1)])

    @property
    def last_time(self) -> float:
        return float((self.times if self.whole is None else self.whole.times)[-1])

    def between(self, first_s: float, last_s: float):
        """A featalign table of the rows from just before `first_s` to just after `last_s`,
        or None when there are none."""
        if self.whole is not None:
            return _time_slice(self.whole, first_s, last_s)
        lo, hi = _rows_between(self.times, first_s, last_s)
        if hi <= lo:
            return None
        first_group = int(np.searchsorted(self.group_starts, lo, side="right") - 1)
        last_group = int(np.searchsorted(self.group_starts, hi - 1, side="right") - 1)
        rows = self._groups(first_group, last_group)
        rows = rows.slice(lo - int(self.group_starts[first_group]), hi - lo)
        # sorted, finite, unique times (checked once): the table is its columns, as floats
        values = np.empty((hi - lo, len(self.first.columns)), dtype=np.float32)
        for j, name in enumerate(self.first.columns):
            values[:, j] = rows.column(name).to_numpy(zero_copy_only=False)
        return replace(self.first, times=self.times[lo:hi], values=values, rows_read=hi - lo,
                       nonfinite={}, warnings=[])  # fmt: skip


def stream_outputs(run, tables: dict, video: str, n_frames: int, rate, work: Path,
                   chunk_seconds: float = CHUNK_SECONDS) -> TrackOutputs:  # fmt: skip
    """The model's stitched outputs over a whole recording, chunk by chunk. `tables`:
    {modality: FeatureSource (or a featalign FeatureTable)} of the recording."""
    from featalign import Normaliser, build_frame_store
    from seqwin import FrameStore, WindowDataset, stitch
    from xmlai.infer import frame_predictions, output_width, prediction_overlap, window_outputs

    inputs, settings, model = run.inputs, run.settings, run.model
    length = settings["data.window"]
    overlap = prediction_overlap(length, settings["data.overlap"])
    normalisers = {
        m: Normaliser.from_dict(d) for m, d in inputs["normalisation"].items() if m in tables
    }
    outputs = TrackOutputs(
        work / "outputs.f32", n_frames, model.config.n_tracks, output_width(model.config)
    )
    chunk_frames = max(1, round(chunk_seconds * float(rate)))
    store_dir = work / "store"
    try:
        for start, first, end, stop in chunk_ranges(n_frames, length, overlap, chunk_frames):
            frames = _frames_table(video, start, stop, rate)
            margin = settings["data.max_gap_s"] + 2.0  # alignment looks this far around a frame
            window_s = (start / rate - margin, stop / rate + margin)
            sliced = {m: _between(t, *window_s) for m, t in tables.items()}
            sliced = {m: t for m, t in sliced.items() if t is not None}  # none here: masked
            build_frame_store(
                frames, {video: sliced}, store_dir, modalities=inputs["modalities"],
                normalisers={m: n for m, n in normalisers.items() if m in sliced},
                n_tracks=inputs["n_tracks"], max_gap_s=settings["data.max_gap_s"], overwrite=True,
            )  # fmt: skip
            store = FrameStore(store_dir)
            dataset = ModelWindows(WindowDataset(store, length=length, overlap=overlap),
                                   list(store.modalities), model.config.modalities)  # fmt: skip
            windows = window_outputs(model, dataset, INFER_BATCH, first_frame=start)
            flat = stitch(windows, dataset.index, stop - start)
            pred = frame_predictions(flat[0][first - start : end - start], model.config)
            block = np.concatenate(
                [pred.active_prob[..., None], pred.asset_prob, pred.regression], axis=-1
            )
            outputs.write(first, block)
            del store, dataset, windows, flat, pred, block
            shutil.rmtree(store_dir, ignore_errors=True)
    except BaseException:  # a failed prediction leaves no half-made outputs behind
        outputs.path.unlink(missing_ok=True)
        shutil.rmtree(store_dir, ignore_errors=True)
        raise
    return outputs


class ModelWindows:
    """A window dataset whose batches carry every modality the model reads, in its order: one
    the recording (or this chunk of it) has no features of is zeros with its mask at 0, the
    way the model saw missing modalities in training."""

    def __init__(self, dataset, store_modalities: list[str], model_modalities: dict[str, int]):
        self.dataset, self.have, self.want = dataset, store_modalities, model_modalities
        self.index, self.n_frames = dataset.index, dataset.n_frames

    def __len__(self) -> int:
        return len(self.dataset)

    def gather(self, ids) -> dict:
        batch = self.dataset.gather(ids)
        mask = np.asarray(batch["modality_mask"])
        conformed = np.zeros((*mask.shape[:-1], len(self.want)), dtype=mask.dtype)
        for j, (name, width) in enumerate(self.want.items()):
            if name in self.have:
                conformed[..., j] = mask[..., self.have.index(name)]
            else:
                batch[name] = np.zeros((*mask.shape[:-1], width), dtype=np.float32)
        batch["modality_mask"] = conformed
        return batch


def recording_frames(video: str, rows: np.ndarray, rate) -> dict[str, np.ndarray]:
    """The track table's first columns for frames `rows` of a recording (the source view:
    each frame at its own time)."""
    seconds = rows * rate.denominator / rate.numerator
    return {
        "edit_id": np.full(len(rows), Path(video).stem),
        "source_video_name": np.full(len(rows), video),
        "frame": rows,
        "timestamp": seconds,
        "source_timestamp": seconds,
    }


def _frames_table(video: str, start: int, stop: int, rate) -> pd.DataFrame:
    """Frames [start, stop) of the recording as an edit of their own: numbered from 0, at
    their own times (features are matched by time)."""
    columns = recording_frames(video, np.arange(start, stop), rate)
    return pd.DataFrame(columns | {"frame": np.arange(stop - start)})


def _between(table, first_s: float, last_s: float):
    if isinstance(table, FeatureSource):
        return table.between(first_s, last_s)
    return _time_slice(table, first_s, last_s)


def _rows_between(times: np.ndarray, first_s: float, last_s: float) -> tuple[int, int]:
    """Rows [lo, hi) from the last sample before `first_s` to the first after `last_s`: the
    neighbours alignment interpolates from."""
    lo, hi = np.searchsorted(times, [first_s, last_s])
    return max(0, int(lo) - 1), min(len(times), int(hi) + 1)


def _time_slice(table, first_s: float, last_s: float):
    lo, hi = _rows_between(table.times, first_s, last_s)
    if hi <= lo:
        return None
    return replace(table, times=table.times[lo:hi], values=table.values[lo:hi])
