"""Many files at once: parallel conversion, one table or one file per edit, a log and a
JSON summary. A bad file is reported and skipped; it never stops the batch."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from xml2csv.__about__ import __version__
from xml2csv.errors import NoXmlFilesError, OutputError, XmemlError
from xml2csv.io import FORMATS, atomic_write, output_names, write_table
from xml2csv.reader import read_xmeml
from xml2csv.sampler import sample, sample_source_view

log = logging.getLogger("xml2csv")
LOG_NAME = "xml2csv.log"  # also what marks a folder as a batch's own
SUMMARY_NAME = "summary.json"


@dataclass(frozen=True)
class ConvertOptions:
    n_tracks: int = 20
    extra_parameters: tuple[str, ...] = ()
    sequence: str | None = None
    source_view: bool = False


@dataclass
class FileResult:
    file: str
    ok: bool
    edit_id: str | None = None
    output: str | None = None  # the file that holds this edit's rows (or failed to: write_error)
    rows: int = 0
    frames: int = 0
    tracks: int = 0
    tracks_truncated: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    write_error: str | None = None  # converted, but its output could not be written
    seconds: float = 0.0


@dataclass
class BatchSummary:
    input: str
    output: str
    format: str
    per_edit: bool
    workers: int
    files_ok: int = 0
    files_failed: int = 0
    rows: int = 0
    frames: int = 0
    tracks_truncated: int = 0
    seconds: float = 0.0
    failed: list[dict] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)
    error: str | None = None  # what failed the batch as a whole (an output not written)
    xml2csv_version: str = __version__

    @property
    def ok(self) -> bool:
        return self.files_failed == 0 and self.error is None


def convert_file(
    path: str | Path, options: ConvertOptions = ConvertOptions(), edit_id: str | None = None
) -> tuple[pd.DataFrame, FileResult]:
    """Read and sample one file; raises XmemlError for bad input."""
    started = time.perf_counter()
    timeline = read_xmeml(path, sequence=options.sequence)
    kwargs = dict(n_tracks=options.n_tracks, extra_parameters=options.extra_parameters)
    table = sample(timeline, edit_id=edit_id, **kwargs)
    frames = len(table)
    if options.source_view:
        table = sample_source_view(timeline, table)
    result = FileResult(
        file=str(path),
        ok=True,
        edit_id=str(table["edit_id"].iloc[0]) if len(table) else edit_id,
        rows=len(table),
        frames=frames,
        tracks=len(timeline.sequence.tracks),
        tracks_truncated=timeline.tracks_truncated,
        warnings=list(timeline.warnings),
        seconds=time.perf_counter() - started,
    )
    return table, result


def discover(input_dir: str | Path, exclude: Path | None = None) -> list[Path]:
    """Every `*.xml` below `input_dir` (any case of the extension), sorted."""
    root = Path(input_dir)
    if not root.is_dir():
        raise XmemlError("not a directory", root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if exclude is not None and here.resolve() == exclude.resolve():
            dirnames[:] = []
            continue
        dirnames.sort()
        found += [here / name for name in sorted(filenames) if name.lower().endswith(".xml")]
    if not found:
        raise NoXmlFilesError("no .xml files found (searched recursively)", root)
    return found


def edit_ids_for(paths: list[Path], root: Path) -> dict[Path, str]:
    """The file stem, or its path below `root` where two files share a stem (with its
    extension where even that is shared: `x.xml` and `x.XML`)."""
    stems = Counter(p.stem for p in paths)
    below = Counter(p.relative_to(root).with_suffix("").as_posix() for p in paths)

    def edit_id(p: Path) -> str:
        if stems[p.stem] == 1:
            return p.stem
        relative = p.relative_to(root)
        stem = relative.with_suffix("").as_posix()
        return stem if below[stem] == 1 else relative.as_posix()

    return {p: edit_id(p) for p in paths}


def convert_dir(
    input_dir: str | Path,
    output: str | Path,
    workers: int | None = None,
    fmt: str = "csv",
    per_edit: bool = False,
    options: ConvertOptions = ConvertOptions(),
    progress: bool = True,
) -> BatchSummary:
    """Convert every xmeml file below `input_dir` into `output/` (a folder):
    `tracks.csv|parquet` (or `edits/<name>.csv|parquet` with `per_edit`), `xml2csv.log`
    and `summary.json`. An output that cannot be written (a full disk) fails the whole batch:
    OutputError, after `summary.json` says so where it still can be written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    started = time.perf_counter()
    out = Path(output)
    paths = discover(input_dir, exclude=out)
    _refuse_foreign_folder(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        handler = _attach_log(out / LOG_NAME)
    except OSError as err:  # a file in the way, no permission: one line, nothing converted
        raise write_failure(err, out) from None
    workers = max(1, min(workers or os.cpu_count() or 1, len(paths)))
    summary = BatchSummary(str(input_dir), str(out), fmt, per_edit, workers)
    remove_stale_parts(out)
    parts = Path(tempfile.mkdtemp(prefix=_parts_prefix(), dir=out))
    try:
        ids = edit_ids_for(paths, Path(input_dir))
        names = output_names(list(ids.values()))
        jobs = [
            (p, ids[p], _target(out, parts, names[ids[p]], n, fmt, per_edit))
            for n, p in enumerate(paths)
        ]
        results = _run(jobs, options, fmt, workers, progress)
        for result in results:
            _record(summary, result)
        unwritten = next((r for r in results if r.write_error), None)
        if unwritten is not None:
            raise OutputError(unwritten.write_error, unwritten.output)
        ok_parts = [target for (_, _, target), r in zip(jobs, results, strict=True) if r.ok]
        if not per_edit and ok_parts:
            table = out / f"tracks.{fmt}"
            try:
                _concatenate(ok_parts, table, fmt)
            except OSError as err:
                raise write_failure(err, table, sum(p.stat().st_size for p in ok_parts)) from None
            for result in results:
                result.output = str(table) if result.ok else None
    except OutputError as err:
        summary.error = str(err)
        raise
    finally:
        shutil.rmtree(parts, ignore_errors=True)
        summary.seconds = round(time.perf_counter() - started, 3)
        log.info(
            "done: %d ok, %d failed, %d rows in %.2f s",
            summary.files_ok,
            summary.files_failed,
            summary.rows,
            summary.seconds,
        )
        if summary.error:
            log.error("batch failed: %s", summary.error)
        try:
            _write_summary(summary, out / SUMMARY_NAME)
        except OSError as err:
            if summary.error is None:
                raise write_failure(err, out / SUMMARY_NAME) from None
            log.error("summary.json not written either: %s", err)
        finally:
            log.removeHandler(handler)
            handler.close()
    return summary


def _refuse_foreign_folder(out: Path) -> None:
    """A batch writes only into a new or empty folder, or one an earlier batch wrote (its
    log): never among someone's files, where it would replace a `tracks.csv` of theirs."""
    if not out.is_dir() or (out / LOG_NAME).is_file():
        return
    if any(not _PARTS.fullmatch(entry.name) for entry in out.iterdir()):
        raise OutputError(
            f"holds other files and no {LOG_NAME}, so xml2csv did not make it; "
            "not written into (choose a new or empty folder)",
            out,
        )


def write_failure(err: OSError, target: Path, needed: int | None = None) -> OutputError:
    """An OSError while writing `target` as one line: what went wrong, and on a full disk how
    much space the file needed (when known) and how much is free."""
    if err.errno != errno.ENOSPC:
        return OutputError(f"cannot write: {err.strerror or err}", target)
    space = ""
    try:
        free = shutil.disk_usage(target.parent).free
        space = f" ({_megabytes(needed)} needed, {_megabytes(free)} free)" if needed else ""
        space = space or f" ({_megabytes(free)} free)"
    except OSError:
        pass
    return OutputError(f"cannot write: no space left on device{space}", target)


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# Parts folders are named for their host and process, so a later run can tell one whose run
# was killed (its process is gone) from one that a running batch still writes into.
_PARTS = re.compile(r"\.parts-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[a-z0-9_]{8}")
_PARTS_BEFORE_0_2_1 = re.compile(r"\.parts-[a-z0-9_]{8}")  # tempfile's random names
_HOST = hashlib.blake2b(socket.gethostname().encode(), digest_size=4).hexdigest()


def _parts_prefix() -> str:
    return f".parts-{_HOST}-{os.getpid()}-"


def remove_stale_parts(out: Path) -> list[Path]:
    """Remove the parts folders in `out` that a killed batch left: those of a process on this
    host that is gone, and those of versions before 0.2.1 (which named no owner)."""
    removed = []
    for folder in sorted(out.glob(".parts-*")):
        owner = _PARTS.fullmatch(folder.name)
        stale = _PARTS_BEFORE_0_2_1.fullmatch(folder.name) is not None or (
            owner is not None and owner["host"] == _HOST and not _alive(int(owner["pid"]))
        )
        if stale and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            log.info("removed %s, left by an interrupted batch", folder)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _target(out: Path, parts: Path, name: str, n: int, fmt: str, per_edit: bool) -> Path:
    if per_edit:
        return out / "edits" / f"{name}.{fmt}"
    return parts / f"{n:06d}.{fmt}"


def _convert_and_write(path: Path, edit_id: str, target: Path, options, fmt) -> FileResult:
    try:
        table, result = convert_file(path, options, edit_id)
        try:
            write_table(table, target, fmt)
        except OSError as err:
            failure = write_failure(err, target)
            return FileResult(
                str(path), ok=False, output=str(target), error=str(failure),
                write_error=failure.message,
            )  # fmt: skip
        result.output = str(target)
        return result
    except XmemlError as err:
        return FileResult(file=str(path), ok=False, error=str(err))
    except Exception as err:  # a bug must not lose the rest of the batch either
        return FileResult(file=str(path), ok=False, error=f"{type(err).__name__}: {err}")


def _run(jobs, options, fmt, workers, progress) -> list[FileResult]:
    results: list[FileResult | None] = [None] * len(jobs)
    bar = _progress(progress, len(jobs))
    if workers == 1:
        for n, job in enumerate(jobs):
            results[n] = _convert_and_write(*job, options, fmt)
            bar.advance()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(_convert_and_write, *job, options, fmt): n for n, job in enumerate(jobs)
            }
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.advance()
    bar.close()
    return results  # type: ignore[return-value]


def _record(summary: BatchSummary, result: FileResult) -> None:
    summary.files.append(result)
    if result.ok:
        summary.files_ok += 1
        summary.rows += result.rows
        summary.frames += result.frames
        summary.tracks_truncated += result.tracks_truncated
        log.info("ok %s: %d rows (%s)", result.file, result.rows, result.edit_id)
        for warning in result.warnings:
            log.warning("%s: %s", result.file, warning)
        if result.tracks_truncated:
            log.warning(
                "%s: %d tracks above the limit were dropped", result.file, result.tracks_truncated
            )
    else:
        summary.files_failed += 1
        summary.failed.append({"file": result.file, "error": result.error})
        log.error("failed %s: %s", result.file, result.error)


def _concatenate(parts: list[Path], target: Path, fmt: str) -> None:
    """Join the per-file parts in input order; CSV parts are joined as bytes (one header)."""
    if fmt == "csv":

        def write(tmp: Path) -> None:
            with tmp.open("wb") as sink:
                for n, part in enumerate(parts):
                    with part.open("rb") as source:
                        header = source.readline()
                        if n == 0:
                            sink.write(header)
                        shutil.copyfileobj(source, sink, 1 << 20)

        atomic_write(target, write)
        return
    import pyarrow.parquet as pq

    def write_parquet(tmp: Path) -> None:
        writer = None
        try:
            for part in parts:
                table = pq.read_table(part)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()

    atomic_write(target, write_parquet)


def _write_summary(summary: BatchSummary, path: Path) -> None:
    data = asdict(summary)
    data["ok"] = summary.ok
    text = json.dumps(data, indent=2, ensure_ascii=False)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


class _QuietFileHandler(logging.FileHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        """A log line lost to a full disk: the batch's own error says what happened, without
        logging's traceback for every line."""


def _attach_log(path: Path) -> logging.Handler:
    handler = _QuietFileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


class _NoBar:
    def advance(self) -> None: ...

    def close(self) -> None: ...


class _RichBar:
    def __init__(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("converting", total=total)

    def advance(self) -> None:
        self._progress.advance(self._task)

    def close(self) -> None:
        self._progress.stop()


def _progress(enabled: bool, total: int):
    return _RichBar(total) if enabled else _NoBar()
