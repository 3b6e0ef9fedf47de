"""xmlai-mediafeat: a recording -> feature files (audio, visual, words), offline.

Names load on first use (PEP 562), so `mediafeat --help` does not pay for PyAV or OpenCV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mediafeat.__about__ import __version__

_EXPORTS = {
    "batch": ["BatchSummary", "extract_batch", "find_recordings"],
    "config": ["ExtractConfig"],
    "errors": ["MediaError", "ModelFileError", "TranscriptError"],
    "extract": ["ExtractResult", "extract", "is_current", "recording_dir"],
    "probe": ["MediaInfo", "exact_rate", "probe"],
    "words": ["Word", "read_transcript", "words_table"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [
    "BatchSummary", "ExtractConfig", "ExtractResult", "MediaError", "MediaInfo",
    "ModelFileError", "TranscriptError", "Word", "__version__", "exact_rate", "extract",
    "extract_batch", "find_recordings", "is_current", "probe", "read_transcript",
    "recording_dir", "words_table",
]  # fmt: skip


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'mediafeat' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mediafeat.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static tools see the real names
    from mediafeat.batch import BatchSummary, extract_batch, find_recordings
    from mediafeat.config import ExtractConfig
    from mediafeat.errors import MediaError, ModelFileError, TranscriptError
    from mediafeat.extract import ExtractResult, extract, is_current, recording_dir
    from mediafeat.probe import MediaInfo, exact_rate, probe
    from mediafeat.words import Word, read_transcript, words_table
