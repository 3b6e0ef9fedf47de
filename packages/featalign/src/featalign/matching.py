"""Finding each source video's feature files.

File names follow naming patterns; the defaults are the two layouts extractors here write:
    {stem}/{modality}.{ext}      e.g. features/My Clip/visual.parquet
    {stem}.{modality}.{ext}      e.g. features/My Clip.audio.csv
Other conventions are a setting, e.g. `{stem}_{modality}.{ext}` or `{stem}-{modality}.{ext}`
(the stem is the longest prefix that fits; a modality name is one word). In a per-video folder
a file that repeats the stem (`rec_01/rec_01_audio.csv`) is the modality after the stem.
<ext> is one of csv, csv.gz, tsv, parquet, pq. Names are compared by `video_key`:
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

from featalign.errors import FeatAlignError
from featalign.tables import CSV_SUFFIXES, PARQUET_SUFFIXES
from trackcore.modality import MODALITY_NAME as MODALITY_NAME  # re-exported
from trackcore.modality import MODALITY_NAME_RULE, canonical_modality_name

log = logging.getLogger("featalign")

FEATURE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES
# written beside feature files by extractors (media facts, schemas, words, logs): not features
SIDE_FILE_SUFFIXES = (".json", ".toml", ".log", ".lock", ".srt", ".vtt", ".txt", ".md")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
DEFAULT_NAMING = ("{stem}/{modality}.{ext}", "{stem}.{modality}.{ext}")
# one rule for every library (trackcore.modality): a modality name becomes a file name, a
# column prefix and a key; MODALITY_NAME and MODALITY_NAME_RULE are trackcore's
_SHOWN_NAMES = 5  # file names quoted when nothing matches
_FIELD_PATTERNS = {
    "stem": r"(?P<stem>[^/]+)",  # greedy: the longest stem that leaves a modality
    "modality": r"(?P<modality>[^/.]+)",
    # longest suffix first, so "x.audio.csv.gz" is not the modality "csv"
    "ext": "(?P<ext>"
    + "|".join(re.escape(s[1:]) for s in sorted(FEATURE_SUFFIXES, key=len, reverse=True))
    + ")",
}


class NamingError(FeatAlignError):
    """A naming pattern that cannot be used, or a folder where no file follows the naming."""


@dataclass(frozen=True)
class NamingPattern:
    """`{stem}_{modality}.{ext}` and the like; `{stem}/...` is a per-video folder."""

    text: str
    regex: re.Pattern

    @property
    def per_folder(self) -> bool:
        return "/" in self.text

    @classmethod
    def parse(cls, text: str) -> NamingPattern:
        parts = re.split(r"(\{[a-z]+\})", text)
        fields = [p[1:-1] for p in parts if p.startswith("{") and p.endswith("}")]
        if sorted(fields) != ["ext", "modality", "stem"]:
            raise NamingError(
                f"naming pattern {text!r} needs {{stem}}, {{modality}} and {{ext}} once each"
            )
        if text.count("/") > 1 or ("/" in text and not text.startswith("{stem}/")):
            raise NamingError(f"naming pattern {text!r}: a folder level must be '{{stem}}/'")
        regex = "".join(
            _FIELD_PATTERNS[p[1:-1]] if p in ("{stem}", "{modality}", "{ext}") else re.escape(p)
            for p in parts
        )
        return cls(text, re.compile(regex, re.IGNORECASE))

    def match(self, relative: str) -> tuple[str, str] | None:
        """'rec_01_audio.csv' -> ('rec_01', 'audio'), raw names; None when it does not fit."""
        found = self.regex.fullmatch(relative)
        return (found["stem"], found["modality"]) if found else None


def naming_patterns(naming: str | list[str] | tuple[str, ...] | None) -> list[NamingPattern]:
    if naming is None or (not isinstance(naming, str) and not naming):
        naming = DEFAULT_NAMING
    return [NamingPattern.parse(t) for t in ([naming] if isinstance(naming, str) else naming)]


def _clean(name: str) -> str:
    return unicodedata.normalize("NFC", unquote(name)).strip().casefold()


def modality_name(raw: str) -> str | None:
    """'Face-Mesh' -> 'face_mesh' (URL-decoded, then `trackcore.canonical_modality_name`);
    None for a name the rule refuses."""
    return canonical_modality_name(unquote(raw))


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


def _without_stem(relative: str) -> str:
    """'rec_01/rec_01_audio.csv' -> 'rec_01/audio.csv': a per-video folder's files may repeat
    the stem."""
    folder, slash, name = relative.partition("/")
    key = _clean(folder)
    if slash and _clean(name).startswith(key) and name[len(key) : len(key) + 1] in list("_-. "):
        rest = name[len(key) + 1 :]
        if rest and any(rest.lower().endswith(s) for s in FEATURE_SUFFIXES) and "." in rest:
            return f"{folder}/{rest}"
    return relative


def _split_feature_name(relative: str, patterns: list[NamingPattern]) -> tuple[str, str] | None:
    """(video key, raw modality) by the first pattern whose modality is a valid name, else
    by the first that fits at all (its modality is then refused with a message)."""
    fits = []
    for pattern in patterns:
        if pattern.per_folder != ("/" in relative):
            continue
        parts = pattern.match(_without_stem(relative) if pattern.per_folder else relative)
        if parts is not None:
            fits.append((_clean(parts[0]), parts[1]))
    valid = [f for f in fits if modality_name(f[1]) is not None]
    return (valid or fits or [None])[0]


@dataclass
class FeatureIndex:
    """video key -> modality -> file."""

    files: dict[str, dict[str, Path]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    root: Path | None = None
    naming: tuple[str, ...] = DEFAULT_NAMING
    unmatched: list[str] = field(default_factory=list)  # candidate files no pattern fits

    @property
    def modalities(self) -> list[str]:
        return sorted({m for mods in self.files.values() for m in mods})

    def lookup(self, source_video_name: str) -> dict[str, Path]:
        """The feature files of one video ({} when none: every modality is then missing)."""
        for key in reversed(video_keys(source_video_name)):
            if key in self.files:
                return self.files[key]
        return {}

    def require_files(self) -> None:
        """NamingError when the folder holds no feature file under the naming, with a few of
        the names it saw and the patterns it tried."""
        if self.files:
            return
        where = self.root if self.root is not None else "features"
        if not self.unmatched:
            raise NamingError(f"{where}: no feature files (*.csv, *.parquet, ...) found")
        shown = ", ".join(repr(n) for n in self.unmatched[:_SHOWN_NAMES])
        more = len(self.unmatched) - _SHOWN_NAMES
        raise NamingError(
            f"{where}: no file follows the naming {list(self.naming)}; saw {shown}"
            + (f" and {more} more" if more > 0 else "")
            + " (set the naming, e.g. '{stem}_{modality}.{ext}')"
        )


def _candidate_files(root: Path) -> list[Path]:
    paths = sorted(p for p in root.iterdir() if p.is_file())
    paths += sorted(p for d in sorted(root.iterdir()) if d.is_dir() for p in d.iterdir())
    return [
        p
        for p in paths
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in SIDE_FILE_SUFFIXES
    ]


def discover_features(features_dir: str | Path, naming=None) -> FeatureIndex:
    """Every feature file under `features_dir` (one folder level) by `naming`: a pattern or a
    list of them, tried in order (default `DEFAULT_NAMING`)."""
    root = Path(features_dir)
    patterns = naming_patterns(naming)
    index = FeatureIndex(root=root, naming=tuple(p.text for p in patterns))
    if not root.is_dir():
        index.warnings.append(f"{root}: features folder does not exist")
        log.warning("%s: features folder does not exist", root)
        return index
    for path in _candidate_files(root):
        relative = path.relative_to(root).as_posix()
        parts = _split_feature_name(relative, patterns)
        if parts is None:
            index.unmatched.append(relative)
            index.warnings.append(f"{path}: follows none of the naming {list(index.naming)}")
            log.info("%s: follows none of the naming %s; ignored", path, list(index.naming))
            continue
        key, raw = parts
        modality = modality_name(raw)
        if modality is None:
            index.warnings.append(f"{path}: modality {raw!r} is not {MODALITY_NAME_RULE}")
            log.warning("%s: modality %r is not %s; ignored", path, raw, MODALITY_NAME_RULE)
            continue
        _add(index, key, modality, path)
    return index


def _add(index: FeatureIndex, key: str, modality: str, path: Path) -> None:
    mods = index.files.setdefault(key, {})
    if modality in mods:
        index.warnings.append(f"{path}: second {modality} file for {key!r}; kept {mods[modality]}")
        log.warning(
            "%s: duplicate %s features for %r; kept %s", path, modality, key, mods[modality]
        )
        return
    mods[modality] = path


def index_from_mapping(mapping) -> FeatureIndex:
    """{video name: {modality: path or DataFrame}} -> FeatureIndex (keys as video_key)."""
    index = FeatureIndex()
    for name, mods in mapping.items():
        for raw, item in mods.items():
            modality = modality_name(str(raw))
            if modality is None:
                raise NamingError(f"modality {raw!r} of {name!r} is not {MODALITY_NAME_RULE}")
            index.files.setdefault(video_key(name), {})[modality] = item
    return index
