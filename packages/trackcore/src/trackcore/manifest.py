"""The frame store's manifest: one documented, versioned JSON format, one writer, one reader.

featalign writes a frame store and seqwin reads it; both go through `write_manifest` and
`read_manifest`, so what is written is exactly what is read. The folder:

    STORE/manifest.json                      this file, written last
    STORE/edits/<key>/tracks.npy             float32 (n, n_tracks * TRACK_WIDTH)
    STORE/edits/<key>/<modality>.npy         float32 (n, len(modality_columns[modality]))
    STORE/edits/<key>/modality_mask.npy      float32 (n, len(modalities))
    STORE/edits/<key>/timestamps.npy         float64 (n,)

`manifest.json` (format "xmlai-framestore", version 1):

    format            "xmlai-framestore"
    version           1: the manifest format
    layout_version    the track layout of tracks.npy (trackcore.layout); a manifest written
                      before the field existed is layout 1
    n_tracks          N >= 1
    track_columns     trackcore.track_columns(N), the columns of tracks.npy
    modalities        canonical modality names (trackcore.modality), in modality_mask order
    modality_columns  {modality: [column, ...]}, the columns of <modality>.npy
    modality_kinds    {modality: {column: kind}} (continuous, binary, discrete, embedding)
    normalisation     null, or {name: a featalign normaliser's JSON, plus "applied": bool}
    edits             [{edit_id, key, source_video_name, n_frames, fps, fps_fraction,
                        checksums?: {"tracks.npy": "sha256:<hex>", ...}}], at least one;
                      `key` is the edit's folder under edits/ (one path component)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackcore.atomic import write_text
from trackcore.errors import LayoutError, ManifestError, ModalityNameError
from trackcore.layout import LAYOUT_VERSION, check_layout, check_track_columns, track_columns
from trackcore.modality import check_modality_name

FORMAT = "xmlai-framestore"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
CHECKSUM = "sha256"  # each digest is written "<algorithm>:<hex>"
_TYPES = {
    "n_tracks": int,
    "track_columns": list,
    "modalities": list,
    "modality_columns": dict,
    "edits": list,
}


@dataclass(frozen=True)
class ManifestEdit:
    """One edit of the store."""

    edit_id: str
    key: str
    n_frames: int
    source_video_name: str = ""
    fps: float = 0.0
    fps_fraction: str = ""
    checksums: dict[str, str] | None = None  # array file name -> "<algorithm>:<hex>"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "edit_id": self.edit_id,
            "key": self.key,
            "source_video_name": self.source_video_name,
            "n_frames": self.n_frames,
            "fps": self.fps,
            "fps_fraction": self.fps_fraction,
        }
        if self.checksums is not None:
            out["checksums"] = dict(self.checksums)
        return out


@dataclass
class Manifest:
    """A frame store's manifest (see the module docstring for each field)."""

    n_tracks: int
    modalities: list[str]
    modality_columns: dict[str, list[str]]
    edits: list[ManifestEdit]
    modality_kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    normalisation: dict[str, Any] | None = None
    layout_version: int = LAYOUT_VERSION

    @property
    def track_columns(self) -> list[str]:
        return track_columns(self.n_tracks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "layout_version": self.layout_version,
            "n_tracks": self.n_tracks,
            "track_columns": self.track_columns,
            "modalities": list(self.modalities),
            "modality_columns": {m: list(c) for m, c in self.modality_columns.items()},
            "modality_kinds": {m: dict(k) for m, k in self.modality_kinds.items()},
            "normalisation": self.normalisation,
            "edits": [e.to_dict() for e in self.edits],
        }

    @classmethod
    def from_dict(cls, m: Any, path: str | Path | None = None) -> Manifest:
        """Check `m` (the parsed JSON) against the format; ManifestError (or LayoutError,
        ModalityNameError) naming `path` and the field at fault."""
        if not isinstance(m, dict):
            raise ManifestError("top level is not a JSON object", path)
        if m.get("format") != FORMAT:
            raise ManifestError(f"format {m.get('format')!r}, expected {FORMAT!r}", path, "format")
        if m.get("version") != FORMAT_VERSION:
            raise ManifestError(
                f"version {m.get('version')!r} not supported (this reads {FORMAT_VERSION})",
                path,
                "version",
            )
        layout = m.get("layout_version", 1)  # before the field existed: layout 1
        try:
            check_layout(layout)
        except LayoutError as error:
            raise LayoutError(error.reason, path, "layout_version") from None
        for key, typ in _TYPES.items():
            if not isinstance(m.get(key), typ) or isinstance(m.get(key), bool):
                raise ManifestError(f"missing or not a {typ.__name__}", path, key)
        if m["n_tracks"] < 1:
            raise ManifestError(f"n_tracks {m['n_tracks']} is not at least 1", path, "n_tracks")
        try:
            check_track_columns(m["track_columns"], m["n_tracks"])
        except LayoutError as error:
            raise LayoutError(error.reason, path, "track_columns") from None
        for name in m["modalities"]:
            if not isinstance(name, str):
                raise ManifestError(f"modality name {name!r} is not a string", path, "modalities")
            cols = m["modality_columns"].get(name)
            if not isinstance(cols, list):
                raise ManifestError(
                    f"no column list for modality {name!r}", path, "modality_columns"
                )
        kinds = m.get("modality_kinds") or {}
        if not isinstance(kinds, dict) or not all(isinstance(k, dict) for k in kinds.values()):
            raise ManifestError("not an object of objects", path, "modality_kinds")
        normalisation = m.get("normalisation")
        if normalisation is not None and not isinstance(normalisation, dict):
            raise ManifestError("neither null nor an object", path, "normalisation")
        if not m["edits"]:
            raise ManifestError("the store has no edits", path, "edits")
        edits = [_edit(e, i, path) for i, e in enumerate(m["edits"])]
        for name in m["modalities"]:
            try:
                check_modality_name(name)
            except ModalityNameError as error:
                raise ModalityNameError(error.reason, path, "modalities") from None
        if len(set(m["modalities"])) != len(m["modalities"]):
            raise ManifestError("modalities listed twice", path, "modalities")
        keys = [e.key for e in edits]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ManifestError(f"edit key {dup!r} used by two edits", path, "edits")
        return cls(
            n_tracks=m["n_tracks"],
            modalities=list(m["modalities"]),
            modality_columns={k: list(v) for k, v in m["modality_columns"].items()},
            edits=edits,
            modality_kinds={k: dict(v) for k, v in kinds.items()},
            normalisation=normalisation,
            layout_version=layout,
        )


def is_one_path_component(name: object) -> bool:
    """A name that stays inside its folder: not empty, no separator, not '.' or '..', no
    surrounding spaces. Loose about characters (an edit key may keep letters of any script);
    strict about escaping the store."""
    return (
        isinstance(name, str)
        and name not in {"", ".", ".."}
        and not any(c in name for c in "/\\\x00")
        and name == name.strip()
    )


def _edit(e: object, i: int, path: str | Path | None) -> ManifestEdit:
    where = f"edits[{i}]"
    if not isinstance(e, dict):
        raise ManifestError("not a JSON object", path, where)
    try:
        key = e["key"]
        n = e["n_frames"]
        entry = ManifestEdit(
            edit_id=str(e["edit_id"]),
            key=key,
            n_frames=n,
            source_video_name=str(e.get("source_video_name") or ""),
            fps=float(e.get("fps", 0.0) or 0.0),
            fps_fraction=str(e.get("fps_fraction", "")),
            checksums=e.get("checksums"),
        )
    except KeyError as exc:
        raise ManifestError(f"missing field {exc.args[0]!r}", path, where) from None
    except (TypeError, ValueError) as exc:
        raise ManifestError(f"bad field value ({exc})", path, where) from None
    if not is_one_path_component(key):
        raise ManifestError(f"edit key {key!r} is not a safe folder name", path, where)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ManifestError(f"n_frames {n!r} is not a non-negative integer", path, where)
    sums = entry.checksums
    if sums is not None and not (
        isinstance(sums, dict) and all(isinstance(v, str) and ":" in v for v in sums.values())
    ):
        raise ManifestError("checksums is not an object of '<algorithm>:<hex>'", path, where)
    return entry


def manifest_path(store: str | Path) -> Path:
    return Path(store) / MANIFEST_FILE


def read_manifest(store: str | Path) -> Manifest:
    """The manifest of the frame store folder `store`, checked (see `Manifest.from_dict`)."""
    path = manifest_path(store)
    if not path.parent.is_dir():
        raise ManifestError("frame store folder does not exist", path.parent)
    if not path.is_file():
        raise ManifestError(f"missing {MANIFEST_FILE} (not a frame store?)", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"invalid JSON: {exc.msg}", path, f"line {exc.lineno} column {exc.colno}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"unreadable: {exc}", path) from None
    return Manifest.from_dict(data, path)


def write_manifest(store: str | Path, manifest: Manifest) -> Path:
    """Write `STORE/manifest.json` atomically; refused (ManifestError) when the reader would
    refuse it. Returns the file's path."""
    path = manifest_path(store)
    data = manifest.to_dict()
    Manifest.from_dict(json.loads(json.dumps(data)), path)  # exactly what the reader sees
    write_text(path, json.dumps(data, indent=1))
    return path


def file_checksum(path: str | Path, algorithm: str = CHECKSUM) -> str:
    """`<algorithm>:<hex>` of a file's bytes, read in chunks (OSError when unreadable)."""
    if algorithm not in hashlib.algorithms_available:
        raise ManifestError(f"unknown checksum algorithm {algorithm!r}", path)
    with Path(path).open("rb") as handle:
        return f"{algorithm}:{hashlib.file_digest(handle, algorithm).hexdigest()}"
