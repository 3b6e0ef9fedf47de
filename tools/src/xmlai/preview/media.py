"""Where an edit's media is and what each frame of it shows: decoded video, stills,
placeholders for what is missing, and generator colours and titles."""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict, deque
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote

import av
import cv2
import numpy as np

from xml2csv import AssetRole
from xml2csv.safexml import parse_document

_DRIVE = re.compile(r"^/[A-Za-z]:[/\\]")
TICKS = 254_016_000_000  # Premiere ticks per second (pproTicksIn)
SEEK_AHEAD_S = 3.0  # decode forward up to this far; seek beyond it
MAX_OPEN_VIDEOS = 16  # decoders kept open; the least recently used one is closed first


def local_path(pathurl: str | None, name: str, roots: list[Path]) -> tuple[Path | None, str]:
    """(the local file or None, the path as written): `file://localhost/D%3a/x.mov` ->
    `D:/x.mov`, percent-decoded once; when that is no file, each of `roots` / the file name."""
    written = (pathurl or "").strip()
    for prefix in ("file://localhost", "file://", "file:"):
        if written.lower().startswith(prefix):
            written = written[len(prefix) :]
            break
    written = unquote(written)
    written = written[1:] if _DRIVE.match(written) else written
    tries = [written, unicodedata.normalize("NFC", written)] if written else []
    tries += [str(root / name) for root in roots if name]
    return next((Path(p) for p in tries if Path(p).is_file()), None), written or name


# ---- frame sources: `picture(seconds, width, height)` -> (rgb, alpha or None) ----------------
class _Still:
    declared: tuple[int, int] | None = None  # the size Basic Motion scales, else the image's

    def __init__(self, rgba: np.ndarray):
        self.rgb = np.ascontiguousarray(rgba[..., :3])
        opaque = rgba.shape[2] < 4 or bool((rgba[..., 3] == 255).all())
        self.alpha = None if opaque else rgba[..., 3:].astype(np.float32) / 255
        self._sized: tuple = (None, None, None)

    def picture(self, seconds: float, width: int | None = None, height: int | None = None):
        if width is None or (width, height) == self.rgb.shape[1::-1]:
            return self.rgb, self.alpha
        if self._sized[0] != (width, height):
            mode = cv2.INTER_AREA if width < self.rgb.shape[1] else cv2.INTER_LINEAR
            alpha = self.alpha
            if alpha is not None:
                alpha = cv2.resize(alpha, (width, height), interpolation=mode)[..., None]
            self._sized = ((width, height), cv2.resize(self.rgb, (width, height), mode), alpha)
        return self._sized[1], self._sized[2]


def load_still(path: Path) -> _Still:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:  # formats OpenCV lacks (PSD, some TIFFs): FFmpeg's first frame
        with av.open(str(path)) as container:
            return _Still(next(container.decode(video=0)).to_ndarray(format="rgba"))
    if image.dtype != np.uint8:
        image = (image / (np.iinfo(image.dtype).max / 255)).astype(np.uint8)
    codes = {2: cv2.COLOR_GRAY2RGBA, 3: cv2.COLOR_BGR2RGBA, 4: cv2.COLOR_BGRA2RGBA}
    return _Still(cv2.cvtColor(image, codes[image.shape[2] if image.ndim == 3 else 2]))


class _Video:
    """Sequential decoding with the last few frames kept; seeks only on a jump backwards or
    more than SEEK_AHEAD_S ahead. Media time 0 is the container's start."""

    declared: tuple[int, int] | None = None

    def __init__(self, path: Path):
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.start = (self.container.start_time or 0) / av.time_base
        self.half = 0.5 / float(self.stream.average_rate or self.stream.guessed_rate or 30)
        self.recent: deque = deque(maxlen=4)  # (time, frame), consecutive
        self.ahead, self._frames = None, iter(())
        self._converted: tuple = (None, None, None)  # (frame, size, rgb)
        if self.frame(0.0) is None:
            raise ValueError("no video frame could be decoded")

    def _next(self):
        try:
            frame = next(self._frames)
        except (StopIteration, av.FFmpegError):
            return None
        last = self.ahead[0] if self.ahead else (self.recent[-1][0] if self.recent else 0.0)
        return (last + 2 * self.half if frame.time is None else frame.time), frame

    def frame(self, seconds: float):
        """The frame on screen at `seconds`: the last one starting before it (nearest)."""
        target = seconds + self.start + self.half
        ahead = self.ahead is not None and target > self.ahead[0] + SEEK_AHEAD_S
        if not self.recent or target < self.recent[0][0] or ahead:
            self.container.seek(max(int(target / self.stream.time_base), 0), stream=self.stream)
            self._frames = self.container.decode(self.stream)
            self.recent.clear()
            self.ahead = self._next()
        while self.ahead is not None and (self.ahead[0] <= target or not self.recent):
            self.recent.append(self.ahead)
            self.ahead = self._next()
        shown = [f for when, f in self.recent if when <= target]
        return shown[-1] if shown else (self.recent[0][1] if self.recent else None)

    def picture(self, seconds: float, width: int | None = None, height: int | None = None):
        frame = self.frame(seconds)
        if self._converted[0] is not frame or self._converted[1] != (width, height):
            size = {} if width is None else {"width": width, "height": height}
            rgb = frame.to_ndarray(format="rgb24", interpolation="AREA", **size)
            self._converted = (frame, (width, height), rgb)  # a held frame costs nothing more
        return self._converted[2], None


def _label(image: np.ndarray, text: str, outline: int = 0) -> None:
    """White `text` centred on an RGBA `image`, a line per newline, as large as fits."""
    lines = [line for line in re.split(r"[\r\n]+", text.strip()) if line] or ["?"]
    h, w = image.shape[:2]
    font, white, black = cv2.FONT_HERSHEY_SIMPLEX, (255, 255, 255, 255), (0, 0, 0, 255)
    widest = max(cv2.getTextSize(line, font, 1, 2)[0][0] for line in lines)
    scale = max(min(h / 220, 0.9 * w / max(widest, 1), 0.8 * h / (40 * len(lines))), 0.25)
    thick = max(int(scale * 2), 1)
    for i, line in enumerate(lines):
        (tw, th), _ = cv2.getTextSize(line, font, scale, thick)
        org = ((w - tw) // 2, int(h / 2 + (i - (len(lines) - 1) / 2) * th * 1.6 + th / 2))
        if outline:
            cv2.putText(image, line, org, font, scale, black, thick + outline, cv2.LINE_AA)
        cv2.putText(image, line, org, font, scale, white, thick, cv2.LINE_AA)


def placeholder(label: str, width: int, height: int) -> _Still:
    """A grey box with a label, standing in for a `width` x `height` source."""
    shrink = min(1.0, 2048 / max(width, height, 1))
    w, h = max(int(width * shrink), 2), max(int(height * shrink), 2)
    image = np.full((h, w, 4), (90, 90, 90, 255), dtype=np.uint8)
    cv2.rectangle(image, (0, 0), (w - 1, h - 1), (220, 220, 220, 255), max(min(w, h) // 50, 1))
    _label(image, label)
    still = _Still(image)
    still.declared = (width, height)
    return still


def _role_name(role: AssetRole) -> str:
    return role.name.lower().replace("_", " ").removesuffix(" overlay")  # "still image", ...


class _Media:
    """Items -> frame sources, opened once (a video once per track, so tracks decode apart);
    what could not be shown is recorded in `missing`."""

    def __init__(self, timeline, roots: list[Path], sizes: tuple, generators: dict):
        self.timeline, self.roots, self.generators = timeline, roots, generators
        self.seq_size, _, self.zoom = sizes
        self.missing: dict[str, dict] = {}
        self._sources: OrderedDict = OrderedDict()
        self._audio: dict[str, Path | None] = {}

    def _miss(self, key, file: str, path: str, role: str, reason: str, drawn="placeholder"):
        entry = self.missing.setdefault(key, dict(file=file, path=path, role=role, reason=reason))
        if drawn not in entry.setdefault("drawn", drawn):  # a file both seen and heard
            entry["drawn"] = " and ".join(sorted((entry["drawn"], drawn)))
            entry["role"] = entry["role"] if role == "audio" else role

    def source(self, item, track: tuple, role: AssetRole):
        key = ("nested", id(item.nested)) if item.nested is not None else id(item)
        if item.kind == "clip" and item.file is not None and item.nested is None:
            key = (item.file.file_id, track)
        if key not in self._sources:
            self._sources[key] = self._open(item, role)
            videos = [k for k, s in self._sources.items() if isinstance(s, _Video)]
            if len(videos) > MAX_OPEN_VIDEOS:
                self._sources.pop(videos[0]).container.close()
        self._sources.move_to_end(key)
        return self._sources[key]

    def _open(self, item, role: AssetRole):
        file, name = item.file, _role_name(role)
        size = (file.width, file.height) if file and file.width and file.height else None
        (w, h), what = size or self.seq_size, item.name or "?"
        if item.kind == "generator":
            return self._generator(item, role)
        if file is not None and (file.media_source or "").casefold() == "slug":
            return _Still(np.zeros((h, w, 3), dtype=np.uint8))  # Black Video
        if item.nested is not None and item.nested.duration > 0:
            from xmlai.preview.compose import _Nested  # a nested sequence is composited

            return _Nested(self, item.nested)
        if file is None or file.media_source:
            self._miss(file.file_id if file else f"item:{what}", what, "", name, "no media file")
            return placeholder(f"{name}: {what}", w, h)
        path, written = local_path(file.pathurl, file.display_name, self.roots)
        reason = "not found"
        if path is not None:
            try:
                source = load_still(path) if role == AssetRole.STILL_IMAGE else _Video(path)
                source.declared = size
                return source
            except (av.FFmpegError, OSError, ValueError, IndexError, StopIteration) as err:
                reason = f"not decodable: {err}"
        self._miss(file.file_id, file.display_name, written, name, reason)
        return placeholder(f"{name}: {file.display_name}", w, h)

    def _generator(self, item, role: AssetRole) -> _Still:
        values, (w, h) = self.generators.get(item.line, {}), self.seq_size
        gid, text = item.generator_id or item.name, values.get("str")
        colour = values.get("fillcolor", values.get("color"))
        if isinstance(colour, dict):  # Premiere's Color matte, FCP's Color
            rgb = [int(float(colour.get(c) or 0)) for c in ("red", "green", "blue")]
            return _Still(np.full((h, w, 3), rgb, dtype=np.uint8))
        if role == AssetRole.TEXT and isinstance(text, str) and text.strip():
            image = np.zeros((h, w, 4), dtype=np.uint8)
            _label(image, text, outline=4)
            return _Still(image)
        if "black" in gid.casefold():
            return _Still(np.zeros((h, w, 3), dtype=np.uint8))
        self._miss(f"generator:{gid}", gid, "", _role_name(role), "generator not rendered")
        return placeholder(f"{_role_name(role)}: {gid}", w, h)

    def audio_path(self, file) -> Path | None:
        """The file when it exists and holds an audio stream."""
        if file.file_id not in self._audio:
            path, written = local_path(file.pathurl, file.display_name, self.roots)
            ok, reason = None, "not found"
            try:
                if path is not None:
                    with av.open(str(path)) as container:
                        ok, reason = (path if container.streams.audio else None), "no audio stream"
            except (av.FFmpegError, OSError) as err:
                reason = f"not decodable: {err}"
            if ok is None:
                self._miss(file.file_id, file.display_name, written, "audio", reason, "silence")
            self._audio[file.file_id] = ok
        return self._audio[file.file_id]

    def close(self) -> None:
        for source in self._sources.values():
            if isinstance(source, _Video):
                source.container.close()


def generator_values(path: Path) -> dict[int, dict]:
    """Each generatoritem's effect parameters by source line (a title's `str`, a colour)."""
    found = {}
    for el in parse_document(path).getroot().iter("generatoritem"):
        values = found.setdefault(el.sourceline, {})
        for param in el.iterfind("effect/parameter"):
            pid = (param.findtext("parameterid") or param.findtext("name") or "").strip().lower()
            value = param.find("value")
            if value is not None:
                values[pid] = {c.tag: c.text for c in value} if len(value) else value.text or ""
    return found


def _media_seconds(item, t: int, seq_fps: Fraction) -> float:
    """Seconds into the item's media at sequence frame t (speed 100 %), held at its ends."""
    offset = min(max(t - item.start, 0), max(item.out - item.in_ - 1, 0))
    if item.ticks_in is not None:
        return item.ticks_in / TICKS + offset * seq_fps.denominator / seq_fps.numerator
    return (item.in_ + offset) * item.rate.fps.denominator / item.rate.fps.numerator
