"""What a recording is: container, exact frame rate, size, rotation, audio, start timecode.

`probe` reads the container's headers and the first video packets (no full decode), so it is
quick on a long file; `extract` later replaces the estimates with what it decoded.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from mediafeat.errors import MediaError
from mediafeat.jsonfile import write_json

MEDIA_FORMAT, MEDIA_VERSION = "xmlai-media", 1
NTSC_BASES = (24, 30, 48, 60, 120, 240)
RATE_TOLERANCE = 2e-3  # frames/s: 29.97 written as 2997/100 is still 30000/1001
VFR_PACKETS = 600  # packets read by probe to judge a variable frame rate
VFR_SHARE = 0.05  # more than this share of intervals off the nominal one: variable


@dataclass
class MediaInfo:
    path: str
    container: str
    duration_s: float
    has_video: bool
    has_audio: bool
    fps: str | None = None  # exact, as a fraction: "30000/1001", "25"
    variable_frame_rate: bool = False
    frame_count: int | None = None
    frame_count_source: str | None = None  # "container", "estimated" or "decoded"
    width: int | None = None  # as coded
    height: int | None = None
    display_width: int | None = None  # after pixel aspect and rotation: what a viewer shows
    display_height: int | None = None
    pixel_aspect: str = "1"
    rotation: int = 0  # degrees counter-clockwise the frames are turned for display
    video_codec: str | None = None
    pixel_format: str | None = None
    bit_depth: int | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    audio_sample_rate: int | None = None
    start_timecode: str | None = None
    start_time_s: float = 0.0  # the container's first timestamp (the features' time 0)
    warnings: list[str] = field(default_factory=list)

    @property
    def frame_rate(self) -> Fraction | None:
        return Fraction(self.fps) if self.fps else None

    def to_dict(self) -> dict:
        return {"format": MEDIA_FORMAT, "version": MEDIA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict, source: str = "media.json") -> MediaInfo:
        if data.get("format") != MEDIA_FORMAT or data.get("version") != MEDIA_VERSION:
            raise MediaError(
                f"not a {MEDIA_FORMAT} v{MEDIA_VERSION} file "
                f"(format {data.get('format')!r}, version {data.get('version')!r})",
                source=source,
            )
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def load(cls, path: str | Path) -> MediaInfo:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MediaError(f"cannot read: {exc}", source=str(path)) from None
        return cls.from_dict(data, str(path))


def exact_rate(rate: float | Fraction) -> Fraction:
    """29.97 -> 30000/1001, 2997/100 -> 30000/1001, 25.0 -> 25; others to 1/1001 precision."""
    value = float(rate)
    for base in NTSC_BASES:
        if abs(value - base * 1000 / 1001) < RATE_TOLERANCE:
            return Fraction(base * 1000, 1001)
    if abs(value - round(value)) < RATE_TOLERANCE:
        return Fraction(round(value))
    return Fraction(value).limit_denominator(1001)


def is_variable(intervals_s: np.ndarray, fps: Fraction | None) -> bool:
    """Frame intervals that stray from the nominal one by more than a quarter of it."""
    if fps is None or len(intervals_s) < 8:
        return False
    nominal = 1.0 / float(fps)
    off = np.abs(intervals_s - nominal) > 0.25 * nominal
    return bool(off.mean() > VFR_SHARE)


def open_container(path: str | Path):
    """av.open with mediafeat's errors: the file named, one line, no FFmpeg traceback."""
    import av

    path = Path(path)
    if not path.exists():
        raise MediaError("no such file", source=str(path))
    if path.is_dir():
        raise MediaError("is a folder, not a recording", source=str(path))
    if path.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)", source=str(path))
    try:
        return av.open(str(path), metadata_errors="ignore")
    except PermissionError:
        raise MediaError("permission denied", source=str(path)) from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"not a readable media file ({_reason(exc)})", source=str(path)) from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]


def probe(path: str | Path) -> MediaInfo:
    with open_container(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError("has neither a video nor an audio stream", source=str(path))
        info = MediaInfo(
            path=str(path),
            container=_container_name(container.format.name, Path(path)),
            duration_s=_duration(container, video or audio),
            has_video=video is not None,
            has_audio=audio is not None,
            start_timecode=_timecode(container),
            start_time_s=_start(video or audio),
        )
        if audio is not None:
            info.audio_codec = audio.codec_context.name
            info.audio_channels = audio.codec_context.channels
            info.audio_sample_rate = audio.codec_context.sample_rate
        if video is not None:
            _describe_video(container, video, info)
    return info


def _container_name(names: str, path: Path) -> str:
    """FFmpeg's demuxer lists its aliases ("mov,mp4,m4a,..."): the file's own, else the first."""
    aliases = names.split(",")
    ext = path.suffix.lower().lstrip(".")
    return ext if ext in aliases else aliases[0]


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return math.nan


def _start(stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _timecode(container) -> str | None:
    for source in (*(s.metadata for s in container.streams), container.metadata):
        if source.get("timecode"):
            return str(source["timecode"])
    return None


def _describe_video(container, video, info: MediaInfo) -> None:
    ctx = video.codec_context
    info.video_codec = ctx.name
    info.width, info.height = ctx.width, ctx.height
    info.pixel_format = ctx.format.name if ctx.format else None
    info.bit_depth = _bit_depth(ctx.format)
    sar = video.sample_aspect_ratio or ctx.sample_aspect_ratio
    sar = Fraction(sar) if sar else Fraction(1)
    info.pixel_aspect = str(sar)
    rate = video.average_rate or video.guessed_rate or video.base_rate
    fps = exact_rate(rate) if rate else None
    info.fps = str(fps) if fps else None
    times, info.rotation = _first_packets(container, video)
    info.variable_frame_rate = is_variable(np.diff(np.sort(times)), fps)
    if info.variable_frame_rate:
        info.warnings.append(f"variable frame rate (average {float(rate):.3f} frames/s)")
    if video.frames:
        info.frame_count, info.frame_count_source = int(video.frames), "container"
    elif fps and math.isfinite(info.duration_s):
        info.frame_count = round(info.duration_s * float(fps))
        info.frame_count_source = "estimated"
    width = round(ctx.width * float(sar))
    turned = info.rotation % 180 == 90
    info.display_width, info.display_height = (ctx.height, width) if turned else (width, ctx.height)


def _bit_depth(fmt) -> int | None:
    if fmt is None or not fmt.components:
        return None
    return max(c.bits for c in fmt.components)


def _first_packets(container, video) -> tuple[np.ndarray, int]:
    """Timestamps of the first packets (for the frame-rate check) and the display rotation,
    read from the first decoded frame's side data."""
    import av

    times, rotation = [], None
    try:
        for packet in container.demux(video):
            if packet.pts is not None:
                times.append(float(packet.pts * video.time_base))
            if rotation is None:
                for frame in packet.decode():
                    rotation = round(frame.rotation or 0) % 360
                    break
            if len(times) >= VFR_PACKETS:
                break
    except av.error.FFmpegError:
        pass  # a damaged file: extract reports how far it decodes
    return np.asarray(times), rotation or 0


def write_media_json(info: MediaInfo, path: Path) -> None:
    write_json(path, info.to_dict())
