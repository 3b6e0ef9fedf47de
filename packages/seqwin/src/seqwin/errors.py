"""Errors raised by seqwin. Each names the file (or the argument) and the place at fault."""

from __future__ import annotations

from pathlib import Path


class SeqwinError(ValueError):
    """Base class: bad input to seqwin. Subclasses ValueError so callers may catch either."""

    def __init__(self, message: str, path: str | Path | None = None, where: str | None = None):
        self.path = None if path is None else Path(path)
        self.where = where
        self.reason = message
        parts = [str(p) for p in (self.path, where) if p is not None]
        super().__init__(": ".join([*parts, message]))


class StoreError(SeqwinError):
    """A frame store or a sequences .npz file is missing, corrupt or inconsistent."""


class WindowConfigError(SeqwinError):
    """Window length / overlap (or window indices) that cannot describe a windowing."""


class SplitError(SeqwinError):
    """Arguments to split_by_group that cannot produce a split."""


class StitchError(SeqwinError):
    """Window predictions that do not match their index, or frames no window covers."""
