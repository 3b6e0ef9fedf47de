"""Build the frame store (SPEC.md / BRIEF.md layout) for a set of edits.

    STORE/manifest.json                      written last (trackcore.manifest: the format)
    STORE/alignment.json                     per edit and modality: the AlignmentReport
    STORE/edits/<key>/tracks.npy             float32 (n, N*9)
    STORE/edits/<key>/<modality>.npy         float32 (n, D_m)
    STORE/edits/<key>/modality_mask.npy      float32 (n, M)
    STORE/edits/<key>/timestamps.npy         float64 (n,)

Features are looked up at `source_timestamp` (the main source's clock; NaN = not on screen,
mask 0), or at `timestamp` when the table has no such column. The whole store is written in a
temporary sibling folder and renamed into place, so a crash leaves nothing half-written.
A modality's columns are the union over its files (first-seen order); a file lacking some
columns gets zeros there and a warning. One bad file or edit never stops the batch: it is
recorded in `StoreSummary.failures` and its modality mask is 0.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from featalign.alignment import align
from featalign.errors import FeatAlignError, StoreError, TrackTableError
from featalign.matching import FeatureIndex, discover_features, index_from_mapping
from featalign.normalise import (
    Normaliser,
    mask_inactive_tracks,
    track_columns,
    write_text_atomic,
)
from featalign.schema import FeatureSchema, resolve_columns
from featalign.tables import FeatureTable, load_features, read_table
from trackcore import META_COLUMNS as META_COLUMNS  # re-exported: the track table's metadata
from trackcore import TRACK_NEUTRAL, TRACK_WIDTH
from trackcore import count_tracks as count_tracks  # re-exported: tNN_active columns
from trackcore import manifest as store_manifest
from trackcore.atomic import atomic_dir
from trackcore.modality import MODALITY_RULE, RESERVED_NAMES, canonical_modality_name
from trackcore.modality import is_modality_name as _valid_modality

log = logging.getLogger("featalign")

STORE_FORMAT = store_manifest.FORMAT
STORE_VERSION = store_manifest.FORMAT_VERSION
# Modality names become file names and window keys next to these (trackcore.modality).
RESERVED = RESERVED_NAMES
CHECKSUM = store_manifest.CHECKSUM  # each digest in the manifest is written "sha256:<hex>"


@dataclass
class StoreSummary:
    path: Path
    n_tracks: int
    modalities: list[str]
    edits: list[dict] = field(default_factory=list)  # per edit: key, frames, per-modality info
    failures: list[dict] = field(default_factory=list)  # {"what": ..., "error": ...}
    warnings: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return sum(e["n_frames"] for e in self.edits)

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "n_edits": len(self.edits),
            "n_frames": self.n_frames,
            "n_tracks": self.n_tracks,
            "modalities": self.modalities,
            "edits": self.edits,
            "failures": self.failures,
            "warnings": self.warnings,
        }


# ---------------------------------------------------------------- track tables


def read_track_tables(tracks) -> tuple[list[tuple[str, pd.DataFrame]], list[dict]]:
    """DataFrame | path | list of those -> [(source, frame)], failures. An unreadable file is
    a failure, not an exception."""
    items = tracks if isinstance(tracks, list | tuple) else [tracks]
    tables, failures = [], []
    for k, item in enumerate(items):
        if isinstance(item, pd.DataFrame):
            tables.append((f"<tracks {k}>", item))
            continue
        path = Path(item)
        try:
            tables.append((str(path), read_table(path)))
        except FeatAlignError as exc:
            failures.append({"what": str(path), "error": str(exc)})
            log.error("%s", exc)
    return tables, failures


def _fps_of(edit: pd.DataFrame, timestamps: np.ndarray) -> Fraction | None:
    if "fps" in edit.columns and np.isfinite(edit["fps"].iloc[0]):
        return Fraction(float(edit["fps"].iloc[0])).limit_denominator(1001)
    if len(timestamps) < 2 or not timestamps[-1] > timestamps[0]:
        return None
    fps = (len(timestamps) - 1) / (timestamps[-1] - timestamps[0])
    frac = Fraction(fps).limit_denominator(1001)
    return frac if abs(float(frac) - fps) < 1e-6 * fps else Fraction(fps)


def edit_arrays(
    edit: pd.DataFrame, n_tracks: int, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One edit's rows -> tracks (n, N*9) float32, timestamps (n,), lookup times (n,)."""
    edit_id = str(edit["edit_id"].iloc[0])
    edit = edit.sort_values("frame", kind="stable")
    frames = edit["frame"].to_numpy()
    if not np.array_equal(frames, np.arange(len(edit))):
        raise TrackTableError(
            "frames are not exactly 0..n-1 (missing or repeated frames)",
            source=source,
            where=f"edit {edit_id!r}",
        )
    cols = track_columns(n_tracks)
    present = [c for c in cols if c in edit.columns]
    have = count_tracks(edit.columns)
    tracks = np.tile(np.array(TRACK_NEUTRAL, np.float32), (len(edit), n_tracks))
    try:
        block = edit[present].to_numpy(dtype=np.float32, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise TrackTableError(f"non-numeric track values ({exc})", source=source) from None
    tracks[:, [cols.index(c) for c in present]] = block
    if have * TRACK_WIDTH > len(present) and have <= n_tracks:
        missing = sorted(set(track_columns(have)) - set(present))
        raise TrackTableError(
            f"missing track columns {missing[:5]}", source=source, where=f"edit {edit_id!r}"
        )
    bad = ~np.isfinite(tracks)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise TrackTableError(
            "NaN or infinite track value",
            source=source,
            where=f"edit {edit_id!r} frame {r} {cols[c]}",
        )
    ts = edit["timestamp"].to_numpy(dtype=np.float64)
    if "source_timestamp" in edit.columns:
        lookup = edit["source_timestamp"].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        lookup = ts
    return tracks, ts, lookup


def video_of(edit: pd.DataFrame) -> str:
    """The edit's source video name ('' when absent: every modality is then missing)."""
    if "source_video_name" not in edit.columns:
        return ""
    names = edit["source_video_name"].dropna()
    return str(names.iloc[0]) if len(names) else ""


def edit_key(edit_id: str, taken: set[str]) -> str:
    """A filesystem-safe slug of edit_id, unique (case-insensitively) among `taken`."""
    ascii_id = unicodedata.normalize("NFKD", edit_id).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_id).strip("._-")[:64] or "edit"
    key, k = base, 1
    while key.lower() in taken:
        k += 1
        key = f"{base}-{k}"
    taken.add(key.lower())
    return key


# ---------------------------------------------------------------- modality layout


@dataclass
class _Layout:
    columns: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)


def _header(item) -> dict:
    if isinstance(item, FeatureTable):
        return {c: np.dtype(np.float32) for c in [item.resolved.time, *item.columns]}
    if isinstance(item, pd.DataFrame):
        return dict(item.dtypes)
    return dict(read_table(Path(item), nrows=200).dtypes)  # dtypes from the first rows


def _layouts(
    files: dict[str, list], schemas: dict[str, FeatureSchema], failures: list[dict]
) -> dict[str, _Layout]:
    layouts = {}
    for modality, items in files.items():
        lay = _Layout()
        for item in items:
            try:
                res = resolve_columns(_header(item), schemas[modality], _name(item))
            except FeatAlignError:
                continue  # reported when this file is aligned
            for g, cols in res.groups.items():
                lay.groups.setdefault(g, cols)
            for c in res.columns:
                if c not in lay.kinds:
                    lay.columns.append(c)
                    lay.kinds[c] = res.kinds[c]
        if lay.columns:
            layouts[modality] = lay
        else:
            failures.append({"what": f"modality {modality}", "error": "no usable feature file"})
    return layouts


def _name(item) -> str:
    if isinstance(item, FeatureTable):
        return item.source
    return "<table>" if isinstance(item, pd.DataFrame) else str(item)


def _collect_edits(tracks) -> tuple[list, list, list[dict]]:
    """Track tables -> [(source, one edit's rows)], the tables, failures."""
    tables, failures = read_track_tables(tracks)
    edits: list[tuple[str, pd.DataFrame]] = []
    seen: set[str] = set()
    for source, table in tables:
        missing = [c for c in ("edit_id", "frame", "timestamp") if c not in table.columns]
        if missing:
            failures.append({"what": source, "error": f"missing columns {missing}"})
            continue
        if len(table) == 0:
            failures.append({"what": source, "error": "track table has no rows"})
            continue
        for edit_id, g in table.groupby("edit_id", sort=False):
            if str(edit_id) in seen:
                failures.append({"what": source, "error": f"edit_id {edit_id!r} seen before"})
                continue
            seen.add(str(edit_id))
            edits.append((source, g))
    if not edits:
        detail = "; ".join(f["error"] for f in failures) or "no track tables given"
        raise TrackTableError(f"no edits to store ({detail})")
    return edits, tables, failures


def _select_modalities(index: FeatureIndex, modalities) -> tuple[list[str], list[str]]:
    """The store's modalities in mask order, and warnings for discovered names refused."""
    if modalities is not None:  # canonical, as discovered names are: 'Face-Mesh' is face_mesh
        bad = [m for m in modalities if not _valid_modality(canonical_modality_name(m))]
        if bad:
            raise StoreError(f"modality names {bad} are not allowed ({MODALITY_RULE})")
    mods, skipped = [], []
    for m in (canonical_modality_name(m) or m for m in (modalities or index.modalities)):
        if _valid_modality(m):
            mods.append(m)
        else:
            skipped.append(f"modality {m!r} skipped: {MODALITY_RULE}")
            log.warning("modality %r skipped: %s", m, MODALITY_RULE)
    return mods, skipped


# ---------------------------------------------------------------- the store


@dataclass
class _Plan:
    """What every edit is aligned against, decided once before any array is written."""

    index: FeatureIndex
    modalities: list[str]
    layouts: dict[str, _Layout]
    schemas: dict[str, FeatureSchema]
    max_gap_s: float | None
    n_tracks: int
    files: dict[str, list] = field(default_factory=dict)  # {modality: the files the edits use}
    keep_nan: bool = False  # a normaliser still has to see the missing cells


def _replaceable(out_dir: Path) -> bool:
    """Only a store (its manifest.json) or an empty folder is replaced: never a file, or a
    folder of someone's files that `-o` happened to name."""
    if not out_dir.is_dir():
        return False
    return (out_dir / "manifest.json").is_file() or not any(out_dir.iterdir())


def build_frame_store(
    tracks,
    features,
    out_dir: str | Path,
    *,
    schema: FeatureSchema | Mapping[str, FeatureSchema] | None = None,
    modalities: Sequence[str] | None = None,
    max_gap_s: float | None = None,
    normalisers: Mapping[str, Normaliser] | None = None,
    fit_on: Collection[str] | None = None,
    n_tracks: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> StoreSummary:
    """Write the frame store for every edit in `tracks`.

    tracks: a track table (DataFrame or CSV/Parquet path; may hold many edits) or a list.
    features: a features folder (see matching.py), a FeatureIndex, or
        {video name: {modality: path | DataFrame}}.
    schema: one FeatureSchema for all modalities or {modality: FeatureSchema}.
    modalities: the order of modality_mask columns (default: every modality found, sorted).
    normalisers: {modality: fitted Normaliser} applied to the stored features, or
    fit_on: edit_ids whose frames fit new normalisers (training edits only); the track
        regression statistics are fitted too and stored (not applied) under "tracks".
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise StoreError("already exists (pass overwrite=True)", source=str(out_dir))
    if out_dir.exists() and not _replaceable(out_dir):
        raise StoreError(
            "exists and is not a frame store (no manifest.json); not replaced, even with "
            "overwrite=True",
            source=str(out_dir),
        )
    if normalisers is not None and fit_on is not None:
        raise StoreError("give normalisers or fit_on, not both")

    edits, tables, failures = _collect_edits(tracks)
    n_tracks, wide = _track_count(tables, n_tracks)
    plan, warnings = _plan(edits, features, schema, modalities, max_gap_s, n_tracks, failures)
    if normalisers is not None:
        _check_normalisers(normalisers, plan)
    plan.keep_nan = normalisers is not None or fit_on is not None
    warnings += [f"{src}: more than {n_tracks} tracks; kept the first {n_tracks}" for src in wide]
    summary = StoreSummary(out_dir, n_tracks, plan.modalities, failures=failures, warnings=warnings)
    with atomic_dir(out_dir) as tmp:  # beside it, the user's umask; removed on failure
        manifest_edits, reports = _write_edits(edits, plan, tmp, summary, progress)
        if not manifest_edits:
            raise StoreError("every edit failed; nothing written", source=str(out_dir))
        stats = _normalise(tmp, manifest_edits, plan, normalisers, fit_on)
        _record_checksums(tmp, manifest_edits)
        write_text_atomic(tmp / "alignment.json", json.dumps(reports, indent=1))
        store_manifest.write_manifest(tmp, _manifest(plan, stats, manifest_edits))
    return summary


def _track_count(tables, asked: int | None) -> tuple[int, list[str]]:
    """The store's track count (asked, or the widest table's) and the tables wider than it."""
    n_tracks = asked or max(count_tracks(t.columns) for _, t in tables)
    if n_tracks < 1:
        raise TrackTableError("no t01_active... columns in the track tables")
    wide = [src for src, t in tables if count_tracks(t.columns) > n_tracks]
    if wide:
        log.warning("%s: more than %d tracks; kept the first %d", wide, n_tracks, n_tracks)
    return n_tracks, wide


def _plan(edits, features, schema, modalities, max_gap_s, n_tracks, failures):
    """The feature index, the modalities kept (each with a usable file) and their layouts."""
    if isinstance(features, FeatureIndex):
        index = features
    elif isinstance(features, Mapping):
        index = index_from_mapping(features)
    else:
        index = discover_features(features)
    mods, skipped = _select_modalities(index, modalities)
    warnings = [*index.warnings, *skipped]
    schemas = {
        m: (schema.get(m, FeatureSchema()) if isinstance(schema, Mapping) else schema)
        or FeatureSchema()
        for m in mods
    }
    plan = _Plan(index, mods, {}, schemas, max_gap_s, n_tracks)
    plan.files = _feature_files(edits, plan)
    plan.layouts = _layouts(plan.files, schemas, failures)
    for m in mods:
        if m not in plan.layouts:
            warnings.append(f"modality {m!r}: no usable feature file anywhere; left out")
            log.warning("modality %r: no usable feature file; left out of the store", m)
    plan.modalities = [m for m in mods if m in plan.layouts]
    return plan, warnings


def _feature_files(edits, plan: _Plan) -> dict[str, list]:
    """{modality: each distinct feature file the edits' videos use}, in video order."""
    files: dict[str, list] = {m: [] for m in plan.modalities}
    for video in sorted({video_of(g) for _, g in edits}):
        for m, item in plan.index.lookup(video).items():
            if m in files and not any(item is x for x in files[m]):
                files[m].append(item)
    return files


def _normalise(tmp, manifest_edits, plan: _Plan, normalisers, fit_on) -> dict | None:
    """Fit (on `fit_on`) or take the normalisers, apply them; the manifest's statistics."""
    if fit_on is not None:
        normalisers = _fit(tmp, manifest_edits, set(map(str, fit_on)), plan)
    if normalisers is None:
        return None
    _apply(tmp, manifest_edits, plan.modalities, normalisers)
    stats = {m: {**normalisers[m].to_dict(), "applied": True} for m in plan.modalities}
    if "tracks" in normalisers:
        stats["tracks"] = {**normalisers["tracks"].to_dict(), "applied": False}
    return stats


def _record_checksums(tmp: Path, manifest_edits: list[dict]) -> None:
    for entry in manifest_edits:  # the arrays as they stay: after normalisation
        folder = tmp / "edits" / entry["key"]
        entry["checksums"] = {f.name: file_checksum(f) for f in sorted(folder.glob("*.npy"))}


def _manifest(plan: _Plan, stats: dict | None, manifest_edits: list[dict]):
    mods, layouts = plan.modalities, plan.layouts
    return store_manifest.Manifest(
        n_tracks=plan.n_tracks,
        modalities=mods,
        modality_columns={m: layouts[m].columns for m in mods},
        modality_kinds={m: layouts[m].kinds for m in mods},
        normalisation=stats,
        edits=[store_manifest.ManifestEdit(**entry) for entry in manifest_edits],
    )


class _FeatureCache:
    """Loaded feature tables, a few videos deep; a bad file fails once, not once per edit
    that uses it."""

    def __init__(self, plan: _Plan):
        self.schemas = plan.schemas
        self.depth = 2 * max(1, len(plan.modalities))
        self.tables: OrderedDict = OrderedDict()  # (modality, file) -> FeatureTable | error

    def load(self, modality: str, item) -> FeatureTable:
        k = (modality, id(item) if isinstance(item, pd.DataFrame) else str(item))
        if k not in self.tables:
            try:
                self.tables[k] = load_features(item, self.schemas[modality], _name(item))
            except FeatAlignError as exc:
                self.tables[k] = exc
            while len(self.tables) > self.depth:
                self.tables.popitem(last=False)
        if isinstance(self.tables[k], FeatAlignError):
            raise self.tables[k]
        return self.tables[k]


@contextmanager
def _progress_bar(total: int, shown: bool) -> Iterator[Callable[[], None]]:
    """A rich bar over the edits when `shown`; yields the function that advances it."""
    if not shown:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=False) as bar:
        task = bar.add_task("aligning edits", total=total)
        yield lambda: bar.advance(task)


def _write_edits(edits, plan: _Plan, tmp: Path, summary: StoreSummary, progress: bool):
    """Each edit's arrays under tmp/edits/<key>/; the manifest's edit entries and the
    alignment reports. An edit that fails is recorded in the summary and left out."""
    taken: set[str] = set()
    manifest_edits, reports = [], {}
    cache = _FeatureCache(plan)
    with _progress_bar(len(edits), progress) as advance:
        for source, edit in edits:
            edit_id = str(edit["edit_id"].iloc[0])
            try:
                tracks, ts, lookup = edit_arrays(edit, plan.n_tracks, source)
            except FeatAlignError as exc:
                summary.failures.append({"what": f"edit {edit_id}", "error": str(exc)})
                log.error("%s", exc)
                continue
            key = edit_key(edit_id, taken)
            folder = tmp / "edits" / key
            folder.mkdir(parents=True)
            mask, per_mod, edit_reports = _write_features(
                edit, lookup, plan, cache, folder, summary
            )
            if edit_reports:
                reports[key] = edit_reports
            np.save(folder / "tracks.npy", tracks, allow_pickle=False)
            np.save(folder / "modality_mask.npy", mask, allow_pickle=False)
            np.save(folder / "timestamps.npy", ts, allow_pickle=False)
            entry = _edit_entry(edit, key, ts, summary)
            manifest_edits.append(entry)
            summary.edits.append(_summary_entry(entry, per_mod))
            advance()
    return manifest_edits, reports


def _edit_entry(edit: pd.DataFrame, key: str, ts: np.ndarray, summary: StoreSummary) -> dict:
    """The manifest's entry for one stored edit."""
    edit_id = str(edit["edit_id"].iloc[0])
    fps = _fps_of(edit, ts)
    if fps is None:
        fps = Fraction(30)
        summary.warnings.append(f"edit {edit_id}: fps unknown (one frame); wrote 30")
    return {
        "edit_id": edit_id,
        "key": key,
        "source_video_name": video_of(edit),
        "n_frames": len(ts),
        "fps": float(fps),
        "fps_fraction": f"{fps.numerator}/{fps.denominator}",
    }


def _summary_entry(entry: dict, per_modality: dict) -> dict:
    return {
        "edit_id": entry["edit_id"],
        "key": entry["key"],
        "n_frames": entry["n_frames"],
        "video": entry["source_video_name"],
        "modalities": per_modality,
    }


def _write_features(edit, lookup, plan: _Plan, cache: _FeatureCache, folder: Path, summary):
    """Every modality's aligned array for one edit (zeros, mask 0, where it has none or its
    file fails); the modality mask, the per-modality status and the alignment reports."""
    edit_id, video = str(edit["edit_id"].iloc[0]), video_of(edit)
    n = len(lookup)
    mask = np.zeros((n, len(plan.modalities)), dtype=np.float32)
    per_mod, reports = {}, {}
    found = plan.index.lookup(video) if video else {}
    for col, m in enumerate(plan.modalities):
        arr = np.zeros((n, len(plan.layouts[m].columns)), dtype=np.float32)
        item = found.get(m)
        if item is None:
            per_mod[m] = {"status": "missing"}
            log.info("edit %s: no %s features for video %r: mask 0", edit_id, m, video)
        else:
            try:
                al = align(lookup, cache.load(m, item), plan.schemas[m], plan.max_gap_s)
                _scatter(al, plan.layouts[m], arr, plan.keep_nan, _name(item))
                mask[:, col] = al.mask
                per_mod[m] = {
                    "status": "aligned",
                    "file": _name(item),
                    "coverage_pct": round(float(al.mask.mean()) * 100, 3),
                    "warnings": al.report.warnings,
                }
                reports[m] = al.report.to_dict()
            except FeatAlignError as exc:
                arr[:] = 0.0
                per_mod[m] = {"status": "failed", "file": _name(item), "error": str(exc)}
                summary.failures.append({"what": f"edit {edit_id} {m}", "error": str(exc)})
                log.error("edit %s: %s: mask 0", edit_id, exc)
        np.save(folder / f"{m}.npy", arr, allow_pickle=False)
    return mask, per_mod, reports


def _scatter(al, lay: _Layout, arr: np.ndarray, keep_nan: bool, source: str) -> None:
    """Aligned columns -> the modality's store layout; missing cells NaN only while a
    normaliser still has to see them (it turns them into 0)."""
    for g, cols in al.groups.items():
        if g in lay.groups and lay.groups[g] != cols:
            raise FeatAlignError(
                f"embedding group {g!r} is {len(cols)} wide here, {len(lay.groups[g])} in "
                "the store (dimension mismatch)",
                source=source,
            )
    pos = {c: k for k, c in enumerate(lay.columns)}
    src = [k for k, c in enumerate(al.columns) if c in pos]
    dst = [pos[al.columns[k]] for k in src]
    arr[:, dst] = al.values[:, src]
    if keep_nan and al.missing is not None:
        block = arr[:, dst]
        block[al.missing[:, src]] = np.nan
        arr[:, dst] = block
    absent = [c for c in lay.columns if c not in set(al.columns)]
    if absent:
        al.report.warnings.append(
            f"dimension mismatch: {len(absent)} store columns absent here, filled with 0 "
            f"(first: {absent[:3]})"
        )


def _fit(tmp, manifest_edits, fit_on, plan: _Plan) -> dict[str, Normaliser]:
    chosen = [e for e in manifest_edits if e["edit_id"] in fit_on]
    if not chosen:
        raise StoreError(f"fit_on names no stored edit ({sorted(fit_on)[:5]})")
    mods, layouts = plan.modalities, plan.layouts
    norms = {m: Normaliser(layouts[m].columns, layouts[m].kinds, layouts[m].groups) for m in mods}
    norms["tracks"] = Normaliser.for_tracks(plan.n_tracks)
    for e in chosen:
        folder = tmp / "edits" / e["key"]
        mask = np.load(folder / "modality_mask.npy", allow_pickle=False)
        for col, m in enumerate(mods):
            x = np.load(folder / f"{m}.npy", mmap_mode="r", allow_pickle=False)
            norms[m].partial_fit(np.asarray(x[mask[:, col] > 0]))
        tracks = np.load(folder / "tracks.npy", allow_pickle=False)
        norms["tracks"].partial_fit(mask_inactive_tracks(tracks))
    return norms


def _check_normalisers(normalisers, plan: _Plan) -> None:
    """Every modality has a normaliser fitted on exactly its columns, or the error names the
    feature files and the columns that differ."""
    for m in plan.modalities:
        if m not in normalisers:
            raise StoreError(f"no normaliser for modality {m!r}")
        fitted, here = normalisers[m].columns, plan.layouts[m].columns
        if fitted == here:
            continue
        missing = [c for c in fitted if c not in set(here)]
        extra = [c for c in here if c not in set(fitted)]
        if missing or extra:
            detail = f"missing {missing[:5]}, not in the normaliser {extra[:5]}"
        else:
            detail = f"the same {len(here)} columns in another order"
        raise StoreError(
            f"{m!r} features have other columns than the normaliser was fitted on ({detail})",
            source=", ".join(_name(item) for item in plan.files[m][:3]),
        )


def _apply(tmp, manifest_edits, mods, normalisers) -> None:
    for e in manifest_edits:
        folder = tmp / "edits" / e["key"]
        mask = np.load(folder / "modality_mask.npy", allow_pickle=False)
        for col, m in enumerate(mods):
            x = np.load(folder / f"{m}.npy", allow_pickle=False)
            z = normalisers[m].transform(x)
            z[mask[:, col] == 0] = 0.0
            np.save(folder / f"{m}.npy", z, allow_pickle=False)


def file_checksum(path: Path) -> str:
    """`sha256:<hex>` of a file's bytes, read in chunks (hashing costs a few per cent of a
    build; see tools/bench/bench_store_checksums.py)."""
    return store_manifest.file_checksum(path, CHECKSUM)
