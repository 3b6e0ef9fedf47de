"""The single decoding pass: demux audio and video together, hand each video frame (with its
stream timestamp) to the visual extractor and each audio frame, as mono float32 at the
analysis rate, to the audio extractor. Memory stays flat: nothing but the extractors' rows is
kept, except the 16 kHz audio that speech-to-text needs, which is spooled to disk."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mediafeat.columns import AUDIO, VISUAL
from mediafeat.config import ExtractConfig
from mediafeat.frames import DecodedFrame
from mediafeat.probe import MediaInfo, is_variable, open_container

log = logging.getLogger("mediafeat")
PROGRESS_EVERY_S = 1.0  # media seconds between progress calls
SPOOL = ".speech-16k.f32"  # removed before the folder is renamed into place
TRUNCATION_SLACK_S = 1.0  # decoded this much short of the declared duration: stopped early


@dataclass
class Decoded:
    tables: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    decoded_s: float = 0.0  # the last timestamp decoded (audio or video)
    frame_count: int = 0
    variable_frame_rate: bool = False
    stopped_early: bool = False
    spool: Path | None = None  # 16 kHz mono float32, when speech-to-text will need it

    def speech_audio(self) -> np.ndarray:
        return np.memmap(self.spool, dtype=np.float32, mode="r")


class _Router:
    """Sends frames to the extractors and keeps the few facts decoding reveals."""

    def __init__(self, info: MediaInfo, config: ExtractConfig, audio, visual, spool):
        import av

        self.origin = info.start_time_s  # time 0 of every table: the recording's first frame
        self.config, self.audio, self.visual, self.spool = config, audio, visual, spool
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=config.sample_rate)
        self.frame_times: list[float] = []
        self.last_s = 0.0
        self.missing_pts = 0

    def video(self, frame) -> None:
        if frame.time is None:  # no timestamp: a damaged stream; never invent one
            self.missing_pts += 1
            return
        t = float(frame.time) - self.origin
        self.frame_times.append(t)
        self.last_s = max(self.last_s, t)
        if self.visual is not None:
            size, width = self.config.analysis_size, self.config.motion_width
            self.visual.push(DecodedFrame(frame, t, size, width))

    def audio_frame(self, frame) -> None:
        for out in self.resampler.resample(frame):
            self._samples(out)

    def flush_audio(self) -> None:
        for out in self.resampler.resample(None):
            self._samples(out)

    def _samples(self, out) -> None:
        if out.time is None:
            self.missing_pts += 1
            return
        samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        start = float(out.time) - self.origin
        self.last_s = max(self.last_s, start + len(samples) / self.config.sample_rate)
        if self.audio is not None:
            self.audio.push(samples, start)
        if self.spool is not None:
            self.spool.write(samples.tobytes())


def _extractors(info: MediaInfo, config: ExtractConfig, decoded: Decoded):
    audio = visual = None
    if config.audio and info.has_audio:
        from mediafeat.audio import AudioExtractor

        audio = AudioExtractor(config, log)
    elif config.audio:
        decoded.skipped[AUDIO] = "no audio stream"
        log.info("%s: no audio stream; no audio features", info.path)
    if config.visual and info.has_video:
        from mediafeat.visual import VisualExtractor

        visual = VisualExtractor(config, log)
    elif config.visual:
        decoded.skipped[VISUAL] = "no video stream"
        log.info("%s: no video stream; no visual features", info.path)
    return audio, visual


def _needs_speech_audio(info: MediaInfo, config: ExtractConfig, transcript: Path | None) -> bool:
    return config.words and config.asr_model is not None and transcript is None and info.has_audio


def decode(video: Path, info: MediaInfo, config: ExtractConfig, work: Path, on_progress=None,
           transcript: Path | None = None) -> Decoded:  # fmt: skip
    decoded = Decoded()
    audio, visual = _extractors(info, config, decoded)
    spool = None
    if _needs_speech_audio(info, config, transcript):
        decoded.spool = work / SPOOL
        spool = decoded.spool.open("wb")
    try:
        with open_container(video) as container:
            router = _Router(info, config, audio, visual, spool)
            _demux(container, router, decoded, on_progress)
    finally:
        if spool is not None:
            spool.close()
    _finish(info, router, decoded, audio, visual)
    return decoded


def _streams(container, config: ExtractConfig):
    streams = []
    if container.streams.video and config.visual:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: decoding is most of the cost
        if config.decode_threads:
            stream.codec_context.thread_count = config.decode_threads
        streams.append(stream)
    if container.streams.audio and (config.audio or config.asr_model is not None):
        streams.append(container.streams.audio[0])
    return streams


def _demux(container, router: _Router, decoded: Decoded, on_progress) -> None:
    import av

    bad_packets, next_report = 0, PROGRESS_EVERY_S
    streams = _streams(container, router.config)
    if not streams:
        return
    try:
        for packet in container.demux(*streams):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                bad_packets += 1  # one damaged packet; the decoder resyncs on the next
                continue
            for frame in frames:
                if packet.stream.type == "video":
                    router.video(frame)
                else:
                    router.audio_frame(frame)
            if on_progress is not None and router.last_s >= next_report:
                on_progress(router.last_s)
                next_report = router.last_s + PROGRESS_EVERY_S
        router.flush_audio()
    except (av.error.FFmpegError, EOFError) as exc:
        decoded.stopped_early = True
        decoded.warnings.append(f"decoding stopped at {router.last_s:.2f} s: {exc}")
    if bad_packets:
        decoded.warnings.append(f"{bad_packets} damaged packets skipped")


def _finish(info: MediaInfo, router: _Router, decoded: Decoded, audio, visual) -> None:
    decoded.decoded_s = router.last_s
    decoded.frame_count = len(router.frame_times)
    times = np.sort(np.asarray(router.frame_times))
    decoded.variable_frame_rate = is_variable(np.diff(times), info.frame_rate)
    if router.missing_pts:
        decoded.warnings.append(f"{router.missing_pts} frames without a timestamp skipped")
    declared = info.duration_s
    if np.isfinite(declared) and router.last_s < declared - TRUNCATION_SLACK_S:
        decoded.stopped_early = True
        decoded.warnings.append(
            f"truncated: decoded {router.last_s:.2f} s of {declared:.2f} s; "
            "the rest has no features (masked as missing)"
        )
    for modality, extractor in ((AUDIO, audio), (VISUAL, visual)):
        if extractor is None:
            continue
        columns = extractor.finish()
        decoded.warnings += extractor.warnings
        if len(columns["time"]):
            decoded.tables[modality] = columns
        else:
            decoded.skipped[modality] = "nothing decoded"
