"""Every command writes a log file and a machine-readable summary beside its outputs."""

from __future__ import annotations

import json
import logging
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trackcore import atomic

log = logging.getLogger("xmlai")


class PipelineError(Exception):
    """A pipeline step that cannot go on; the message says what to do about it."""


def plain(value: Any) -> Any:
    """Strict JSON: numpy scalars as numbers, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, data: Any) -> None:
    """Atomic (temporary file, then rename); strict JSON (no NaN)."""
    text = json.dumps(plain(data), indent=2, ensure_ascii=False, default=str, allow_nan=False)
    write_text(path, text)


def write_text(path: Path, text: str) -> None:
    """Atomic: trackcore's writer (a temporary beside `path`, the user's umask, renamed)."""
    atomic.write_text(path, text)


@contextmanager
def logging_to(path: Path):
    """Send the libraries' log records (xmlai and every library) to a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    names = ("xmlai", "xml2csv", "featalign", "seqwin", "trainer", "mediafeat")
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        if lg.level == logging.NOTSET or lg.level > logging.INFO:
            lg.setLevel(logging.INFO)
    try:
        yield handler
    except BaseException as err:  # the log of a failed command says what ended it
        log.error("failed: %s", str(err) or type(err).__name__)
        raise
    finally:
        for lg, level in saved:
            lg.removeHandler(handler)
            lg.setLevel(level)
        handler.close()


@contextmanager
def folder_lock(path: Path):
    """Hold `path` for this command alone (the trainer's flock on PATH/.lock); a second command
    gets a PipelineError naming the holder (pid, host, command, since) and writes nothing."""
    from trainer import RunDirLockedError, lock_run_dir

    try:
        lock = lock_run_dir(path).acquire()
    except RunDirLockedError as err:
        raise PipelineError(str(err)) from None
    try:
        yield lock
    finally:
        lock.release()


MARKER = ".xmlai"  # written first into every folder an xmlai command creates


def prepare_output(
    path: Path, overwrite: bool, command: str, made_by_older_xmlai: tuple[str, ...] = ()
) -> None:
    """Refuse an existing non-empty folder unless overwriting it, and then only one that an
    xmlai command made (it holds the marker): never wipe a folder a user pointed at by mistake.
    An interrupted run leaves the marker, so it can be overwritten too. The folder's lock file
    stays: a command holding it keeps holding this folder."""
    _refuse_replacing(path, overwrite, made_by_older_xmlai)
    if path.exists():
        import shutil

        for entry in _contents(path):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    _make_folder(path)
    _mark(path, command)


@contextmanager
def held_output(
    path: Path, overwrite: bool, command: str, made_by_older_xmlai: tuple[str, ...] = ()
):
    """`prepare_output`, with the folder held for this command (the trainer's lock) from before
    it is emptied to the end of the block: a second command on it gets one line naming the
    holder, and neither removes the other's files."""
    _refuse_replacing(path, overwrite, made_by_older_xmlai)
    with _held(path):
        prepare_output(path, overwrite, command, made_by_older_xmlai)
        yield


@contextmanager
def held_claim(path: Path, command: str, made_by_older_xmlai: tuple[str, ...] = ()):
    """`claim_output`, with the folder held for this command to the end of the block."""
    refuse_foreign(path, made_by_older_xmlai)
    with _held(path):
        claim_output(path, command, made_by_older_xmlai)
        yield


@contextmanager
def _held(path: Path):
    _make_folder(path)
    with folder_lock(path):
        yield


def _refuse_replacing(path: Path, overwrite: bool, made_by_older_xmlai: tuple[str, ...]) -> None:
    _refuse_non_folder(path)
    if path.exists() and _contents(path):
        if not overwrite:
            raise PipelineError(f"{path} exists and is not empty (pass --overwrite to replace it)")
        if not _made_by_xmlai(path, made_by_older_xmlai):
            raise PipelineError(f"{path} was not made by xmlai ({MARKER} missing); not removing it")


def _contents(path: Path) -> list[Path]:
    """What a folder holds besides its lock file (which a command holding it keeps open)."""
    from trainer.rundir import LOCK_FILE

    return [entry for entry in path.iterdir() if entry.name != LOCK_FILE]


def claim_output(path: Path, command: str, made_by_older_xmlai: tuple[str, ...] = ()) -> None:
    """Use `path` for outputs that are added to or updated in place (a run resumed, a report
    rewritten): a new or empty folder, or one an xmlai command made; never a user's folder.
    `made_by_older_xmlai`: names inside that show xmlai made it before the marker existed."""
    refuse_foreign(path, made_by_older_xmlai)
    _make_folder(path)
    if not (path / MARKER).exists():
        _mark(path, command)


def refuse_foreign(path: Path, made_by_older_xmlai: tuple[str, ...] = ()) -> None:
    """PipelineError for a non-empty folder xmlai did not make (reads, writes nothing)."""
    _refuse_non_folder(path)
    if path.exists() and _contents(path) and not _made_by_xmlai(path, made_by_older_xmlai):
        raise PipelineError(
            f"{path} is not empty and was not made by xmlai ({MARKER} missing); "
            "choose a new or empty folder"
        )


def _refuse_non_folder(path: Path) -> None:
    """An output folder's path that holds a file (or anything but a folder) is refused."""
    if path.exists() and not path.is_dir():
        raise PipelineError(f"{path} exists and is not a folder; choose a folder for the output")


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a read-only parent, a file where a parent folder should be
        raise PipelineError(f"{path}: cannot create the folder: {err.strerror or err}") from None


def _made_by_xmlai(path: Path, made_by_older_xmlai: tuple[str, ...]) -> bool:
    return (path / MARKER).exists() or any((path / n).exists() for n in made_by_older_xmlai)


def _mark(path: Path, command: str) -> None:
    try:
        (path / MARKER).write_text(json.dumps({"command": command}) + "\n", encoding="utf-8")
    except OSError as err:  # a read-only folder
        raise PipelineError(f"{path}: cannot write in the folder: {err.strerror or err}") from None
