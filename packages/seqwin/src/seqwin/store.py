"""Read-only access to a frame store (written by featalign): a manifest plus memory-mapped .npy.

Layout (SPEC "Frame store"):
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

import hashlib
import json
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqwin.errors import StoreError

log = logging.getLogger("seqwin")

FORMAT = "xmlai-framestore"
VERSION = 1
TRACK_BLOCK = 9  # active, asset, scale, pos_x, pos_y, crop l/r/t/b
# Keys of a window item; a modality may not take one of these names.
RESERVED = frozenset(
    {"tracks", "modality_mask", "frame_mask", "start_frame", "edit_index", "timestamps"}
)


def _is_one_path_component(name: object) -> bool:
    """A name that stays inside its folder: not empty, no separator, not '.' or '..'.

    Deliberately loose about characters (featalign's slugs may keep letters of any script);
    strict about escaping the store.
    """
    return (
        isinstance(name, str)
        and name not in {"", ".", ".."}
        and not re.search(r"[/\\\x00]", name)
        and name == name.strip()
    )


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
        self.manifest_path = self.path / "manifest.json"
        self.manifest = _read_manifest(self.manifest_path)
        m = self.manifest
        self.n_tracks: int = m["n_tracks"]
        self.track_columns: list[str] = list(m["track_columns"])
        self.modalities: list[str] = list(m["modalities"])
        self.modality_columns: dict[str, list[str]] = {
            k: list(v) for k, v in m["modality_columns"].items()
        }
        self.normalisation = m.get("normalisation")
        self.edits: list[EditInfo] = [
            _edit_info(e, i, self.manifest_path) for i, e in enumerate(m["edits"])
        ]
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
        self._check_keys()
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
    def _check_keys(self) -> None:
        where = "manifest"
        for name in self.modalities:
            if name in RESERVED or not _is_one_path_component(name):
                raise StoreError(
                    f"modality name {name!r} is reserved or not a safe file name",
                    self.manifest_path,
                    where,
                )
        if len(set(self.modalities)) != len(self.modalities):
            raise StoreError("modalities listed twice", self.manifest_path, where)
        keys = [e.key for e in self.edits]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise StoreError(f"edit key {dup!r} used by two edits", self.manifest_path, where)

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
    if algorithm not in hashlib.algorithms_available:
        raise StoreError(f"unknown checksum algorithm {algorithm!r}", file)
    try:
        with file.open("rb") as handle:
            digest = hashlib.file_digest(handle, algorithm).hexdigest()
    except OSError as exc:
        raise StoreError(f"unreadable: {exc.strerror or exc}", file) from None
    return f"{algorithm}:{digest}"


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


def _read_manifest(path: Path) -> dict:
    if not path.parent.is_dir():
        raise StoreError("frame store folder does not exist", path.parent)
    if not path.is_file():
        raise StoreError("missing manifest.json (not a frame store?)", path)
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"invalid JSON: {exc.msg}", path, f"line {exc.lineno} column {exc.colno}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"unreadable: {exc}", path) from None
    if not isinstance(m, dict):
        raise StoreError("top level is not a JSON object", path)
    if m.get("format") != FORMAT:
        raise StoreError(f"format {m.get('format')!r}, expected {FORMAT!r}", path, "format")
    if m.get("version") != VERSION:
        raise StoreError(
            f"version {m.get('version')!r} not supported (this reads {VERSION})", path, "version"
        )
    types = {
        "n_tracks": int,
        "track_columns": list,
        "modalities": list,
        "modality_columns": dict,
        "edits": list,
    }
    for key, typ in types.items():
        if not isinstance(m.get(key), typ) or isinstance(m.get(key), bool):
            raise StoreError(f"missing or not a {typ.__name__}", path, key)
    if len(m["track_columns"]) != m["n_tracks"] * TRACK_BLOCK:
        raise StoreError(
            f"{len(m['track_columns'])} track columns, "
            f"expected n_tracks*9 = {m['n_tracks'] * TRACK_BLOCK}",
            path,
            "track_columns",
        )
    for name in m["modalities"]:
        if not isinstance(name, str):
            raise StoreError(f"modality name {name!r} is not a string", path, "modalities")
        cols = m["modality_columns"].get(name)
        if not isinstance(cols, list):
            raise StoreError(f"no column list for modality {name!r}", path, "modality_columns")
    if not m["edits"]:
        raise StoreError("the store has no edits", path, "edits")
    return m


def _edit_info(e: object, i: int, path: Path) -> EditInfo:
    where = f"edits[{i}]"
    if not isinstance(e, dict):
        raise StoreError("not a JSON object", path, where)
    try:
        key = e["key"]
        n = e["n_frames"]
        info = EditInfo(
            edit_id=str(e["edit_id"]),
            key=key,
            source_video_name=str(e.get("source_video_name") or ""),
            n_frames=n,
            fps=float(e.get("fps", 0.0) or 0.0),
            fps_fraction=str(e.get("fps_fraction", "")),
        )
    except KeyError as exc:
        raise StoreError(f"missing field {exc.args[0]!r}", path, where) from None
    except (TypeError, ValueError) as exc:
        raise StoreError(f"bad field value ({exc})", path, where) from None
    if not _is_one_path_component(key):
        raise StoreError(f"edit key {key!r} is not a safe folder name", path, where)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise StoreError(f"n_frames {n!r} is not a non-negative integer", path, where)
    return info
