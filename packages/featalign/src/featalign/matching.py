"""Finding each source video's feature files.

Naming convention (the modality name comes from the file name):
    FEATURES_DIR/<video stem>.<modality>.<ext>      e.g. features/My Clip.audio.csv
    FEATURES_DIR/<video stem>/<modality>.<ext>      e.g. features/My Clip/visual.parquet
with <ext> one of csv, csv.gz, tsv, parquet, pq. Names are compared by `video_key`:
URL-decoded, Unicode NFC, case-folded, directory and extension removed. A video name keeps
its full name as a second candidate, so `clip.v2` finds `clip.v2.audio.csv`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from featalign.tables import CSV_SUFFIXES, PARQUET_SUFFIXES

log = logging.getLogger("featalign")

FEATURE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES
# written beside feature files by extractors (media facts, schemas, words, logs): not features
SIDE_FILE_SUFFIXES = (".json", ".toml", ".log", ".lock", ".srt", ".vtt", ".txt", ".md")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def _clean(name: str) -> str:
    return unicodedata.normalize("NFC", unquote(name)).strip().casefold()


def video_keys(name: str) -> list[str]:
    """Candidate keys for a source video name or path (most specific last)."""
    name = str(name).strip()
    if re.match(r"file:/", name, re.IGNORECASE):  # a URL; "file:.mp4" is a file name
        name = urlparse(name).path
    base = re.split(r"[/\\]", unquote(name))[-1]
    full = _clean(base)
    stem = _EXTENSION.sub("", full)
    return [stem, full] if stem and stem != full else [full]


def video_key(name: str) -> str:
    """'file://localhost/Users/me/My%20Clip.MP4' -> 'my clip'."""
    return video_keys(name)[0]


def _split_feature_name(path: Path, root: Path) -> tuple[str, str] | None:
    name = path.name
    suffix = next((s for s in FEATURE_SUFFIXES if name.lower().endswith(s)), None)
    if suffix is None:
        return None
    bare = name[: -len(suffix)]
    if path.parent != root:  # per-video folder: <stem>/<modality>.<ext>
        return _clean(path.parent.name), bare.casefold()
    stem, dot, modality = bare.rpartition(".")
    if not dot or not stem or not modality:
        return None
    return _clean(stem), modality.casefold()


@dataclass
class FeatureIndex:
    """video key -> modality -> file."""

    files: dict[str, dict[str, Path]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def modalities(self) -> list[str]:
        return sorted({m for mods in self.files.values() for m in mods})

    def lookup(self, source_video_name: str) -> dict[str, Path]:
        """The feature files of one video ({} when none: every modality is then missing)."""
        for key in reversed(video_keys(source_video_name)):
            if key in self.files:
                return self.files[key]
        return {}


def discover_features(features_dir: str | Path) -> FeatureIndex:
    root = Path(features_dir)
    index = FeatureIndex()
    if not root.is_dir():
        index.warnings.append(f"{root}: features folder does not exist")
        log.warning("%s: features folder does not exist", root)
        return index
    paths = sorted(p for p in root.iterdir() if p.is_file())
    paths += sorted(p for d in sorted(root.iterdir()) if d.is_dir() for p in d.iterdir())
    for path in paths:
        if path.name.startswith(".") or path.suffix.lower() in SIDE_FILE_SUFFIXES:
            continue
        parts = _split_feature_name(path, root)
        if parts is None:
            index.warnings.append(f"{path}: not <video>.<modality>.<ext>; ignored")
            log.info("%s: not a feature file name (<video>.<modality>.<ext>); ignored", path)
            continue
        key, modality = parts
        mods = index.files.setdefault(key, {})
        if modality in mods:
            index.warnings.append(
                f"{path}: second {modality} file for {key!r}; kept {mods[modality]}"
            )
            log.warning(
                "%s: duplicate %s features for %r; kept %s", path, modality, key, mods[modality]
            )
            continue
        mods[modality] = path
    return index


def index_from_mapping(mapping) -> FeatureIndex:
    """{video name: {modality: path or DataFrame}} -> FeatureIndex (keys as video_key)."""
    index = FeatureIndex()
    for name, mods in mapping.items():
        index.files.setdefault(video_key(name), {}).update(
            {str(m).casefold(): v for m, v in mods.items()}
        )
    return index
