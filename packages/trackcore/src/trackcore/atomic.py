"""Nothing written half-way: every output goes to a temporary name beside its target and is
renamed into place (`os.replace`, atomic on one filesystem) only when it is complete.

Temporary files are named `.<target name>.tmp-<token><suffix>` (`TEMP_NAME` matches them;
`<token>` is random unless the caller gives one, e.g. its pid) and temporary folders
`.<target name>.tmp-<token>`: hidden, in the target's own folder. They are created with
`open("x")` / `mkdir`, never `mkstemp` / `mkdtemp`, so outputs get the user's umask (0600 and
0700 hid them from the others sharing a folder). On any error, the temporary is removed and
the target is left as it was.

    with atomic_path("out/table.parquet") as tmp:     # any writer that takes a path
        pq.write_table(table, tmp)
    with atomic_open("out/model.pt", "wb", fsync=True) as handle:
        torch.save(state, handle)
    write_json("out/summary.json", summary)
    with atomic_dir("out/store") as tmp:              # a whole folder, swapped in at the end
        ...
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# `.<target>.tmp-<token><suffix>`: what temp_path names (files) and temp_dir names (folders)
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.tmp-(?P<token>[0-9A-Za-z]+)(?P<suffix>\.[^.]+)?$")


def temp_path(target: str | Path, suffix: str = "", token: str | None = None) -> Path:
    """`.<name>.tmp-<token><suffix>` beside `target` (a random token unless one is given). A
    suffix keeps the extension for writers that pick their format by it (`.png`, `.npz`)."""
    target = Path(target)
    return target.with_name(f".{target.name}.tmp-{token or secrets.token_hex(6)}{suffix}")


def is_temp_name(name: str, target: str | None = None) -> bool:
    """Whether `name` is a temporary of ours (of `target`'s, when given)."""
    found = TEMP_NAME.match(name)
    return found is not None and (target is None or found["target"] == target)


@contextmanager
def atomic_path(target: str | Path, suffix: str = "", token: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` when the block ends
    without an error, remove it when it raises. The folder is created when missing.

    With a random token the temporary is created empty first (exclusively, with the user's
    umask), so a writer that opens it again keeps that mode. With the caller's `token` (one
    per process) it is not created: whatever a killed writer left under that name is
    overwritten.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target, suffix, token)
    if token is None:
        tmp.open("x").close()
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(
    target: str | Path,
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    fsync: bool = False,
    suffix: str = "",
    token: str | None = None,
) -> Iterator[IO[Any]]:
    """Yield an open file ("w" or "wb") on a temporary beside `target`, renamed into place
    after it is closed (and, with `fsync`, flushed to the disk first)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a new file: mode 'w' or 'wb', not {mode!r}")
    binary = mode == "wb"
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target, suffix, token)
    opened = ("x" if token is None else "w") + ("b" if binary else "")
    handle = tmp.open(opened, encoding=None if binary else encoding)
    try:
        with handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(target: str | Path, data: bytes, *, fsync: bool = False) -> Path:
    with atomic_open(target, "wb", fsync=fsync) as handle:
        handle.write(data)
    return Path(target)


def write_text(
    target: str | Path, text: str, *, encoding: str = "utf-8", fsync: bool = False
) -> Path:
    with atomic_open(target, "w", encoding=encoding, fsync=fsync) as handle:
        handle.write(text)
    return Path(target)


def write_json(
    target: str | Path,
    data: Any,
    *,
    indent: int | None = 2,
    newline: bool = True,
    fsync: bool = False,
    **dumps: Any,
) -> Path:
    """`json.dumps(data, indent=indent, **dumps)` (plus a final newline), written atomically;
    the text is made before anything is written, so a value JSON refuses writes nothing."""
    text = json.dumps(data, indent=indent, **dumps) + ("\n" if newline else "")
    return write_text(target, text, fsync=fsync)


def temp_dir(target: str | Path, token: str | None = None) -> Path:
    """A new, empty folder `.<name>.tmp-<token>` beside `target` (the user's umask, not
    mkdtemp's 0700), to fill and then `replace_dir` onto `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target, token=token)
    tmp.mkdir()
    return tmp


def replace_dir(work: str | Path, target: str | Path) -> None:
    """Rename the finished folder `work` onto `target`. An existing `target` is moved aside
    first (`.<name>.old-<token>`) and removed after, so `target` is never half of each."""
    work, target = Path(work), Path(target)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{secrets.token_hex(6)}")
        os.replace(target, old)
        os.replace(work, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(work, target)


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a new temporary folder beside `target`; swap it onto `target` when the block
    ends without an error (`replace_dir`), remove it when it raises."""
    tmp = temp_dir(target)
    try:
        yield tmp
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
