"""One recording -> FEATURES_DIR/<stem>/: audio, visual and words tables, media.json, the
featalign schema and extract.json, from a single decoding pass.

The folder is written beside its final place and renamed into it, so it is complete or absent;
extract.json goes in last and says which video (size, mtime) and settings made it, so a rerun
skips a recording whose features are current.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mediafeat.columns import (
    EXTRACT_JSON,
    FEATURE_SUFFIX,
    MEDIA_JSON,
    SCHEMA_TOML,
    WORDS,
    WORDS_JSON,
)
from mediafeat.config import ExtractConfig
from mediafeat.decode import Decoded, decode
from mediafeat.errors import MediaError
from mediafeat.jsonfile import write_json
from mediafeat.probe import MediaInfo, probe
from mediafeat.schema import schema_toml
from trackcore.atomic import replace_dir

log = logging.getLogger("mediafeat")
EXTRACT_FORMAT, EXTRACT_VERSION = "xmlai-mediafeat-extract", 1
TRANSCRIPT_SUFFIXES = (".srt", ".vtt", ".words.json")  # sidecars found beside the video
PARQUET_ROW_GROUP = 8192  # rows: 27 min of visual rows at 5 Hz, under 3 min of audio at 50 Hz

Progress = Callable[[float], None]  # called with the seconds of media decoded so far


@dataclass
class ExtractResult:
    video: str
    out: str  # the recording's folder
    status: str  # "ok", "partial" (decoding stopped early), "skipped" (already current)
    seconds: float = 0.0  # wall-clock
    media_seconds: float = 0.0  # decoded
    modalities: dict[str, int] = field(default_factory=dict)  # modality -> rows
    skipped: dict[str, str] = field(default_factory=dict)  # modality -> why it is absent
    warnings: list[str] = field(default_factory=list)

    @property
    def realtime_factor(self) -> float | None:
        return round(self.media_seconds / self.seconds, 2) if self.seconds > 0 else None

    def to_dict(self) -> dict:
        return {**asdict(self), "realtime_factor": self.realtime_factor}


def recording_dir(video: str | Path, out_dir: str | Path) -> Path:
    """featalign's per-video folder: FEATURES_DIR/<video stem>/."""
    return Path(out_dir) / Path(video).stem


def _fingerprint(path: Path | None) -> dict | None:
    if path is None or not path.is_file():
        return None
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _inputs(video: Path, config: ExtractConfig) -> dict:
    """What the features are made from: the files (size, mtime) and the settings."""
    transcript = transcript_for(video, config) if config.words else None
    return {
        "video_file": _fingerprint(video),
        "transcript_file": _fingerprint(transcript),
        "config": config.to_dict(),
    }


def is_current(video: str | Path, out_dir: str | Path, config: ExtractConfig) -> bool:
    """The folder is complete and was made from these very files with these settings."""
    video = Path(video)
    marker = recording_dir(video, out_dir) / EXTRACT_JSON
    try:
        done = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    inputs = _inputs(video, config)
    return (
        done.get("format") == EXTRACT_FORMAT
        and inputs["video_file"] is not None
        and all(done.get(key) == value for key, value in inputs.items())
    )


def _check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise MediaError("exists and is not a folder", source=str(target))
    if target.is_dir() and any(target.iterdir()) and not (target / EXTRACT_JSON).exists():
        raise MediaError(
            f"folder exists and was not made by mediafeat ({EXTRACT_JSON} missing); "
            "not replacing it",
            source=str(target),
        )


def extract(
    video: str | Path,
    out_dir: str | Path,
    config: ExtractConfig | None = None,
    overwrite: bool = False,
    on_progress: Progress | None = None,
) -> ExtractResult:
    """Raises MediaError for a file that gives nothing (not media, empty, unreadable); a
    file that decodes part-way gives a "partial" result with what was decoded."""
    config = config or ExtractConfig()
    video = Path(video)
    target = recording_dir(video, out_dir)
    _check_target(target)
    if not overwrite and is_current(video, out_dir, config):
        return ExtractResult(str(video), str(target), "skipped")
    started = time.perf_counter()
    info = probe(video)
    if config.words and config.asr_model is not None:
        from mediafeat.asr import check_model_dir

        check_model_dir(config.asr_model)  # before decoding: a wrong folder costs nothing
    work = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        result = _extract_into(work, video, info, config, on_progress)
        result.out = str(target)
        result.seconds = round(time.perf_counter() - started, 3)
        write_json(work / EXTRACT_JSON, _summary(video, config, result))
        replace_dir(work, target)  # an existing target moved aside, then removed
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info("%s: %s in %.1f s (%sx realtime)", video, result.status, result.seconds,
             result.realtime_factor)  # fmt: skip
    return result


def _extract_into(work, video, info, config, on_progress) -> ExtractResult:
    result = ExtractResult(str(video), str(work), "ok", warnings=list(info.warnings))
    transcript = transcript_for(video, config) if config.words else None
    decoded = decode(video, info, config, work, on_progress, transcript)
    result.media_seconds = round(decoded.decoded_s, 3)
    result.warnings += decoded.warnings
    if decoded.stopped_early:
        result.status = "partial"
    tables = dict(decoded.tables)
    result.skipped.update(decoded.skipped)
    words = _words(transcript, config, decoded, work, result)
    if decoded.spool is not None:
        decoded.spool.unlink(missing_ok=True)
    if words is not None:
        tables[WORDS] = words
    for modality, columns in tables.items():
        _write_parquet(columns, work / f"{modality}{FEATURE_SUFFIX}")
        result.modalities[modality] = len(columns["time"])
    (work / SCHEMA_TOML).write_text(
        schema_toml({m: list(c) for m, c in tables.items()}), encoding="utf-8"
    )
    _update_info(info, decoded)
    write_json(work / MEDIA_JSON, info.to_dict())
    return result


def _update_info(info: MediaInfo, decoded: Decoded) -> None:
    """What decoding saw replaces what the headers claimed."""
    if decoded.frame_count:
        info.frame_count, info.frame_count_source = decoded.frame_count, "decoded"
    if decoded.variable_frame_rate and not info.variable_frame_rate:
        info.variable_frame_rate = True
        info.warnings.append("variable frame rate (frame intervals vary while decoding)")


def transcript_for(video: Path, config: ExtractConfig) -> Path | None:
    if config.transcript is not None:
        return config.transcript
    for suffix in TRANSCRIPT_SUFFIXES:
        sidecar = video.with_name(video.stem + suffix)
        if sidecar.is_file():
            return sidecar
    return None


def _words(transcript, config, decoded: Decoded, work: Path, result: ExtractResult):
    """The words table from a transcript (explicit or a sidecar) or a local ASR model."""
    from mediafeat.words import read_transcript, words_table, write_words_json

    if transcript is None and (config.asr_model is None or not config.words):
        return None
    if transcript is not None:
        words = read_transcript(transcript)
        log.info("words from %s", transcript)
    elif decoded.spool is None:
        result.skipped[WORDS] = "no audio stream to transcribe"
        return None
    else:
        words = _transcribe(decoded, config, result)
        if words is None:
            return None
    write_words_json(words, work / WORDS_JSON)
    duration = max(decoded.decoded_s, max((w.end for w in words), default=0.0))
    return words_table(words, duration, config.words_rate_hz)


def _transcribe(decoded: Decoded, config: ExtractConfig, result: ExtractResult):
    from mediafeat.words import transcribe

    try:
        return transcribe(decoded.speech_audio(), config.asr_model, config.language, log=log)
    except ImportError:
        why = "faster-whisper is not installed (pip install 'xmlai-mediafeat[speech]')"
        log.warning("words skipped: %s", why)
        result.skipped[WORDS] = why
        return None


def _write_parquet(columns: dict, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # row groups let a reader take a long recording a few minutes at a time
    pq.write_table(pa.table(columns), path, row_group_size=PARQUET_ROW_GROUP)


def _summary(video: Path, config: ExtractConfig, result: ExtractResult) -> dict:
    from mediafeat.__about__ import __version__

    return {
        "format": EXTRACT_FORMAT,
        "version": EXTRACT_VERSION,
        "generator": f"mediafeat {__version__}",
        **_inputs(video, config),
        **result.to_dict(),
    }
