"""Turning a `pathurl` into the file name a feature folder would use."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import unquote, urlparse

_DRIVE = re.compile(r"^/?([A-Za-z]):[/\\]")
# what a pasted path picks up around it; a file name may itself end in a no-break space
ASCII_SPACE = " \t\r\n"


def source_name(pathurl: str | None, fallback: str | None = None) -> str:
    """`file://localhost/D%3a/x/My%20Clip.mov` -> `My Clip.mov`; NFC; falls back to `<name>`."""
    if pathurl:
        raw = pathurl.strip(ASCII_SPACE)
        path = unquote(urlparse(raw).path) if "://" in raw else unquote(raw)
        path = unicodedata.normalize("NFC", path)
        if "\\" in path or _DRIVE.match(path):
            name = PureWindowsPath(path.lstrip("/")).name
        else:
            name = path.rstrip("/").rpartition("/")[2]
        if name:
            return name
    return unicodedata.normalize("NFC", (fallback or "").strip(ASCII_SPACE))


def source_stem(name: str) -> str:
    """The key feature files are matched by: NFC, case-folded, without the extension."""
    stem = PurePosixPath(unicodedata.normalize("NFC", name)).stem
    return stem.casefold()
