"""Speech to words with a local faster-whisper (CTranslate2) model folder, never a download.

faster-whisper fetches a model from a hub when it is given a name, or a folder without
tokenizer.json; so the folder is checked first and only a complete one is handed over.

The VAD filter is on: faster-whisper's silero VAD (shipped inside its wheel, run by
onnxruntime) cuts the audio down to speech before Whisper sees it. Whisper invents text over
silence and music ("Thank you." loops), which would mark words where nobody speaks; and
recordings with long quiet stretches decode faster. The VAD pads each speech chunk by 0.4 s,
which keeps soft word edges; the words come back on the original clock.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mediafeat.errors import MediaError, ModelFileError
from mediafeat.transcripts import Word, clean_text

SAMPLE_RATE = 16000  # what Whisper's feature extractor expects
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
VOCABULARY_FILES = ("vocabulary.json", "vocabulary.txt")  # newer and older conversions
SPEECH_EXTRA = "xmlai-mediafeat[speech]"
COMPUTE_TYPE = "int8"  # CTranslate2's fast CPU path; accuracy close to float32 for Whisper


class SpeechNotInstalledError(MediaError, ImportError):
    """faster-whisper is not installed: the caller skips the words with `hint`. Also an
    ImportError, so `except ImportError` around an optional extra catches it too."""

    hint = f"words skipped: install {SPEECH_EXTRA}"

    def __init__(self) -> None:
        super().__init__(f"faster-whisper is not installed ({self.hint})")


def check_model_dir(model_dir) -> Path:
    """The folder, if it holds a complete faster-whisper model; else ModelFileError naming it
    and what is missing."""
    folder = Path(model_dir)
    if not folder.is_dir():
        what = "is a file, not a model folder" if folder.exists() else "no such folder"
        raise ModelFileError(f"{what} (expected a faster-whisper model folder)", source=str(folder))
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in VOCABULARY_FILES):
        missing.append(" or ".join(VOCABULARY_FILES))
    if missing:
        raise ModelFileError(
            f"not a faster-whisper model folder: missing {', '.join(missing)}", source=str(folder)
        )
    return folder


def _faster_whisper():
    try:
        import faster_whisper
    except ImportError as exc:
        raise SpeechNotInstalledError() from exc
    return faster_whisper


def _say(log, message: str) -> None:
    """`log` is a logging.Logger (info level) or any callable taking a line, or None."""
    if log is None:
        return
    info = getattr(log, "info", None)
    (info if callable(info) else log)(message)


def load_model(model_dir, log=None):
    """A faster-whisper WhisperModel on one CPU thread (the caller runs one process per core)."""
    folder = check_model_dir(model_dir)
    faster_whisper = _faster_whisper()
    _say(log, f"words: loading the speech model in {folder}")
    try:
        return faster_whisper.WhisperModel(
            str(folder), device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=1, num_workers=1
        )
    except (RuntimeError, ValueError, OSError) as exc:  # CTranslate2's "cannot load" errors
        raise ModelFileError(f"cannot load the speech model: {exc}", source=str(folder)) from exc


def _check_audio(audio) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise MediaError(f"speech audio must be mono (1-D), got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise MediaError("speech audio holds NaN or infinite samples")
    return audio


def transcribe(
    audio: np.ndarray, model_dir, language: str | None = None, log=None, *, vad_filter: bool = True
) -> list[Word]:
    """16 kHz mono float32 audio -> words (seconds from the audio's first sample), with the
    model in `model_dir`. `language` None lets a multilingual model detect it."""
    audio = _check_audio(audio)
    model = load_model(model_dir, log)
    if language is not None and language not in model.supported_languages:
        raise MediaError(
            f"the speech model does not know language {language!r}; it knows "
            f"{', '.join(model.supported_languages[:12])}",
            source=str(model_dir),
        )
    duration = len(audio) / SAMPLE_RATE
    if duration == 0:
        return []
    segments, info = model.transcribe(
        audio, language=language, word_timestamps=True, vad_filter=vad_filter
    )
    words = [w for segment in segments for w in _segment_words(segment, duration)]
    _say(log, f"words: {len(words)} words in {duration:.1f} s of audio (language {info.language})")
    return words


def _segment_words(segment, duration: float) -> list[Word]:
    words = []
    for w in segment.words or ():
        text = " ".join(clean_text(w.word))
        if not text:
            continue
        # Whisper's times are rounded to 20 ms and may reach past the last sample
        start = min(max(float(w.start), 0.0), duration)
        end = min(max(float(w.end), start), duration)
        p = float(w.probability) if w.probability is not None else None
        words.append(Word(start, end, text, p if p is None or math.isfinite(p) else None))
    return words
