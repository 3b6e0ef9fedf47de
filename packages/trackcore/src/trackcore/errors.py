"""Errors raised by trackcore. Each names the file (when there is one) and the place at fault:
`str(error)` is "path: where: reason", the parts that are known."""

from __future__ import annotations

from pathlib import Path


class LocatedError(ValueError):
    """A bad input that names its file and place: `str(error)` is "path: where: reason", the
    parts that are known. A ValueError, so callers may catch either; the libraries' own base
    errors (e.g. seqwin's) derive from it too."""

    def __init__(self, message: str, path: str | Path | None = None, where: str | None = None):
        self.path = None if path is None else Path(path)
        self.where = where
        self.reason = message
        parts = [str(p) for p in (self.path, where) if p is not None]
        super().__init__(": ".join([*parts, message]))


class TrackcoreError(LocatedError):
    """Base class: input that breaks the shared contract; `reason`, `path` and `where` let a
    library re-raise it as its own error."""


class LayoutError(TrackcoreError):
    """A track layout version this release does not know, or columns that are not the
    layout's."""


class ModalityNameError(TrackcoreError):
    """A modality name outside the one rule (`trackcore.modality`)."""


class ManifestError(TrackcoreError):
    """A frame-store manifest that is missing, unreadable or inconsistent."""
