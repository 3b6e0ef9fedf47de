"""Errors raised by trackcore. Each names the file (when there is one) and the place at fault:
`str(error)` is "path: where: reason", the parts that are known."""

from __future__ import annotations

from pathlib import Path


class TrackcoreError(ValueError):
    """Base class: input that breaks the shared contract. A ValueError, so callers may catch
    either; `reason`, `path` and `where` let a library re-raise it as its own error."""

    def __init__(self, message: str, path: str | Path | None = None, where: str | None = None):
        self.path = None if path is None else Path(path)
        self.where = where
        self.reason = message
        parts = [str(p) for p in (self.path, where) if p is not None]
        super().__init__(": ".join([*parts, message]))


class LayoutError(TrackcoreError):
    """A track layout version this release does not know, or columns that are not the
    layout's."""


class ModalityNameError(TrackcoreError):
    """A modality name outside the one rule (`trackcore.modality`)."""


class ManifestError(TrackcoreError):
    """A frame-store manifest that is missing, unreadable or inconsistent."""
