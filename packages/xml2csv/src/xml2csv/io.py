"""Writing tables without ever leaving a half-written file behind."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from trackcore.atomic import atomic_path

FORMATS = ("csv", "parquet")


def atomic_write(path: Path, write: Callable[[Path], None], suffix: str = "") -> None:
    """Run `write(tmp)` on a temporary file beside `path`, then rename it into place
    (`trackcore.atomic.atomic_path`: made with open("x"), so it has the user's umask; removed
    when `write` raises). `suffix` ends the temporary's name, for writers that need one."""
    with atomic_path(path, suffix) as tmp:
        write(tmp)


def write_table(table: pd.DataFrame, path: Path, fmt: str | None = None) -> None:
    fmt = fmt or ("parquet" if path.suffix.lower() == ".parquet" else "csv")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    import pyarrow as pa

    arrow = pa.Table.from_pandas(_plain_strings(table), preserve_index=False)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        atomic_write(path, lambda tmp: pq.write_table(arrow, tmp))
    else:
        import pyarrow.csv as pacsv  # several times faster than DataFrame.to_csv

        atomic_write(path, lambda tmp: pacsv.write_csv(arrow, tmp))


def _plain_strings(table: pd.DataFrame) -> pd.DataFrame:
    """Categoricals become strings so parts from different files share one schema."""
    cats = [c for c in table.columns if isinstance(table[c].dtype, pd.CategoricalDtype)]
    return table.astype({c: str for c in cats}) if cats else table


def safe_name(edit_id: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", edit_id).strip("._") or "edit"


def output_names(edit_ids: list[str]) -> dict[str, str]:
    """A distinct file name (without extension) per edit id: `safe_name`, and where two ids
    map to one name, ignoring case (as macOS and Windows do), each of them gets `-` and the
    first 8 hex digits of the BLAKE2b hash of its edit id, so the name does not depend on the
    order the files were found in."""
    by_name: dict[str, set[str]] = {}
    for edit_id in edit_ids:
        by_name.setdefault(safe_name(edit_id).casefold(), set()).add(edit_id)
    names = {}
    for edit_id in edit_ids:
        name = safe_name(edit_id)
        if len(by_name[name.casefold()]) > 1:
            name = f"{name}-{hashlib.blake2b(edit_id.encode(), digest_size=4).hexdigest()}"
        names[edit_id] = name
    if len({n.casefold() for n in names.values()}) < len(names):  # a hash collision: unheard of
        raise ValueError(f"edit ids {sorted(names)} give clashing file names")
    return names
