"""The one way mediafeat writes JSON: strict (no NaN), UTF-8, to a temporary file beside the
target, then renamed into place, so a reader never sees half a file (trackcore's atomic
writer: the user's umask, fsync before the rename)."""

from __future__ import annotations

from pathlib import Path

from trackcore import atomic


def write_json(path: str | Path, data) -> None:
    atomic.write_json(
        path, data, indent=2, ensure_ascii=False, allow_nan=False, default=str, fsync=True
    )
