"""An xmeml edit rendered as a video with its sound (`xmlai preview EDIT.xml -o preview.mp4`).

Each sequence frame composites the enabled video tracks bottom to top onto black with the
per-frame Basic Motion / Crop / Opacity values of `xml2csv.sample`; a dissolve blends its two
neighbours. Media that cannot be found or decoded is drawn as a labelled placeholder and listed
in the summary written beside the video (`<stem>.preview.json`).
"""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trackcore.atomic import atomic_path
from xml2csv import read_xmeml
from xmlai.preview.compose import _Compositor
from xmlai.preview.media import _Media, generator_values
from xmlai.preview.sound import RATE, _Mixer
from xmlai.runlog import PipelineError, write_json

FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


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
        with atomic_path(output) as tmp:
            write(tmp)
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
