"""The one way mediafeat writes JSON: strict (no NaN), UTF-8, to a temporary file beside the
target, then renamed into place, so a reader never sees half a file."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def write_json(path: str | Path, data) -> None:
    path = Path(path)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n"
    # open("x") rather than mkstemp: the file gets the user's umask, not 0600
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    handle = tmp.open("x", encoding="utf-8")
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
