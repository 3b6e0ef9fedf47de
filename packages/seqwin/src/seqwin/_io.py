"""Small file helpers: atomic writes and the per-run log file."""

from __future__ import annotations

import logging
from pathlib import Path

# atomic_path(target, suffix): a temporary path next to `target`, renamed into place only if
# the block succeeds (same folder, so os.replace is atomic; created with open("x"), so the file
# gets the user's umask, not 0600): trackcore's one atomic writer
from trackcore.atomic import atomic_path as atomic_path
from trackcore.atomic import write_json


def write_json_atomic(target: str | Path, obj: object) -> None:
    write_json(target, obj, indent=2, sort_keys=False)


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
