"""An xmeml edit rendered as a video with its sound (`xmlai preview EDIT.xml -o preview.mp4`).

Each sequence frame composites the enabled video tracks bottom to top onto black with the
per-frame Basic Motion / Crop / Opacity values of `xml2csv.sample`; a dissolve blends its two
neighbours. Media that cannot be found or decoded is drawn as a labelled placeholder and listed
in the summary written beside the video (`<stem>.preview.json`).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import OrderedDict, deque
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote

import av
import cv2
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from xml2csv import DEFAULT_RULES, AssetRole, read_xmeml, sample
from xml2csv.io import atomic_write
from xml2csv.model import Timeline
from xml2csv.safexml import parse_document
from xmlai.runlog import PipelineError, write_json

RATE = 48_000  # output audio sample rate
TICKS = 254_016_000_000  # Premiere ticks per second (pproTicksIn)
SEEK_AHEAD_S = 3.0  # decode forward up to this far; seek beyond it
MAX_OPEN_VIDEOS = 16  # decoders kept open; the least recently used one is closed first
FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
COLUMNS = ("scale", "pos_x", "pos_y", "crop_left", "crop_right", "crop_top", "crop_bottom")
NEUTRAL = np.array([100, 0, 0, 0, 0, 0, 0, 100], dtype=np.float32)  # COLUMNS + opacity
_DRIVE = re.compile(r"^/[A-Za-z]:[/\\]")


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


# ---- compositor --------------------------------------------------------------------------------
def _media_seconds(item, t: int, seq_fps: Fraction) -> float:
    """Seconds into the item's media at sequence frame t (speed 100 %), held at its ends."""
    offset = min(max(t - item.start, 0), max(item.out - item.in_ - 1, 0))
    if item.ticks_in is not None:
        return item.ticks_in / TICKS + offset * seq_fps.denominator / seq_fps.numerator
    return (item.in_ + offset) * item.rate.fps.denominator / item.rate.fps.numerator


def _dissolves(track) -> dict[int, list]:
    """Frame -> [(outgoing item, weight), (incoming item, weight)] under each transition."""
    items, blends = [i for i in track.items if i.enabled], {}
    for tr in track.transitions:
        out = [i for i in items if i.visible_end == tr.cut and i.start < tr.cut]
        inc = [i for i in items if i.visible_start == tr.cut and i.end > tr.cut]
        out = out[-1] if out and tr.alignment != "start-black" else None
        inc = inc[0] if inc and tr.alignment != "end-black" else None
        for t in range(max(tr.start, 0), tr.end):
            p = (t - tr.start + 0.5) / (tr.end - tr.start)
            blends[t] = [(i, wt) for i, wt in ((out, 1 - p), (inc, p)) if i is not None]
    return blends


class _Compositor:
    def __init__(self, timeline, media: _Media, size: tuple, zoom: tuple, scope: int = 0):
        seq, self.media, self.size, self.zoom = timeline.sequence, media, size, zoom
        self.scope = scope  # a nested sequence's tracks decode apart from the parent's
        n, self.fps = seq.duration, seq.fps
        table = sample(timeline, n_tracks=max(len(seq.tracks), 1), extra_parameters=["opacity"])
        main = timeline.main_source.file_id if timeline.main_source else None
        self.layers = []  # (track, params (n, 8), owner (n,) item index or -1, roles, dissolves)
        for track in (t for t in seq.tracks if t.enabled):
            owner = np.full(n, -1, dtype=np.int32)
            for k, item in enumerate(track.items):
                if item.enabled:
                    owner[max(item.visible_start, 0) : max(min(item.visible_end, n), 0)] = k
            on_base = track.index == timeline.base_track
            roles = {id(item): DEFAULT_RULES.role_of(item, main, on_base) for item in track.items}
            cols = [f"t{track.index:02d}_{c}" for c in (*COLUMNS, "opacity")]
            params = table[cols].to_numpy(dtype=np.float32)
            self.layers.append((track, params, owner, roles, _dissolves(track)))

    def frame(self, t: int) -> np.ndarray:
        w, h = self.size
        canvas = np.zeros((h, w, 3), dtype=np.uint8)
        for track, params, owner, roles, dissolves in self.layers:
            shown = dissolves.get(t) or ([(track.items[owner[t]], 1.0)] if owner[t] >= 0 else [])
            pieces = []
            for item, weight in shown:  # the values of the item's nearest frame on screen
                lo, hi = item.visible_start, item.visible_end
                row = params[min(max(t, lo), hi - 1)] if hi > lo else NEUTRAL
                source = self.media.source(item, (self.scope, track.index), roles[id(item)])
                piece = self._piece(source, _media_seconds(item, t, self.fps), row)
                if piece is not None and weight * row[7] > 0:
                    pieces.append((*piece, weight * min(row[7], 100) / 100))
            _over(canvas, pieces)
        return canvas

    def _piece(self, source, seconds: float, row: np.ndarray):
        """(y0, y1, x0, x1, rgb, alpha): the visible part of a source placed by `row`."""
        (w, h), (kx, ky) = self.size, self.zoom
        if source.declared is None:
            source.declared = source.picture(seconds)[0].shape[1::-1]
        iw = round(source.declared[0] * row[0] / 100 * kx)
        ih = round(source.declared[1] * row[0] / 100 * ky)
        left, top = round(w / 2 + row[1] * w - iw / 2), round(h / 2 + row[2] * h - ih / 2)
        x0, x1 = max(left + round(iw * row[3] / 100), 0), left + iw - round(iw * row[4] / 100)
        y0, y1 = max(top + round(ih * row[5] / 100), 0), top + ih - round(ih * row[6] / 100)
        x1, y1 = min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            return None
        bx0, by0, bx1, by1 = x0 - left, y0 - top, x1 - left, y1 - top
        if iw * ih <= 4 * w * h:
            rgb, alpha = source.picture(seconds, iw, ih)
            rgb, alpha = rgb[by0:by1, bx0:bx1], None if alpha is None else alpha[by0:by1, bx0:bx1]
        else:  # a big zoom: cut the visible part from the native picture, then scale it
            rgb, alpha = source.picture(seconds)
            fx, fy = rgb.shape[1] / iw, rgb.shape[0] / ih
            sx = slice(int(bx0 * fx), max(int(bx1 * fx), int(bx0 * fx) + 1))
            sy = slice(int(by0 * fy), max(int(by1 * fy), int(by0 * fy) + 1))
            rgb = cv2.resize(rgb[sy, sx], (x1 - x0, y1 - y0))
            alpha = (
                None if alpha is None else cv2.resize(alpha[sy, sx], (x1 - x0, y1 - y0))[..., None]
            )
        return y0, y1, x0, x1, rgb, alpha


class _Nested:
    """A nested sequence, drawn by its own compositor at its frame `in + (t - start)`."""

    def __init__(self, media: _Media, seq):
        self.declared = (seq.width, seq.height) if seq.width and seq.height else media.seq_size
        size = tuple(max(round(v * k), 1) for v, k in zip(self.declared, media.zoom, strict=True))
        parent = media.timeline
        child = Timeline(parent.path, seq, [], parent.main_source, None, parent.files)
        self.compositor = _Compositor(child, media, size, media.zoom, scope=id(seq))
        self.fps, self.last, self._frame = seq.fps, max(seq.duration - 1, 0), (None, None)

    def picture(self, seconds: float, width: int | None = None, height: int | None = None):
        t = min(max(round(seconds * self.fps), 0), self.last)
        if self._frame[0] != t:
            self._frame = (t, self.compositor.frame(t))
        rgb = self._frame[1]
        if width is not None and (width, height) != rgb.shape[1::-1]:
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        return rgb, None


def _over(canvas: np.ndarray, pieces: list) -> None:
    """Composite one track's pieces over the canvas; two (a dissolve) as a premultiplied sum."""
    if len(pieces) == 1:
        y0, y1, x0, x1, rgb, alpha, weight = pieces[0]
        if alpha is None and weight >= 1:
            canvas[y0:y1, x0:x1] = rgb
        else:
            a = np.float32(weight) if alpha is None else alpha * np.float32(weight)
            under = canvas[y0:y1, x0:x1]
            under[:] = under * (1 - a) + rgb * a + 0.5
    elif pieces:
        layer = np.zeros(canvas.shape, dtype=np.float32)
        cover = np.zeros((*canvas.shape[:2], 1), dtype=np.float32)
        for y0, y1, x0, x1, rgb, alpha, weight in pieces:
            a = np.float32(weight) if alpha is None else alpha * np.float32(weight)
            layer[y0:y1, x0:x1] += rgb * a
            cover[y0:y1, x0:x1] += a
        canvas[:] = np.clip(canvas * (1 - np.minimum(cover, 1)) + layer + 0.5, 0, 255)


# ---- audio -------------------------------------------------------------------------------------
class _AudioClip:
    """One audio item's samples from its source, resampled to RATE, read in order."""

    def __init__(self, path: Path, seconds: float, channel: int | None):
        self.container = av.open(str(path))
        stream = self.container.streams.audio[0]
        self.start = seconds + (self.container.start_time or 0) / av.time_base
        if seconds > 0:
            self.container.seek(int(self.start / stream.time_base), stream=stream)
        self.frames = self.container.decode(stream)
        self.resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=RATE)
        self.buffer, self.lead, self.done = np.zeros(0, np.float32), None, False
        self.channel = channel

    def _decode(self) -> None:
        try:
            frame = next(self.frames)
        except (StopIteration, av.FFmpegError):
            frame, self.done = None, True
        if self.lead is None and frame is not None:  # samples before (+) or after (-) `in`
            self.lead = round(((frame.time or self.start) - self.start) * RATE)
        for block in self.resampler.resample(frame):
            data = block.to_ndarray()
            mono = data[min(self.channel, len(data)) - 1] if self.channel else data.mean(axis=0)
            if self.lead:  # line the first samples up with the item's in point
                lead, self.lead = self.lead, 0
                mono = np.concatenate([np.zeros(max(lead, 0), np.float32), mono[max(-lead, 0) :]])
            self.buffer = np.concatenate([self.buffer, mono])

    def read(self, count: int) -> np.ndarray:
        while len(self.buffer) < count and not self.done:
            self._decode()
        out, got = np.zeros(count, np.float32), self.buffer[:count]
        out[: len(got)], self.buffer = got, self.buffer[count:]
        return out


class _Mixer:
    """The enabled audio tracks' items: source channel 1 to the left, 2 to the right (odd and
    even beyond), an item without a source channel downmixed to both."""

    def __init__(self, seq, media: _Media):
        self.fps, self.open, self.todo, self.failed = seq.fps, [], [], []
        for track in (t for t in seq.audio_tracks if t.enabled):
            for item in track.items:
                file = item.file
                usable = item.enabled and file is not None and not file.media_source
                if usable and item.end > item.start and (path := media.audio_path(file)):
                    self.todo.append((self.sample(item.start), self.sample(item.end), item, path))
        self.todo.sort(key=lambda entry: entry[0])

    def sample(self, frame: int) -> int:
        return frame * RATE * self.fps.denominator // self.fps.numerator

    def block(self, s0: int, s1: int) -> np.ndarray:
        while self.todo and self.todo[0][0] < s1:
            a0, a1, item, path = self.todo.pop(0)
            seconds = _media_seconds(item, item.start, self.fps) + max(s0 - a0, 0) / RATE
            try:
                clip = _AudioClip(path, seconds, item.source_channel)
                self.open.append((a0, a1, item.source_channel, clip))
            except (av.FFmpegError, OSError, IndexError) as err:
                self.failed.append(f"audio of {path} skipped: {err}")
        mix = np.zeros((2, s1 - s0), np.float32)
        for a0, a1, channel, clip in self.open:
            lo, hi = max(a0, s0), min(a1, s1)
            if hi > lo:
                rows = [0, 1] if channel is None else [(channel - 1) % 2]
                mix[rows, lo - s0 : hi - s0] += clip.read(hi - lo)
        for entry in [e for e in self.open if e[1] <= s1]:
            entry[3].container.close()
            self.open.remove(entry)
        return np.clip(mix, -1, 1)


# ---- encoder and the whole render -------------------------------------------------------------
class _Encoder:
    """H.264 yuv420p with pts = frame number at time base 1/fps; AAC stereo in 1024-sample
    frames when there is sound."""

    def __init__(self, path: Path, fmt: str, size: tuple[int, int], fps: Fraction, audio: bool):
        options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
        self.container = av.open(str(path), mode="w", format=fmt, options=options)
        self.tb = Fraction(fps.denominator, fps.numerator)
        x264 = {"preset": "superfast", "crf": "20", "g": str(round(2 * fps))}
        self.video = self.container.add_stream("libx264", rate=fps, options=x264)
        self.video.width, self.video.height, self.video.pix_fmt = *size, "yuv420p"
        self.video.time_base = self.video.codec_context.time_base = self.tb
        self.audio = self.container.add_stream("aac", rate=RATE, layout="stereo") if audio else None
        if self.audio is not None:
            self.audio.time_base = Fraction(1, RATE)
        self.frames, self.samples, self.pending = 0, 0, np.zeros((2, 0), np.float32)

    def picture(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = self.frames, self.tb
        self.container.mux(self.video.encode(frame))
        self.frames += 1

    def sound(self, block: np.ndarray, final: bool = False) -> None:
        self.pending = np.concatenate([self.pending, block], axis=1)
        while self.pending.shape[1] >= 1024 or (final and self.pending.shape[1]):
            chunk, self.pending = self.pending[:, :1024], self.pending[:, 1024:]
            chunk = np.ascontiguousarray(chunk)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = RATE, self.samples, Fraction(1, RATE)
            self.container.mux(self.audio.encode(frame))
            self.samples += chunk.shape[1]

    def close(self) -> None:
        if self.audio is not None:
            self.sound(np.zeros((2, 0), np.float32), final=True)
            self.container.mux(self.audio.encode(None))
        self.container.mux(self.video.encode(None))
        self.container.close()


def _sizes(timeline, height: int | None):
    """(sequence size, output size, output / sequence scale): the sequence's own size, else
    the main source's, else 1920x1080; scaled to `height`, rounded to even numbers."""
    seq, main = timeline.sequence, timeline.main_source
    if seq.width and seq.height:
        w0, h0 = seq.width, seq.height
    elif main is not None and main.width and main.height:
        w0, h0 = main.width, main.height
    else:
        w0, h0 = 1920, 1080
    k = height / h0 if height else 1.0
    w, h = (max(int(v * k / 2 + 0.5) * 2, 2) for v in (w0, h0))
    return (w0, h0), (w, h), (w / w0, h / h0)


def render_preview(edit_xml, output_mp4, *, media_root=None, height=None, overwrite=False,
                   progress=True) -> dict:  # fmt: skip
    """Render the edit's sequence to `output_mp4`, one H.264 frame per sequence frame (AAC
    stereo when an audio item has sound); returns the summary also written beside it."""
    started, edit_xml, output = time.perf_counter(), Path(edit_xml), Path(output_mp4)
    timeline = read_xmeml(edit_xml)
    seq = timeline.sequence
    if output.exists() and not overwrite:
        raise PipelineError(f"{output} exists; pass --overwrite to replace it")
    if seq.duration <= 0:
        raise PipelineError(f"{edit_xml}: the sequence {seq.name!r} has no frames to render")
    if height is not None and height < 2:
        raise PipelineError(f"the preview height must be at least 2 pixels, not {height}")
    seq_size, size, zoom = _sizes(timeline, height)
    roots = [*([Path(media_root)] if media_root else []), edit_xml.parent]
    media = _Media(timeline, roots, (seq_size, size, zoom), generator_values(edit_xml))
    compositor, mixer = _Compositor(timeline, media, size, zoom), _Mixer(seq, media)
    columns = (TextColumn("preview"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    bar = Progress(*columns, disable=not progress)
    task, done = bar.add_task("preview", total=seq.duration), {}

    def write(tmp: Path) -> None:
        fmt = FORMATS.get(output.suffix.lower(), "mp4")
        encoder = _Encoder(tmp, fmt, size, seq.fps, audio=bool(mixer.todo))
        with bar:
            for t in range(seq.duration):
                encoder.picture(compositor.frame(t))
                if encoder.audio is not None:
                    encoder.sound(mixer.block(mixer.sample(t), mixer.sample(t + 1)))
                bar.advance(task)
        encoder.close()
        done.update(frames=encoder.frames, samples=encoder.samples, audio=encoder.audio is not None)

    try:
        atomic_write(output, write)
    finally:
        media.close()
    took = time.perf_counter() - started
    summary = {
        "xml": str(edit_xml), "output": str(output), "sequence": seq.name,
        "frames": done["frames"], "fps": str(seq.fps), "width": size[0], "height": size[1],
        "audio": done["audio"], "audio_seconds": round(done["samples"] / RATE, 4),
        "missing_media": list(media.missing.values()), "seconds": round(took, 3),
        "frames_per_second": round(done["frames"] / max(took, 1e-9), 1),
        "warnings": timeline.warnings + mixer.failed,
    }  # fmt: skip
    write_json(output.with_name(f"{output.stem}.preview.json"), summary)
    return summary
