"""Errors that name the file, the element and its line, so a user can open the file there."""

from __future__ import annotations

from pathlib import Path


class XmemlError(Exception):
    """A document that cannot be read as xmeml, with the place that made it unreadable."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        element: str | None = None,
        line: int | None = None,
    ):
        self.message = message
        self.path = str(path) if path is not None else None
        self.element = element
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        place = self.path or "<document>"
        if self.line is not None:
            place += f":{self.line}"
        if self.element:
            place += f": <{self.element}>"
        return f"{place}: {self.message}"

    def __reduce__(self):  # keeps the fields when a worker process sends it back
        return (type(self), (self.message, self.path, self.element, self.line))


class NoXmlFilesError(XmemlError):
    """A batch was pointed at a folder that holds no .xml file."""


class OutputError(XmemlError):
    """An output file that could not be written (a full disk, a folder without permission):
    the batch has failed, whatever it converted."""
