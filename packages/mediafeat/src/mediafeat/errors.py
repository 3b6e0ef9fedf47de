"""One exception family, so callers can catch mediafeat's bad-input errors and nothing else."""

from __future__ import annotations


class MediaError(ValueError):
    """A recording (or a model or transcript file) cannot be used. The message names the file
    and, where there is one, the place (stream, line, time)."""

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None):
        self.source = source
        self.where = where
        prefix = ": ".join(p for p in (source, where) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ModelFileError(MediaError):
    """A model file or folder the user pointed at is missing or is not what it claims to be."""


class TranscriptError(MediaError):
    """A transcript file (SRT, WebVTT, JSON words) is malformed."""
