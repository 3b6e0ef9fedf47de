"""Read-only access to a frame store (written by featalign): a manifest plus memory-mapped .npy.

Layout (SPEC "Frame store"; the manifest's format is trackcore.manifest's, read with its one
reader, which checks the format and layout versions, the track columns against the layout and
the modality names against the one rule):
    STORE/manifest.json
    STORE/edits/<key>/tracks.npy          float32 (n, N*9)
    STORE/edits/<key>/<modality>.npy      float32 (n, D_m)
    STORE/edits/<key>/modality_mask.npy   float32 (n, M)
    STORE/edits/<key>/timestamps.npy      float64 (n,)

Opening validates every header (dtype, shape, file size) so a corrupt file fails at open with its
name, not in a DataLoader worker an hour later. Data pages are never read at open: arrays are
np.load(mmap_mode="r") and the OS pages in only the rows a window touches. Bytes corrupted
behind an intact header are found by `verify()`, which reads every file once against the
checksums the manifest records per edit (`"checksums": {"tracks.npy": "sha256:<hex>"}`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqwin.errors import StoreError
from trackcore import TRACK_WIDTH, TrackcoreError
from trackcore import manifest as store_manifest
from trackcore.modality import RESERVED_NAMES

log = logging.getLogger("seqwin")

FORMAT = store_manifest.FORMAT
VERSION = store_manifest.FORMAT_VERSION
TRACK_BLOCK = TRACK_WIDTH  # active, asset, scale, pos_x, pos_y, crop l/r/t/b (trackcore.layout)
# Keys of a window item; a modality may not take one of these names (trackcore.modality).
RESERVED = RESERVED_NAMES
MAX_FRAMES = 2**40  # per edit: over a thousand years at 30 fps


@dataclass(frozen=True)
class EditInfo:
    """One edit of the store, as listed in the manifest."""

    edit_id: str
    key: str
    source_video_name: str
    n_frames: int
    fps: float
    fps_fraction: str


class FrameStore:
    """A frame store opened read-only. Edits are addressed by their position in the manifest
    (the `edit_index` every window carries).

    >>> store = FrameStore("out/store")
    >>> store.arrays(0)["tracks"].shape        # (n_frames, N*9), a memory map
    """

    def __init__(self, path: str | Path, max_open_edits: int = 128):
        self.path = Path(path)
        self.manifest_path = store_manifest.manifest_path(self.path)
        parsed = _read_manifest(self.path)
        self.manifest = parsed.to_dict()  # the manifest as JSON, checked (trackcore.manifest)
        self.layout_version: int = parsed.layout_version
        self.n_tracks: int = parsed.n_tracks
        self.track_columns: list[str] = parsed.track_columns
        self.modalities: list[str] = list(parsed.modalities)
        self.modality_columns: dict[str, list[str]] = {
            k: list(v) for k, v in parsed.modality_columns.items()
        }
        self.normalisation = parsed.normalisation
        self.edits: list[EditInfo] = [_edit_info(e) for e in parsed.edits]
        for i, e in enumerate(self.edits):
            if e.n_frames > MAX_FRAMES:  # no .npy holds that many rows; int64 would overflow
                raise StoreError(
                    f"n_frames {e.n_frames} is implausibly large", self.manifest_path, f"edits[{i}]"
                )
        self.n_frames = np.array([e.n_frames for e in self.edits], dtype=np.int64)  # (E,)
        for e in self.edits:
            if e.n_frames == 0:
                log.warning(
                    "%s: edit %r has no frames (it gets no window)", self.manifest_path, e.edit_id
                )
        # Per array name: (dtype, row width or None for 1-D). Order = window item order.
        self.layout: dict[str, tuple[np.dtype, int | None]] = {
            "tracks": (np.dtype(np.float32), len(self.track_columns))
        }
        for name in self.modalities:
            self.layout[name] = (np.dtype(np.float32), len(self.modality_columns[name]))
        self.layout["modality_mask"] = (np.dtype(np.float32), len(self.modalities))
        self.layout["timestamps"] = (np.dtype(np.float64), None)
        self.max_open_edits = max(1, int(max_open_edits))
        self._open: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()
        for i in range(len(self.edits)):  # header check of every file, no data read
            self._load_edit(i, keep=i < self.max_open_edits)

    # ------------------------------------------------------------------ public
    def __len__(self) -> int:
        return len(self.edits)

    def __repr__(self) -> str:
        return (
            f"FrameStore({str(self.path)!r}, edits={len(self)}, frames={int(self.n_frames.sum())})"
        )

    @property
    def widths(self) -> dict[str, int]:
        """Row width of every windowed array: tracks, each modality, modality_mask."""
        return {k: w for k, (_, w) in self.layout.items() if w is not None}

    @property
    def nbytes(self) -> int:
        """Bytes of array data in the store (what a full copy would cost)."""
        row = sum(dt.itemsize * (w or 1) for dt, w in self.layout.values())
        return int(self.n_frames.sum()) * row

    @property
    def has_checksums(self) -> bool:
        return all("checksums" in e for e in self.manifest["edits"])

    def verify(self) -> int:
        """Read every array file and compare it with the checksum the manifest records; raise
        StoreError naming the first file that differs. Returns the files checked: 0 for a
        store written before featalign recorded checksums (logged; such a store still loads)."""
        if not self.has_checksums:
            log.info("%s: no checksums in the manifest (an older store); not verified", self.path)
            return 0
        checked = 0
        for i, entry in enumerate(self.manifest["edits"]):
            recorded = entry["checksums"]
            for name in self.layout:
                file = self.edit_dir(i) / f"{name}.npy"
                expected = recorded.get(file.name) if isinstance(recorded, dict) else None
                if not isinstance(expected, str) or ":" not in expected:
                    raise StoreError("no checksum recorded", self.manifest_path, f"edits[{i}]")
                if _checksum(file, expected.partition(":")[0]) != expected:
                    raise StoreError(
                        "checksum mismatch: the file changed after the store was built", file
                    )
                checked += 1
        log.info("%s: %d array files match their checksums", self.path, checked)
        return checked

    def edit_dir(self, edit_index: int) -> Path:
        return self.path / "edits" / self.edits[edit_index].key

    def arrays(self, edit_index: int) -> dict[str, np.ndarray]:
        """Read-only memory maps of one edit: tracks, modalities, modality_mask, timestamps.

        Plain ndarray views of the maps (np.memmap's subclass machinery costs time on every
        slice); they keep their map alive, so they outlive the store's small cache of open edits.
        """
        edit_index = int(edit_index)
        if not 0 <= edit_index < len(self.edits):
            raise StoreError(
                f"edit index {edit_index} out of range [0, {len(self.edits)})", self.path
            )
        arrays = self._open.get(edit_index)
        if arrays is None:
            arrays = self._load_edit(edit_index, keep=True)
        else:
            self._open.move_to_end(edit_index)
        return arrays

    def __getstate__(self) -> dict:
        # A DataLoader worker started with "spawn" receives the store by value: send the
        # manifest, not the open maps (pickling a map's view would copy its data).
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()
        return state

    # ----------------------------------------------------------------- private
    def _load_edit(self, i: int, keep: bool) -> dict[str, np.ndarray]:
        edit = self.edits[i]
        folder = self.edit_dir(i)
        out: dict[str, np.ndarray] = {}
        for name, (dtype, width) in self.layout.items():
            file = folder / f"{name}.npy"
            want = (edit.n_frames,) if width is None else (edit.n_frames, width)
            out[name] = _open_npy(file, dtype, want)
        if keep:
            self._open[i] = out
            while len(self._open) > self.max_open_edits:  # bound open file descriptors
                self._open.popitem(last=False)
        return out


def _checksum(file: Path, algorithm: str) -> str:
    try:
        return store_manifest.file_checksum(file, algorithm)
    except TrackcoreError as exc:
        raise StoreError(exc.reason, file) from None
    except OSError as exc:
        raise StoreError(f"unreadable: {exc.strerror or exc}", file) from None


def _open_npy(file: Path, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    if not file.is_file():
        raise StoreError("missing array file", file)
    if 0 in shape:
        # mmap cannot map zero bytes (an edit without frames, a modality without columns);
        # the file still needs a well-formed header.
        try:
            arr = np.load(file, allow_pickle=False)
        except Exception as exc:
            raise StoreError(f"not a readable .npy file ({exc})", file) from None
    else:
        try:
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # bad magic, bad header, truncated data, object dtype
            raise StoreError(
                f"not a readable .npy file ({type(exc).__name__}: {exc})", file
            ) from None
    if arr.dtype != dtype:
        raise StoreError(f"dtype {arr.dtype}, expected {dtype}", file)
    if arr.shape != shape:
        raise StoreError(f"shape {arr.shape}, expected {shape} (from manifest.json)", file)
    return arr.view(np.ndarray)


def _read_manifest(store: Path) -> store_manifest.Manifest:
    """trackcore's one reader; its errors (format, layout version, fields, modality names)
    become StoreError naming the same file and field."""
    try:
        return store_manifest.read_manifest(store)
    except TrackcoreError as exc:
        raise StoreError(exc.reason, exc.path, exc.where) from None


def _edit_info(e: store_manifest.ManifestEdit) -> EditInfo:
    return EditInfo(e.edit_id, e.key, e.source_video_name, e.n_frames, e.fps, e.fps_fraction)
