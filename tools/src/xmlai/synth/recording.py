"""One synthetic recording: hidden events at frame resolution, and the feature files a
feature extractor would have written for it.

The hidden events are what "really happened" (speech, action, a face on the webcam, text on
screen, scene changes, dead air). The editor never sees them directly: the style rules read
the features, so everything the edit depends on is visible to a model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from trackcore.atomic import atomic_path

QUANTUM = 1.0 / 1024  # rule inputs are multiples of this: exact in float32, CSV and Parquet
WEBCAM_CENTRE = {False: 0.27, True: 0.73}  # face_x for left/right, face_y for top/bottom


@dataclass
class Gap:
    """Rows of one feature file removed over [start_s, end_s): the extractor was down."""

    modality: str
    start_s: float
    end_s: float


@dataclass
class RecordingPlan:
    """The per-recording choices that are not events: rates, formats, what is missing."""

    name: str
    fps: Fraction
    audio_rate: float | None  # None: no audio features at all
    visual_rate: float | None  # None: no visual features at all
    audio_format: str  # "csv" | "parquet"
    clip_dtype: str  # "float16" | "float32"
    webcam: tuple[bool, bool] | None  # (right, bottom) corner of the webcam in the source
    has_text: bool
    gaps: list[Gap] = field(default_factory=list)
    dissolve_fraction: float = 0.0


@dataclass
class HiddenEvents:
    """Frame-resolution truth of the source recording (all arrays (n_frames,))."""

    fps: Fraction
    dead_air: np.ndarray  # bool: no speech, low audio
    speech: np.ndarray  # bool
    action: np.ndarray  # bool: action burst (high motion)
    loud: np.ndarray  # bool: loud audio peak (~1 s)
    face: np.ndarray  # bool: a face is visible on the webcam
    guest: np.ndarray  # bool: a second face
    text: np.ndarray  # bool: on-screen text
    scene: np.ndarray  # int: scene index (CLIP prototype)
    background: np.ndarray  # float: game/music audio level

    @property
    def n_frames(self) -> int:
        return len(self.speech)

    def counts(self) -> dict[str, int]:
        """Number of events (rising edges) per kind."""

        def rises(x):
            return int(x[0]) + int(np.count_nonzero(x[1:] & ~x[:-1]))

        out = {
            k: rises(getattr(self, k))
            for k in ("dead_air", "speech", "action", "loud", "face", "text")
        }
        out["scene_changes"] = int(np.count_nonzero(np.diff(self.scene)))
        return out


@dataclass
class FeatureFile:
    """One modality's table: a time column in seconds and named columns, in file order."""

    modality: str
    times: np.ndarray  # (m,) float64 seconds, strictly increasing
    columns: dict[str, np.ndarray]  # name -> (m,) values
    embedding: np.ndarray | None = None  # (m, D) clip_0..clip_{D-1}, written after columns
    time_column: str = "time"
    embedding_prefix: str = "clip_"

    @property
    def rate(self) -> float:
        return float(1.0 / np.median(np.diff(self.times)))

    def select(self, keep: np.ndarray) -> FeatureFile:
        return FeatureFile(
            self.modality,
            self.times[keep],
            {k: v[keep] for k, v in self.columns.items()},
            None if self.embedding is None else self.embedding[keep],
            self.time_column,
            self.embedding_prefix,
        )

    def column_names(self) -> list[str]:
        names = [self.time_column, *self.columns]
        if self.embedding is not None:
            names += [f"{self.embedding_prefix}{k}" for k in range(self.embedding.shape[1])]
        return names


def _renewal(
    rng,
    n: int,
    fps: float,
    on_s: tuple[float, float],
    off_s: tuple[float, float],
    p_on: float = 0.5,
) -> np.ndarray:
    """An on/off process; each segment lasts min + Exp(mean - min) seconds.
    on_s / off_s = (minimum, mean)."""
    out = np.zeros(n, dtype=bool)
    pos, on = 0, bool(rng.random() < p_on)
    while pos < n:
        lo, mean = on_s if on else off_s
        k = max(1, round((lo + rng.exponential(max(mean - lo, 1e-3))) * fps))
        if pos == 0:  # the recording starts somewhere inside the first segment
            k = max(1, round(k * rng.random()))
        if on:
            out[pos : pos + k] = True
        pos += k
        on = not on
    return out


def hidden_events(rng: np.random.Generator, n_frames: int, plan: RecordingPlan) -> HiddenEvents:
    fps = float(plan.fps)
    dead = _renewal(rng, n_frames, fps, (1.8, 2.6), (3.0, rng.uniform(6.0, 16.0)), p_on=0.15)
    talk = _renewal(rng, n_frames, fps, (0.8, rng.uniform(2.0, 4.0)), (0.4, rng.uniform(0.8, 1.6)))
    action = _renewal(rng, n_frames, fps, (1.0, 2.5), (1.5, rng.uniform(4.0, 10.0)), p_on=0.2)
    loud = _renewal(rng, n_frames, fps, (0.8, 1.1), (1.5, rng.uniform(6.0, 14.0)), p_on=0.1)
    if plan.webcam is not None:
        face = _renewal(
            rng, n_frames, fps, (2.0, rng.uniform(6.0, 14.0)), (1.0, rng.uniform(1.5, 4.0)), 0.8
        )
    else:
        face = np.zeros(n_frames, dtype=bool)
    guest = face & _renewal(rng, n_frames, fps, (1.0, 4.0), (5.0, 20.0), p_on=0.1)
    if rng.random() >= 0.2:
        guest[:] = False  # most streams are solo
    if plan.has_text:
        text = _renewal(rng, n_frames, fps, (1.5, 2.5), (3.0, rng.uniform(6.0, 14.0)), p_on=0.2)
    else:
        text = np.zeros(n_frames, dtype=bool)
    scene_change = _renewal(rng, n_frames, fps, (2.0, 8.0), (2.0, 8.0))
    scene = np.cumsum(np.diff(scene_change.astype(np.int8), prepend=scene_change[0]) != 0)
    background = np.full(n_frames, rng.uniform(0.13, 0.22))
    background[dead] = 0.03
    # Dead air means the streamer is idle: nobody talks, nothing happens, nothing is loud.
    return HiddenEvents(
        fps=plan.fps,
        dead_air=dead,
        speech=talk & ~dead,
        action=action & ~dead,
        loud=loud & ~dead,
        face=face,
        guest=guest,
        text=text,
        scene=scene.astype(np.int32),
        background=background,
    )


def _sample_times(n_frames: int, fps: Fraction, rate: float) -> np.ndarray:
    """k / rate for k = 0.. up to the first sample at or after the last frame."""
    last = (n_frames - 1) * float(fps.denominator / fps.numerator)
    count = int(np.floor(last * rate + 1e-9)) + 2
    return np.arange(count, dtype=np.float64) / rate


def _frame_of(times: np.ndarray, hidden: HiddenEvents) -> np.ndarray:
    return np.minimum((times * float(hidden.fps) + 1e-9).astype(np.int64), hidden.n_frames - 1)


def _quantise(x: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    return (np.round(np.clip(x, lo, hi) / QUANTUM) * QUANTUM).astype(np.float32)


def audio_features(rng: np.random.Generator, hidden: HiddenEvents, rate: float) -> FeatureFile:
    """rms, is_speaking, pitch, onset at `rate` Hz.

    rms levels keep the rule thresholds clear: dead air < 0.08 (threshold 0.1), other
    non-loud audio in [0.11, 0.5], loud peaks >= 0.72 (threshold 0.6)."""
    t = _sample_times(hidden.n_frames, hidden.fps, rate)
    h = _frame_of(t, hidden)
    m = len(t)
    speaking = hidden.speech[h].copy()
    speaking ^= rng.random(m) < 0.004  # a voice detector is not perfect
    dead, loud = hidden.dead_air[h], hidden.loud[h]
    level = hidden.background[h] + 0.3 * hidden.speech[h] + rng.normal(0.0, 0.02, m)
    rms = np.clip(level, 0.11, 0.5)
    rms = np.where(dead, np.clip(0.03 + np.abs(rng.normal(0.0, 0.015, m)), 0.0, 0.08), rms)
    rms = np.where(loud, np.clip(0.8 + rng.normal(0.0, 0.05, m), 0.72, 1.0), rms)
    base_pitch = rng.uniform(100.0, 220.0)
    pitch = np.where(speaking, base_pitch * (1 + 0.08 * rng.standard_normal(m)), 0.0)
    onset = 0.05 + 0.05 * np.abs(rng.standard_normal(m))
    rise = np.diff(loud.astype(np.int8), prepend=0) > 0
    onset = np.where(rise, rng.uniform(0.8, 1.0, m), onset)
    return FeatureFile(
        "audio",
        t,
        {
            "rms": _quantise(rms),
            "is_speaking": speaking.astype(np.int8),
            "pitch": pitch.astype(np.float32),
            "onset": _quantise(onset),
        },
    )


def scene_prototypes(rng: np.random.Generator, hidden: HiddenEvents, kinds: np.ndarray):
    """One unit vector per scene: a shared scene kind (gameplay, menu, ...) plus a twist, so
    CLIP means something across recordings."""
    n_scenes = int(hidden.scene.max()) + 1
    which = rng.integers(0, len(kinds), n_scenes)
    protos = kinds[which] + 0.5 * rng.standard_normal((n_scenes, kinds.shape[1])) / np.sqrt(
        kinds.shape[1]
    )
    return protos / np.linalg.norm(protos, axis=1, keepdims=True)


def visual_features(
    rng: np.random.Generator,
    hidden: HiddenEvents,
    rate: float,
    webcam: tuple[bool, bool] | None,
    prototypes: np.ndarray,
    clip_dtype: str,
) -> FeatureFile:
    """motion, saliency, face_count, face_x, face_y, text_present, clip_* at `rate` Hz.

    motion: action bursts in [0.65, 1], otherwise [0, 0.35] (rule threshold 0.5).
    face_x/face_y: centre of the webcam region in the source (0..1, +y down), reported on
    every row, 0.5 when the recording has no webcam."""
    t = _sample_times(hidden.n_frames, hidden.fps, rate)
    h = _frame_of(t, hidden)
    m = len(t)
    action = hidden.action[h]
    motion = np.where(
        action,
        np.clip(0.8 + rng.normal(0.0, 0.05, m), 0.65, 1.0),
        np.clip(0.15 + rng.normal(0.0, 0.05, m), 0.0, 0.35),
    )
    face, text = hidden.face[h], hidden.text[h]
    saliency = 0.25 + 0.35 * action + 0.2 * text + 0.1 * face + rng.normal(0.0, 0.05, m)
    if webcam is None:
        face_x = face_y = np.full(m, 0.5)
    else:
        face_x = WEBCAM_CENTRE[webcam[0]] + rng.normal(0.0, 0.01, m)
        face_y = WEBCAM_CENTRE[webcam[1]] + rng.normal(0.0, 0.01, m)
    d = prototypes.shape[1]
    noise = rng.standard_normal((m, d)) * (0.0214)  # cos to the prototype ~0.9
    clip = prototypes[hidden.scene[h]] + noise
    clip /= np.linalg.norm(clip, axis=1, keepdims=True)
    return FeatureFile(
        "visual",
        t,
        {
            "motion": _quantise(motion),
            "saliency": _quantise(saliency),
            "face_count": (face.astype(np.int8) + hidden.guest[h]).astype(np.int8),
            "face_x": _quantise(face_x),
            "face_y": _quantise(face_y),
            "text_present": text.astype(np.int8),
        },
        clip.astype(clip_dtype),
    )


def distractors(rng: np.random.Generator, table: FeatureFile, count: int) -> FeatureFile:
    """`count` slow random columns no rule reads (extra_0, ...), as extractors write many."""
    m = len(table.times)
    extra = {}
    for k in range(count):
        steps = rng.normal(0.0, 0.05, m)
        extra[f"extra_{k}"] = _quantise(0.5 + 0.3 * np.tanh(np.cumsum(steps) / 3.0))
    return dataclasses.replace(table, columns={**table.columns, **extra})


def drop_range(table: FeatureFile, start_s: float, end_s: float) -> FeatureFile:
    return table.select(~((table.times >= start_s) & (table.times < end_s)))


def truncate(table: FeatureFile, n_frames: int, fps: Fraction) -> FeatureFile:
    """Keep the samples needed for frames 0..n_frames-1 (up to the first at or after the
    last frame), so every lookup in that range is unchanged."""
    last = (n_frames - 1) * float(fps.denominator / fps.numerator)
    stop = int(np.searchsorted(table.times, last - 1e-6, side="left")) + 1
    return table.select(np.arange(len(table.times)) < stop)


def write_feature_file(table: FeatureFile, path: Path, fmt: str) -> None:
    """CSV (shortest round-trip floats) or Parquet, written to a temp file then renamed."""
    import pyarrow as pa

    arrays = [pa.array(table.times)] + [pa.array(v) for v in table.columns.values()]
    if table.embedding is not None:
        emb = np.asfortranarray(table.embedding)  # column slices without copies
        arrays += [pa.array(emb[:, k]) for k in range(emb.shape[1])]
    data = pa.Table.from_arrays(arrays, names=table.column_names())
    with atomic_path(path) as tmp:
        if fmt == "csv":
            import pyarrow.csv as pcsv

            pcsv.write_csv(data, tmp, pcsv.WriteOptions(quoting_style="none"))
        else:
            import pyarrow.parquet as pq

            pq.write_table(
                data,
                tmp,
                compression="zstd",
                use_dictionary=False,
                write_statistics=False,
                row_group_size=8192,
            )  # fmt: skip  a long recording reads in parts
