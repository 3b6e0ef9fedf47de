"""Declarative feature schema: which column is time and how each feature column is aligned.

Kinds and how `align` treats them:
- continuous: linear interpolation between the two neighbouring samples
- binary, discrete: previous value (a flag or class never takes an in-between value)
- embedding: a group `prefix_0..prefix_{k-1}`, interpolated then L2-renormalised, nearest
  neighbour across a large change (cosine similarity of the neighbours < `cut_similarity`)
- ignored: not aligned (ids, frame counters); non-numeric columns are dropped with a log line

Entries in the kind lists are column names or glob patterns (`face_*`), matched
case-insensitively. An exact name beats a pattern; among equals the order is
ignored, continuous, binary, discrete. Unknown numeric columns are continuous (bool: binary).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from fnmatch import translate
from pathlib import Path

import numpy as np
import pandas as pd

from featalign.errors import FeatureTableError, SchemaError

KINDS = ("continuous", "binary", "discrete", "embedding")
TIME_ALIASES = ("time", "timestamp", "time_s", "seconds", "t", "sec")
_INDEXED = re.compile(r"^(?P<prefix>.+?)_?(?P<index>\d+)$")


@dataclass
class FeatureSchema:
    time_column: str | None = None  # None: the first of TIME_ALIASES present (case-insensitive)
    time_unit_s: float = 1.0  # multiply the time column by this to get seconds (ms: 0.001)
    continuous: list[str] = field(default_factory=list)
    binary: list[str] = field(
        default_factory=lambda: [
            "is_*", "has_*", "*_present", "*_detected", "speech", "vad", "voice_activity",
        ]
    )  # fmt: skip
    discrete: list[str] = field(
        default_factory=lambda: ["*_class", "*_label", "*_count", "speaker", "scene", "shot"]
    )
    ignored: list[str] = field(
        default_factory=lambda: [
            "id", "*_id", "frame", "frame_index", "frame_idx", "index", "unnamed: *",
        ]
    )  # fmt: skip
    embeddings: dict[str, int | None] = field(default_factory=dict)  # prefix -> width (None: any)
    embedding_min_width: int = 64  # auto-detect prefix_0..prefix_{k-1} groups with k >= this
    cut_similarity: float = 0.5  # neighbours' cosine below this: nearest instead of interpolating
    time_tolerance_s: float = 1e-6  # a frame this close to a sample takes that sample exactly
    unsorted: str = "sort"  # "sort" (with a warning) or "error"
    duplicates: str = "last"  # repeated timestamps: "last" row wins, "first", or "error"
    interpolation_warn_pct: float = 50.0
    gap_warn_s: float = 5.0

    def __post_init__(self) -> None:
        if self.unsorted not in ("sort", "error"):
            raise SchemaError(f"unsorted must be 'sort' or 'error', not {self.unsorted!r}")
        if self.duplicates not in ("last", "first", "error"):
            raise SchemaError(
                f"duplicates must be 'last', 'first' or 'error', not {self.duplicates!r}"
            )
        if not self.time_unit_s > 0:
            raise SchemaError(f"time_unit_s must be > 0, not {self.time_unit_s!r}")
        if not -1.0 <= self.cut_similarity <= 1.0:
            raise SchemaError(f"cut_similarity must lie in [-1, 1], not {self.cut_similarity!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_schema(path: str | Path, modality: str | None = None) -> FeatureSchema:
    """Read a TOML schema. Top-level keys are FeatureSchema fields; a `[modalities.<name>]`
    table overrides them for that modality, e.g. `[modalities.visual.embeddings] clip = 512`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SchemaError(f"cannot read schema: {exc}", source=str(path)) from None
    per_modality = data.pop("modalities", {})
    if modality is not None and modality in per_modality:
        data = {**data, **per_modality[modality]}
    return schema_from_dict(data, source=str(path))


def schema_from_dict(data: dict, source: str = "<schema>") -> FeatureSchema:
    names = {f.name for f in dataclasses.fields(FeatureSchema)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise SchemaError(f"unknown keys {unknown}; known: {sorted(names)}", source=source)
    try:
        return FeatureSchema(**data)
    except TypeError as exc:
        raise SchemaError(str(exc), source=source) from None


@dataclass
class ResolvedColumns:
    """The schema applied to one table's header: what gets aligned, in output order."""

    time: str
    columns: list[str]  # output order; embedding groups are contiguous, ordered by index
    kinds: dict[str, str]  # column -> kind
    groups: dict[str, list[str]]  # embedding group name -> its columns
    absent: list[str]  # declared by exact name but not in the table: output as zeros
    dropped: list[str]  # non-numeric columns
    ignored: list[str]
    warnings: list[str] = field(default_factory=list)


def _default_names(kind: str) -> list[str]:
    # Names that come with the defaults are hints, not a promise that the column exists.
    return getattr(FeatureSchema(), kind)


def find_time_column(columns: list[str], schema: FeatureSchema) -> str | None:
    if schema.time_column is not None:
        return schema.time_column if schema.time_column in columns else None
    lowered = {c.lower(): c for c in reversed(columns)}
    return next((lowered[a] for a in TIME_ALIASES if a in lowered), None)


def _kind_matchers(schema: FeatureSchema) -> list[tuple[str, set[str], re.Pattern | None]]:
    matchers = []
    for kind in ("ignored", "continuous", "binary", "discrete"):
        entries = [e.lower() for e in getattr(schema, kind)]
        globs = [translate(e) for e in entries if any(ch in e for ch in "*?[")]
        matchers.append((kind, set(entries), re.compile("|".join(globs)) if globs else None))
    return matchers


def _declared_kind(name: str, matchers) -> str | None:
    low = name.lower()
    for kind, exact, _ in matchers:
        if low in exact:
            return kind
    for kind, _, pattern in matchers:
        if pattern is not None and pattern.match(low):
            return kind
    return None


def _indexed_groups(columns: list[str]) -> dict[str, dict[int, str]]:
    groups: dict[str, dict[int, str]] = {}
    for c in columns:
        m = _INDEXED.match(c)
        if m:
            groups.setdefault(m["prefix"], {})[int(m["index"])] = c
    return groups


def _is_contiguous(indices: list[int]) -> bool:
    return indices == list(range(indices[0], indices[0] + len(indices)))


def resolve_columns(
    dtypes: dict[str, np.dtype], schema: FeatureSchema, source: str = "<table>"
) -> ResolvedColumns:
    """Apply `schema` to a table header (`{column: dtype}`, in file order): find the time
    column, then the embedding groups the schema declares, the kinds it declares, the groups
    it did not declare, the kinds of what is left, and the order the columns are read in."""
    names = list(dtypes)
    time = _time_column(names, schema, source)
    candidates = [c for c in names if c != time]
    indexed = _indexed_groups(candidates)
    groups = _declared_groups(indexed, schema, source)
    kinds, ignored = _declared_kinds(candidates, groups, schema)
    groups.update(_detected_groups(indexed, groups, kinds, ignored, schema))
    dropped = _numeric_kinds(candidates, dtypes, kinds, groups, ignored, source)
    warnings = [f"dropped non-numeric columns: {dropped}"] if dropped else []
    columns = _file_order(candidates, kinds, groups)
    absent = _absent_declared(names, schema, kinds, columns)
    if absent:
        warnings.append(f"dimension mismatch: declared columns missing, filled with 0: {absent}")
    return ResolvedColumns(time, columns, kinds, groups, absent, dropped, ignored, warnings)


def _time_column(names: list[str], schema: FeatureSchema, source: str) -> str:
    time = find_time_column(names, schema)
    if time is None:
        wanted = schema.time_column or f"one of {list(TIME_ALIASES)}"
        raise FeatureTableError(f"no time column ({wanted}); columns: {names[:12]}", source=source)
    return time


def _declared_groups(indexed, schema: FeatureSchema, source: str) -> dict[str, list[str]]:
    """The embedding groups the schema declares: their width is part of the contract."""
    groups = {}
    for prefix, width in schema.embeddings.items():
        members = indexed.get(prefix, {})
        if not members:
            continue
        order = sorted(members)
        if not _is_contiguous(order) or (width is not None and len(order) != width):
            raise SchemaError(
                f"embedding group {prefix!r} has {len(order)} columns "
                f"(indices {order[0]}..{order[-1]}), schema says {width or 'contiguous'}",
                source=source,
                where=f"columns {prefix}_*",
            )
        groups[prefix] = [members[i] for i in order]
    return groups


def _declared_kinds(candidates, groups, schema: FeatureSchema) -> tuple[dict, list[str]]:
    """({column: kind} the schema names, [columns it ignores]) outside the declared groups."""
    claimed = {c for cols in groups.values() for c in cols}
    matchers = _kind_matchers(schema)
    kinds, ignored = {}, []
    for c in candidates:
        if c in claimed:
            continue
        kind = _declared_kind(c, matchers)
        if kind == "ignored":
            ignored.append(c)
        elif kind is not None:
            kinds[c] = kind
    return kinds, ignored


def _detected_groups(indexed, groups, kinds, ignored, schema: FeatureSchema) -> dict:
    """Embedding groups among the columns nobody declared: contiguous `prefix_N` runs at
    least `embedding_min_width` wide."""
    claimed = {c for cols in groups.values() for c in cols}
    found = {}
    for prefix, members in indexed.items():
        order = sorted(members)
        free = all(members[i] not in kinds and members[i] not in claimed for i in order)
        if (
            prefix not in groups
            and free
            and len(order) >= schema.embedding_min_width
            and _is_contiguous(order)
            and not any(members[i] in ignored for i in order)
        ):
            found[prefix] = [members[i] for i in order]
            claimed.update(found[prefix])
    return found


def _numeric_kinds(candidates, dtypes, kinds, groups, ignored, source: str) -> list[str]:
    """Give every numeric column its kind (embedding members, then binary or continuous by
    dtype) in `kinds`; -> the non-numeric columns, dropped."""
    for cols in groups.values():
        for c in cols:
            kinds[c] = "embedding"
    dropped = []
    for c in candidates:
        if c in ignored:
            continue
        dt = dtypes[c]
        numeric = pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)
        if not numeric:
            kinds.pop(c, None)
            dropped.append(c)
            continue
        if c not in kinds:
            kinds[c] = "binary" if pd.api.types.is_bool_dtype(dt) else "continuous"
    for prefix, cols in groups.items():
        if any(c in dropped for c in cols):
            raise SchemaError(f"embedding group {prefix!r} has non-numeric columns", source=source)
    return dropped


def _file_order(candidates, kinds, groups) -> list[str]:
    """The columns read, in file order, each embedding group in one block at its first column."""
    columns: list[str] = []
    placed: set[str] = set()
    group_of = {c: g for g, cols in groups.items() for c in cols}
    for c in candidates:
        if c not in kinds or c in placed:
            continue
        block = groups[group_of[c]] if c in group_of else [c]
        columns.extend(block)
        placed.update(block)
    return columns


def _absent_declared(names, schema: FeatureSchema, kinds, columns) -> list[str]:
    """Columns the user declared by exact name that the table lacks: added to `kinds` and
    `columns`, to be filled with 0 (the default patterns are globs and never count)."""
    declared_exact = [
        (kind, e)
        for kind, entries in (
            ("continuous", schema.continuous),
            ("binary", schema.binary),
            ("discrete", schema.discrete),
        )
        for e in entries
        if not any(ch in e for ch in "*?[") and e not in _default_names(kind)
    ]
    lowered = {c.lower() for c in names}
    absent = []
    for kind, e in declared_exact:
        if e.lower() not in lowered and e not in absent:
            absent.append(e)
            kinds[e] = kind
            columns.append(e)
    return absent
