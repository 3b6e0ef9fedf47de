"""One exception family, so callers can catch featalign's bad-input errors and nothing else."""

from __future__ import annotations


class FeatAlignError(ValueError):
    """Bad input for featalign. The message names the file (or table) and the place."""

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None):
        self.source = source  # file path or a name for an in-memory table
        self.where = where  # column, row or edit the problem was found at
        prefix = ": ".join(p for p in (source, where) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class SchemaError(FeatAlignError):
    """The schema file is malformed, or a feature table contradicts it (e.g. embedding width)."""


class FeatureTableError(FeatAlignError):
    """A feature table cannot be used: empty, no usable time column, bad timestamps."""


class TrackTableError(FeatAlignError):
    """A track table lacks required columns, has no rows, or has non-contiguous frames."""


class StoreError(FeatAlignError):
    """The frame store cannot be written (target exists, nothing to write)."""
