"""Many recordings -> one features folder: found recursively by extension, extracted in
worker processes, one progress display (media seconds, frames/s, realtime factor), a log and a
JSON summary. A bad file is reported and the batch goes on; the folder is locked meanwhile."""

from __future__ import annotations

import fcntl
import logging
import multiprocessing as mp
import os
import queue
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from mediafeat.config import ExtractConfig
from mediafeat.errors import MediaError
from mediafeat.jsonfile import write_json

log = logging.getLogger("mediafeat")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf", ".mts", ".m2ts",
                  ".ts", ".wmv", ".flv", ".3gp", ".mpg", ".mpeg")  # fmt: skip
AUDIO_SUFFIXES = (".wav", ".m4a", ".mp3", ".aac", ".flac", ".ogg", ".opus")
LOCK = ".mediafeat.lock"


@dataclass
class FileOutcome:
    video: str
    status: str  # ok, partial, skipped, failed
    error: str | None = None
    seconds: float = 0.0
    media_seconds: float = 0.0
    realtime_factor: float | None = None
    modalities: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class BatchSummary:
    out_dir: str
    files: list[FileOutcome]
    seconds: float
    workers: int

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    def counts(self) -> dict[str, int]:
        statuses = ("ok", "partial", "skipped", "failed")
        return {s: sum(f.status == s for f in self.files) for s in statuses}

    def to_dict(self) -> dict:
        media = sum(f.media_seconds for f in self.files if f.status != "skipped")
        return {
            "out_dir": self.out_dir,
            "workers": self.workers,
            "seconds": round(self.seconds, 2),
            "media_seconds": round(media, 2),
            "realtime_factor": round(media / self.seconds, 2) if self.seconds > 0 else None,
            "counts": self.counts(),
            "files": [vars(f) for f in self.files],
        }


def _key(path: Path) -> str:
    return unicodedata.normalize("NFC", path.stem).casefold()  # as featalign matches names


def find_recordings(paths, include_audio: bool = True) -> tuple[list[Path], list[FileOutcome]]:
    """Files as given, folders searched recursively by extension (hidden files skipped).
    Two recordings with the same stem would write one features folder: the second fails."""
    suffixes = VIDEO_SUFFIXES + (AUDIO_SUFFIXES if include_audio else ())
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*")
                if p.suffix.lower() in suffixes and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )  # fmt: skip
        else:
            found.append(path)
    videos, refused, seen = [], [], {}
    for path in found:
        first = seen.setdefault(_key(path), path)
        if first is path:
            videos.append(path)
        elif first != path:
            why = f"same name as {first}: both would write the features folder {path.stem!r}"
            refused.append(FileOutcome(str(path), "failed", error=f"{path}: {why}"))
    return videos, refused


@contextmanager
def locked(out_dir: Path):
    """One writer per features folder; the lock goes with the process, even on kill -9."""
    out_dir.mkdir(parents=True, exist_ok=True)
    handle = (out_dir / LOCK).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise MediaError(f"is being written by {holder}; try again when it ends",
                         source=str(out_dir)) from None  # fmt: skip
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


_progress_queue = None  # set in each worker by _init_worker


def _init_worker(progress_queue) -> None:
    global _progress_queue
    _progress_queue = progress_queue
    try:
        import cv2

        cv2.setNumThreads(1)  # the processes are the parallelism
    except ImportError:
        pass


def extract_one(video: str, out_dir: str, config: ExtractConfig, overwrite: bool) -> FileOutcome:
    from mediafeat.extract import extract

    def report(seconds: float) -> None:
        if _progress_queue is not None:
            _progress_queue.put((video, seconds))

    try:
        result = extract(video, out_dir, config, overwrite=overwrite, on_progress=report)
    except MediaError as err:
        return FileOutcome(video, "failed", error=str(err))
    except Exception as err:  # a bug or an FFmpeg surprise: this file fails, the batch goes on
        return FileOutcome(video, "failed", error=f"{video}: {type(err).__name__}: {err}")
    kept = {k: v for k, v in result.to_dict().items() if k in FileOutcome.__dataclass_fields__}
    return FileOutcome(**kept)


def _lengths(videos: list[Path]) -> dict[str, tuple[float, float]]:
    """video -> (seconds, frames per second) from the headers, for the progress display."""
    import math

    from mediafeat.probe import probe

    out = {}
    for video in videos:
        try:
            info = probe(video)
        except MediaError:
            out[str(video)] = (0.0, 0.0)
            continue
        seconds = info.duration_s if math.isfinite(info.duration_s) else 0.0
        out[str(video)] = (seconds, float(info.frame_rate or 0))
    return out


def extract_batch(
    paths, out_dir, config: ExtractConfig | None = None, workers: int | None = None,
    overwrite: bool = False, progress: bool = True,
) -> BatchSummary:  # fmt: skip
    """Every recording under `paths` -> out_dir/<stem>/. Writes nothing but those folders;
    the caller writes the log and summary where it wants them (`write_summary`)."""
    config = config or ExtractConfig()
    out_dir = Path(out_dir)
    started = time.perf_counter()
    videos, refused = find_recordings(paths)
    workers = max(1, min(workers or os.cpu_count() or 1, len(videos) or 1))
    if workers > 1 and not config.decode_threads:
        config = replace(config, decode_threads=max(1, (os.cpu_count() or 1) // workers))
    with locked(out_dir):
        outcomes = _run(videos, out_dir, config, workers, overwrite, progress)
    for outcome in refused:
        log.error("%s", outcome.error)
    files = sorted(outcomes + refused, key=lambda f: f.video)
    return BatchSummary(str(out_dir), files, time.perf_counter() - started, workers)


def _run(videos, out_dir, config, workers, overwrite, progress) -> list[FileOutcome]:
    from mediafeat.progress import BatchProgress

    outcomes: list[FileOutcome] = []
    jobs = [(str(video), str(out_dir), config, overwrite) for video in videos]
    with BatchProgress(_lengths(videos), enabled=progress) as bar:

        def record(outcome: FileOutcome) -> None:
            outcomes.append(outcome)
            bar.done(outcome)
            _log(outcome)

        if workers == 1:
            updates = queue.SimpleQueue()
            _init_worker(updates)
            for job in jobs:
                result = extract_one(*job)
                bar.drain(updates)
                record(result)
            _init_worker(None)
            return outcomes
        context = mp.get_context("spawn")  # no forked copies of OpenCV's or ONNX's threads
        updates = context.Queue()
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                 initargs=(updates,)) as pool:  # fmt: skip
            pending = {pool.submit(extract_one, *job) for job in jobs}
            while pending:
                bar.drain(updates)
                finished = {f for f in pending if f.done()}
                for future in finished:
                    record(future.result())
                pending -= finished
                time.sleep(0.1)
    return outcomes


def _log(outcome: FileOutcome) -> None:
    if outcome.status == "failed":
        log.error("%s", outcome.error)
        return
    log.info("%s: %s, %.1f s of media in %.1f s, modalities %s", outcome.video, outcome.status,
             outcome.media_seconds, outcome.seconds, outcome.modalities)  # fmt: skip
    for warning in outcome.warnings:
        log.warning("%s: %s", outcome.video, warning)
    for modality, why in outcome.skipped.items():
        log.info("%s: no %s features: %s", outcome.video, modality, why)


def write_summary(summary: BatchSummary, path: Path) -> None:
    write_json(path, summary.to_dict())
