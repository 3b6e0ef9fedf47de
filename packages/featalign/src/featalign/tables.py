"""Reading and cleaning one feature table: time column checks, sorting, duplicates, values.

Rules (stated once, used everywhere):
- rows whose time is NaN or infinite cannot be placed in time: dropped, counted, warned;
- unsorted timestamps are stably sorted with a warning, or raise (`schema.unsorted`);
- repeated timestamps keep one row (`schema.duplicates`): by default the LAST row in file
  order, as later rows of a log are usually corrections; "first" and "error" exist too;
- NaN or inf inside feature values stay in place here; `align` zero-fills and counts them.
"""

from __future__ import annotations

import codecs
import gzip
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from featalign.errors import FeatureTableError
from featalign.schema import FeatureSchema, ResolvedColumns, resolve_columns

log = logging.getLogger("featalign")

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
SNIFF_BYTES = 64 * 1024  # a text table shows itself as text long before this


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in (*CSV_SUFFIXES, *PARQUET_SUFFIXES) if name.endswith(s)), "")


def read_table(path: str | Path, nrows: int | None = None) -> pd.DataFrame:
    """Read a CSV (.csv, .csv.gz, .tsv) or Parquet file; raise FeatureTableError if unusable."""
    path = Path(path)
    suffix = _suffix(path)
    try:
        if suffix in PARQUET_SUFFIXES:
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise FeatureTableError(
                    "reading Parquet needs pyarrow: pip install 'xmlai-featalign[parquet]'",
                    source=str(path),
                ) from None
            if nrows is not None:  # header only: the schema has exact types
                schema = pq.read_schema(path)
                return schema.empty_table().to_pandas()
            return pd.read_parquet(path)
        if suffix in CSV_SUFFIXES:
            refuse_binary(path)
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", nrows=nrows)
    except FeatureTableError:
        raise
    except pd.errors.EmptyDataError:
        raise FeatureTableError("empty file (no header, no rows)", source=str(path)) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise FeatureTableError(f"cannot read: {exc}", source=str(path)) from None
    except Exception as exc:  # pyarrow's own errors (corrupt parquet) share no base we can name
        raise FeatureTableError(
            f"cannot read: {type(exc).__name__}: {exc}", source=str(path)
        ) from None
    raise FeatureTableError(
        f"unknown feature file type {path.suffix!r} (use .csv, .csv.gz, .tsv, .parquet)",
        source=str(path),
    )


def refuse_binary(path: Path) -> None:
    """A CSV/TSV file whose first bytes are not UTF-8 text (NUL bytes, a video, a sparse file)
    is refused at once, before a parser reads gigabytes of it."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    nul = head.find(b"\0")
    if nul >= 0:
        raise FeatureTableError(
            f"binary content, not a text table (NUL byte at byte {nul})", source=str(path)
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as err:
        raise FeatureTableError(
            f"not UTF-8 text (byte {err.start}); save the table as UTF-8 CSV", source=str(path)
        ) from None


@dataclass
class FeatureTable:
    """A feature table ready to align: strictly increasing seconds and a float32 matrix."""

    source: str
    times: np.ndarray  # (m,) float64 seconds, strictly increasing
    values: np.ndarray  # (m, D) float32, may hold NaN/inf (align masks and counts them)
    resolved: ResolvedColumns
    rows_read: int
    bad_time_rows: int = 0  # NaN/inf time: dropped
    was_unsorted: bool = False
    duplicate_rows: int = 0  # removed by the duplicates rule
    nonfinite: dict[str, int] = field(default_factory=dict)  # column -> NaN/inf values
    warnings: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return self.resolved.columns

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, schema: FeatureSchema | None = None, source: str = "<table>"
    ) -> FeatureTable:
        schema = schema or FeatureSchema()
        resolved = resolve_columns(dict(frame.dtypes), schema, source)
        if resolved.dropped:
            log.info("%s: dropped non-numeric columns %s", source, resolved.dropped)
        warnings = list(resolved.warnings)
        if len(frame) == 0:
            raise FeatureTableError("empty feature table (header only, no rows)", source=source)
        raw_time = frame[resolved.time]
        if not (
            pd.api.types.is_numeric_dtype(raw_time) and not pd.api.types.is_bool_dtype(raw_time)
        ):
            raise FeatureTableError(
                f"time column is not numeric (dtype {raw_time.dtype})",
                source=source,
                where=f"column {resolved.time!r}",
            )
        times = raw_time.to_numpy(dtype=np.float64, na_value=np.nan) * schema.time_unit_s
        good = np.isfinite(times)
        bad_time = int((~good).sum())
        if bad_time:
            first = int(np.flatnonzero(~good)[0])
            warnings.append(f"dropped {bad_time} rows with NaN/inf time (first at row {first})")
            if bad_time == len(times):
                raise FeatureTableError(
                    "every time value is NaN or infinite",
                    source=source,
                    where=f"column {resolved.time!r}",
                )
        values = _value_matrix(frame, resolved)
        if bad_time:
            times, values = times[good], values[good]

        unsorted = bool(np.any(np.diff(times) < 0))
        if unsorted:
            if schema.unsorted == "error":
                row = int(np.flatnonzero(np.diff(times) < 0)[0]) + 1
                raise FeatureTableError(
                    "timestamps are not sorted", source=source, where=f"row {row}"
                )
            order = np.argsort(times, kind="stable")
            times, values = times[order], values[order]
            warnings.append("timestamps were not sorted; rows sorted by time")

        dup = np.diff(times) == 0
        n_dup = int(dup.sum())
        if n_dup:
            if schema.duplicates == "error":
                at = float(times[int(np.flatnonzero(dup)[0])])
                raise FeatureTableError(
                    f"{n_dup} repeated timestamps", source=source, where=f"time {at}"
                )
            if schema.duplicates == "last":
                keep = np.append(~dup, True)  # a row survives if the next has another time
            else:
                keep = np.insert(~dup, 0, True)
            times, values = times[keep], values[keep]
            warnings.append(f"{n_dup} rows with repeated timestamps; kept the {schema.duplicates}")

        bad = ~np.isfinite(values)
        nonfinite = {}
        if bad.any():
            counts = bad.sum(axis=0)
            nonfinite = {resolved.columns[k]: int(c) for k, c in enumerate(counts) if c}
            warnings.append(
                f"{int(counts.sum())} NaN/inf feature values in {len(nonfinite)} columns "
                "(zero-filled and counted when aligned)"
            )
        return cls(
            source=source,
            times=np.ascontiguousarray(times),
            values=np.ascontiguousarray(values),
            resolved=resolved,
            rows_read=len(frame),
            bad_time_rows=bad_time,
            was_unsorted=unsorted,
            duplicate_rows=n_dup,
            nonfinite=nonfinite,
            warnings=warnings,
        )


def _value_matrix(frame: pd.DataFrame, resolved: ResolvedColumns) -> np.ndarray:
    """(m, D) float32 in resolved order; declared-but-absent columns are zeros."""
    present = [c for c in resolved.columns if c not in resolved.absent]
    if not present:
        return np.zeros((len(frame), len(resolved.columns)), dtype=np.float32)
    sub = frame[present]
    plain = all(isinstance(dt, np.dtype) for dt in sub.dtypes)  # no nullable extension types
    # na_value makes pandas scan for missing values; plain numpy columns carry NaN already.
    block = sub.to_numpy(dtype=np.float32) if plain else sub.to_numpy(np.float32, na_value=np.nan)
    if not resolved.absent:
        return np.ascontiguousarray(block)
    values = np.zeros((len(frame), len(resolved.columns)), dtype=np.float32)
    values[:, [resolved.columns.index(c) for c in present]] = block
    return values


def load_features(
    table: str | Path | pd.DataFrame | FeatureTable,
    schema: FeatureSchema | None = None,
    source: str | None = None,
) -> FeatureTable:
    """A path, a DataFrame or an already loaded FeatureTable -> FeatureTable."""
    if isinstance(table, FeatureTable):
        return table
    if isinstance(table, pd.DataFrame):
        return FeatureTable.from_frame(table, schema, source or "<table>")
    path = Path(table)
    return FeatureTable.from_frame(read_table(path), schema, source or str(path))
