"""The recording a written edit points at: where it is (a `pathurl` Premiere can open) and what
it is (size, length, sound, start timecode), from arguments or from mediafeat's `media.json`."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import quote

from xml2csv.names import ASCII_SPACE, source_name

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DRIVE = re.compile(r"^([A-Za-z]):[\\/]")
# RFC 3986 unreserved characters plus the separators a path keeps; everything else is escaped
_PATH_SAFE = "/-._~!$&'()*+,;=@"
_TIMECODE = re.compile(r"^(\d+)[:;.](\d\d)[:;.](\d\d)([:;.])(\d\d)$")


def media_url(path: str | os.PathLike, media_root: str | os.PathLike | None = None) -> str:
    """A file's `pathurl`, percent-encoded once, the way Premiere writes it:

    - `/Users/me/My Clip.mp4` -> `file://localhost/Users/me/My%20Clip.mp4`
    - `D:\\rec\\talk.mp4` or `D:/rec/talk.mp4` -> `file://localhost/D%3a/rec/talk.mp4`
    - `\\\\server\\share\\talk.mp4` (a network path) -> `file://server/share/talk.mp4`
    - `rec/talk.mp4` (relative) -> resolved against `media_root`, else the current folder
    - an existing URL (`file:///x/My%20Clip.mp4`) keeps its escapes; only characters that are
      not yet escaped (a space, non-ASCII) are.
    """
    raw = os.fspath(path).strip(ASCII_SPACE)  # a name may end in a no-break space
    if not raw:
        raise ValueError("an empty media path has no pathurl")
    if _URL.match(raw):
        return quote(raw, safe=_PATH_SAFE + ":%")
    if raw.startswith("\\\\"):
        host, _, rest = raw[2:].replace("\\", "/").partition("/")
        return f"file://{quote(host, safe='')}/{quote(rest, safe=_PATH_SAFE)}"
    if drive := _DRIVE.match(raw):
        rest = PureWindowsPath(raw).as_posix()[3:]
        return f"file://localhost/{drive[1]}%3a/{quote(rest, safe=_PATH_SAFE)}"
    if raw.startswith("/"):
        return "file://localhost" + quote(str(PurePosixPath(raw)), safe=_PATH_SAFE)
    root = os.fspath(media_root) if media_root is not None else os.getcwd()
    if _DRIVE.match(root) or root.startswith("\\\\"):
        return media_url(str(PureWindowsPath(root) / PureWindowsPath(raw)))
    return media_url(os.path.normpath(Path(root).absolute() / raw))


def timecode_frames(timecode: str, fps: Fraction) -> tuple[int, bool]:
    """`HH:MM:SS:FF` (non-drop) or `HH:MM:SS;FF` (drop-frame) -> (frame number, drop_frame)."""
    match = _TIMECODE.match(timecode.strip())
    if not match:
        raise ValueError(f"timecode {timecode!r} is not HH:MM:SS:FF or HH:MM:SS;FF")
    hours, minutes, seconds, separator, frames = match.groups()
    timebase = round(fps)
    drop = separator == ";" and fps.denominator != 1
    total_minutes = int(hours) * 60 + int(minutes)
    count = (total_minutes * 60 + int(seconds)) * timebase + int(frames)
    if drop:  # drop-frame skips 2 (4 at 60p) frame numbers each minute but every tenth
        count -= (timebase // 15) * (total_minutes - total_minutes // 10)
    return count, drop


@dataclass(frozen=True)
class SourceMedia:
    """What a written edit declares about its recording. None leaves a fact to the writer's
    defaults (the path from `source_video_name`, 1920x1080, the last frame used)."""

    path: str | None = None  # absolute, relative (see `media_url`), Windows, or a URL
    width: int | None = None  # as displayed (after pixel aspect and rotation)
    height: int | None = None
    duration_frames: int | None = None
    audio_channels: int = 2  # 0: the recording has no sound
    sample_rate: int = 48000
    sample_depth: int = 16
    timecode: str = "00:00:00:00"  # of its first frame

    @property
    def name(self) -> str:
        return source_name(self.path) if self.path else ""

    @classmethod
    def from_media_json(cls, path: str | Path) -> SourceMedia:
        """From mediafeat's `media.json` (format `xmlai-media` v1: `path`,
        `display_width`, `display_height`, `frame_count`, `audio_channels`,
        `audio_sample_rate`, `bit_depth` is the picture's and ignored, `start_timecode`)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: not a readable media.json ({error})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a media.json object")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> SourceMedia:
        channels = data.get("audio_channels")
        if not data.get("has_audio", True):
            channels = 0
        elif channels is None:
            channels = 2
        return cls(
            path=data.get("path"),
            width=data.get("display_width") or data.get("width"),
            height=data.get("display_height") or data.get("height"),
            duration_frames=data.get("frame_count"),
            audio_channels=int(channels),
            sample_rate=int(data.get("audio_sample_rate") or 48000),
            timecode=data.get("start_timecode") or "00:00:00:00",
        )
