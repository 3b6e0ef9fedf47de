"""Small file helpers: atomic writes and the per-run log file."""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `target`; rename it into place only if the block succeeds.

    Same folder so os.replace is atomic (same filesystem); a reader never sees half a file.
    Created empty with open("x"), not mkstemp, so the file gets the user's umask (not 0600).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = target.with_name(f".{target.name}.{secrets.token_hex(6)}{suffix}.tmp")
    tmp_path.open("x").close()
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_json_atomic(target: str | Path, obj: object) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def file_logger(log_path: str | Path, name: str = "seqwin.run") -> logging.Logger:
    """A logger writing to `log_path` (and to seqwin's usual handlers); one file per CLI run."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):  # a second run in the same process gets its own file
        logger.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger
