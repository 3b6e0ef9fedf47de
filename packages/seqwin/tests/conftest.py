"""Shared fixtures: a synthetic frame store in the SPEC layout (seqwin must not need featalign;
the manifest is written by trackcore's one writer, as featalign writes it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from trackcore import Manifest, ManifestEdit, track_columns, write_manifest
from trackcore.manifest import file_checksum

N_TRACKS = 2
WIDTHS = {"audio": 3, "visual": 5}


def frame_value(edit: int, frame: np.ndarray, column: int, array: int) -> np.ndarray:
    """A value that encodes where it came from, so a test can check any row's provenance."""
    return (array * 1_000_000 + edit * 10_000 + frame + column / 100.0).astype(np.float32)


def write_store(
    root: Path,
    n_frames: Sequence[int],
    videos: Sequence[str] | None = None,
    n_tracks: int = N_TRACKS,
    widths: dict[str, int] | None = None,
    checksums: bool = False,
) -> Path:
    """Write a frame store: edit e has n_frames[e] frames; value at (frame f, column c) of array a
    is frame_value(e, f, c, a) (a = 0 tracks, 1.. modalities); modality_mask alternates 1/0 by
    modality and frame parity for the second modality."""
    widths = dict(WIDTHS if widths is None else widths)
    videos = (
        list(videos) if videos is not None else [f"video_{e}.mp4" for e in range(len(n_frames))]
    )
    root.mkdir(parents=True, exist_ok=True)
    n_track_columns = len(track_columns(n_tracks))
    edits = []
    for e, n in enumerate(n_frames):
        edit_id = f"edit {e}/ä"
        key = re.sub(r"[^A-Za-z0-9_.-]+", "_", edit_id) + f"_{e}"
        folder = root / "edits" / key
        folder.mkdir(parents=True, exist_ok=True)
        frames = np.arange(n)[:, None]
        arrays = {"tracks": frame_value(e, frames, np.arange(n_track_columns)[None, :], 0)}
        for a, (name, d) in enumerate(widths.items(), start=1):
            arrays[name] = frame_value(e, frames, np.arange(d)[None, :], a)
        mask = np.ones((n, len(widths)), dtype=np.float32)
        if len(widths) > 1:
            mask[1::2, 1] = 0.0
        arrays["modality_mask"] = mask
        arrays["timestamps"] = np.arange(n, dtype=np.float64) / 30.0
        for name, arr in arrays.items():
            np.save(folder / f"{name}.npy", arr)
        sums = None
        if checksums:  # as featalign records them (another algorithm: verify reads the name)
            sums = {
                f"{name}.npy": file_checksum(folder / f"{name}.npy", "blake2b") for name in arrays
            }
        edits.append(ManifestEdit(edit_id, key, int(n), videos[e], 30.0, "30/1", sums))
    manifest = Manifest(
        n_tracks=n_tracks,
        modalities=list(widths),
        modality_columns={m: [f"{m}_{i}" for i in range(d)] for m, d in widths.items()},
        modality_kinds={m: {f"{m}_{i}": "continuous" for i in range(d)} for m, d in widths.items()},
        edits=edits,
    )
    write_manifest(root, manifest)
    return root


@pytest.fixture
def make_store(tmp_path_factory):
    """make_store([n0, n1, ...], videos=None, ...) -> path of a fresh synthetic store."""

    def make(n_frames, **kwargs) -> Path:
        return write_store(tmp_path_factory.mktemp("store"), n_frames, **kwargs)

    return make


@pytest.fixture
def small_store(make_store) -> Path:
    # Edits: longer than several windows, exactly one window, shorter than one, 1 frame.
    return make_store([537, 100, 42, 1, 260], videos=["a.mp4", "b.mp4", "a.mp4", "c.mp4", "d.mp4"])


# Edit lengths chosen around the interesting boundaries of a 100/20 windowing: empty, 1 frame,
# shorter than a window, exactly one window, one frame more, exact multiples of the stride.
VARIED_FRAMES = [0, 1, 7, 99, 100, 101, 180, 181, 260, 333, 1000]


@pytest.fixture(scope="session")
def varied_store(tmp_path_factory) -> Path:
    return write_store(tmp_path_factory.mktemp("varied"), VARIED_FRAMES)


@pytest.fixture(scope="session")
def value_at():
    """value_at(edit, frame, column, array) -> what the synthetic store holds there."""
    return frame_value
