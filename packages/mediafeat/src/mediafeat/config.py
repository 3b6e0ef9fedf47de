"""Every extraction setting in one plain dataclass (the CLI and the umbrella fill it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

MAX_RATE_HZ = 1000.0  # a row every millisecond; far above, one recording's rows outgrow memory
MAX_SAMPLE_RATE = 384_000  # the highest rate audio interfaces record at


@dataclass
class ExtractConfig:
    # which modalities to write (a modality whose extra is missing is skipped with a log line)
    audio: bool = True
    visual: bool = True
    words: bool = True  # only when a transcript or an ASR model is given

    decode_threads: int = 0  # video decoder threads; 0: FFmpeg's choice (one per core)

    # audio: decoded to mono float32 at `sample_rate`, one row every 1 / audio_rate_hz seconds
    sample_rate: int = 16000
    audio_rate_hz: float = 50.0
    vad_threshold: float = 0.5  # is_speaking: on at this voice probability, off 0.15 below it
    min_speech_s: float = 0.25  # shorter speech bursts are dropped
    min_silence_s: float = 0.3  # shorter pauses inside speech are bridged

    # visual: rows at visual_rate_hz on the stream's own frame times, plus every scene cut
    visual_rate_hz: float = 5.0
    analysis_size: int = 640  # longest side of the RGB image the detectors see
    motion_width: int = 160  # width of the grey thumbnail taken from every decoded frame
    optical_flow: bool = False  # Farneback flow magnitude between samples (flow_* columns)
    faces: bool = True
    text: bool = True
    text_rate_hz: float = 1.0  # OCR is the slowest detector; values hold until the next run
    scene_threshold: float = 27.0  # PySceneDetect's content threshold on the HSV-like score
    min_scene_s: float = 0.5  # no second cut this soon after one
    embedding: bool = True  # the built-in image embedding (emb_*)
    clip_onnx: Path | None = None  # an exported CLIP image encoder (clip_*)
    clip_rate_hz: float = 1.0

    # words: a transcript the user has, or a local faster-whisper model folder
    transcript: Path | None = None
    asr_model: Path | None = None
    language: str | None = None
    words_rate_hz: float = 50.0

    def __post_init__(self) -> None:
        for name in ("audio_rate_hz", "visual_rate_hz", "text_rate_hz", "clip_rate_hz",
                     "words_rate_hz", "sample_rate", "analysis_size", "motion_width"):  # fmt: skip
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, not {getattr(self, name)!r}")
        for name in ("audio_rate_hz", "visual_rate_hz", "text_rate_hz", "clip_rate_hz",
                     "words_rate_hz"):  # fmt: skip
            if not getattr(self, name) <= MAX_RATE_HZ:  # NaN and inf too
                raise ValueError(f"{name} must be at most {MAX_RATE_HZ:g} rows a second, "
                                 f"not {getattr(self, name)!r}")  # fmt: skip
        if not self.sample_rate <= MAX_SAMPLE_RATE:
            raise ValueError(
                f"sample_rate must be at most {MAX_SAMPLE_RATE}, not {self.sample_rate!r}"
            )
        for name in ("clip_onnx", "transcript", "asr_model"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
