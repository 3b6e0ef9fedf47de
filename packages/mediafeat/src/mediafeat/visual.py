"""The visual feature table: rows at visual_rate_hz on the stream's own frame times, plus a row
for every scene cut.

Every decoded frame gives a grey thumbnail (motion, cut score); only sampled frames are
converted to RGB for the detectors. Columns of a detector that is switched off or cannot run on
this install are left OUT of the table (never written as zeros, which would claim "no text"):
`VisualExtractor.columns` lists what `finish()` returns, known once it is constructed.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from mediafeat.columns import CLIP_PREFIX, EMBEDDING_PREFIX, FLOW_COLUMNS, TIME, VISUAL_COLUMNS
from mediafeat.columns import group_columns as _group
from mediafeat.config import ExtractConfig
from mediafeat.detectors import (
    FaceDetector,
    TextReader,
    rapidocr_error,
    saliency,
    shared_text_reader,
)
from mediafeat.embedding import CLIP_BATCH, EMBEDDING_DIM, ClipEncoder, embed
from mediafeat.errors import ModelFileError
from mediafeat.framediff import CutDetector, MotionMeter, flow_magnitude
from mediafeat.frames import FrameView

TIME_EPS = 1e-6  # seconds: frame times are pts x time_base in float; no frame rate comes close
FACE_COLUMNS = ["face_count", "face_x", "face_y", "face_size"]
TEXT_COLUMNS = ["text_present", "text_area"]
# Haar costs 27-46 ms a run at settings that find faces 1/20 of the frame wide: run it at 2 Hz
# (and on every cut), holding its values between, for 11-18 ms per 5 Hz sample
FACE_RATE_HZ = 2.0
UNCHANGED_GREY = 0.5  # mean |grey difference| (0..255) below which a picture is the same one
INT_TYPES = {"face_count": np.int16, "text_present": np.int8, "scene_cut": np.int8}


class RateSchedule:
    """Times k / rate (k = 0, 1, ...): due for the first time at or after the next one."""

    def __init__(self, rate_hz: float):
        self.rate = rate_hz
        self._k = 0

    def due(self, time: float) -> bool:
        return time + TIME_EPS >= self._k / self.rate

    def mark(self, time: float) -> None:
        """A run at `time`: the next is the first k / rate after it (skipped ones stay skipped)."""
        self._k = max(self._k, math.floor((time + TIME_EPS) * self.rate) + 1)


class _Held:
    """Detectors that run at their own rate, their last values held on the rows between runs.
    A cut runs them at once: the values of the shot before it are wrong for the new one. A
    picture that has not changed since the last run (screen recordings, talking heads, a
    paused game) keeps its values without running them again: nothing there could differ."""

    def __init__(self):
        self._values: dict[str, dict] = {}
        self._seen: dict[str, np.ndarray] = {}  # the grey thumbnail each detector last saw

    def __call__(self, key: str, due: RateSchedule, detect, rgb: np.ndarray, grey: np.ndarray,
                 time: float, cut: bool) -> dict:  # fmt: skip
        if cut or key not in self._values or (due.due(time) and self._changed(key, grey)):
            self._values[key] = detect(rgb)
            self._seen[key] = grey
        if due.due(time):
            due.mark(time)
        return self._values[key]

    def _changed(self, key: str, grey: np.ndarray) -> bool:
        seen = self._seen[key]
        return seen.shape != grey.shape or cv2.absdiff(seen, grey).mean() >= UNCHANGED_GREY


class VisualExtractor:
    """push() every decoded frame in presentation order, then finish() for the table.

    A frame opens a row when it is the first at or after the next k / visual_rate_hz (times
    from the frames) or when it is a scene cut (scene_cut = 1 on that row). motion and
    motion_diff average the per-frame values since the previous row. Faces run at
    FACE_RATE_HZ, OCR at text_rate_hz and CLIP at clip_rate_hz, each also on every cut row,
    their values held on the rows between runs."""

    def __init__(self, config: ExtractConfig, log: logging.Logger | None = None):
        cv2.setNumThreads(1)  # process-wide: several extraction workers share the machine
        self.config = config
        self.log = log or logging.getLogger(__name__)
        self.warnings: list[str] = []
        self._motion = MotionMeter()
        self._cuts = CutDetector(config.scene_threshold, config.min_scene_s)
        self._samples = RateSchedule(config.visual_rate_hz)
        self._faces = self._make_faces() if config.faces else None
        self._text = self._make_text() if config.text else None
        self._held = _Held()
        self._face_due = RateSchedule(min(FACE_RATE_HZ, config.visual_rate_hz))
        self._text_due = RateSchedule(config.text_rate_hz)
        self._clip = ClipEncoder(config.clip_onnx) if config.clip_onnx is not None else None
        self._clip_due = RateSchedule(config.clip_rate_hz)
        self.columns = self._plan_columns()
        self._rows: dict[str, list] = {c: [] for c in self._scalar_columns()}
        self._emb: list[np.ndarray] = []
        self._clip_ref: list[int] = []  # per row: index of the CLIP run it holds
        self._clip_pending: list[np.ndarray] = []
        self._clip_done: list[np.ndarray] = []
        self._since_row: list[tuple[float, float]] = []  # per-frame motion since the last row
        self._prev: tuple[float, np.ndarray] | None = None
        self._last_row_time = -math.inf

    # --- set-up ---------------------------------------------------------------------------

    def _skip(self, what: str, why: str) -> None:
        message = f"visual: {what} left out: {why}"
        self.log.warning(message)
        self.warnings.append(message)

    def _make_faces(self) -> FaceDetector | None:
        try:
            return FaceDetector()
        except ModelFileError as exc:  # an OpenCV without its cascades (5.x wheels)
            self._skip("face columns", str(exc))
            return None

    def _make_text(self) -> TextReader | None:
        why = rapidocr_error()
        if why is None:
            try:
                return shared_text_reader()
            except Exception as exc:  # a broken install fails in the warm-up run
                why = f"rapidocr failed to start ({type(exc).__name__}: {exc})"
        self._skip("text_present/text_area", f"{why}; install xmlai-mediafeat[ocr] for them")
        return None

    def _scalar_columns(self) -> list[str]:
        absent = set()
        if self._faces is None:
            absent.update(FACE_COLUMNS)
        if self._text is None:
            absent.update(TEXT_COLUMNS)
        flow = FLOW_COLUMNS if self.config.optical_flow else []
        return [TIME] + [c for c in VISUAL_COLUMNS if c not in absent] + flow

    def _plan_columns(self) -> list[str]:
        cols = self._scalar_columns()
        if self.config.embedding:
            cols += _group(EMBEDDING_PREFIX, EMBEDDING_DIM)
        if self._clip is not None:
            cols += _group(CLIP_PREFIX, self._clip.dim)
        return cols

    # --- per frame ------------------------------------------------------------------------

    def push(self, frame: FrameView) -> None:
        time = float(frame.time)
        grey = frame.grey()
        moved = self._motion.update(grey)
        if moved is not None:
            self._since_row.append(moved)
        cut = self._cuts.update(time, grey)
        # a row's time must move on: a repeated timestamp never opens a second row
        if time > self._last_row_time and (cut or self._samples.due(time)):
            self._sample(frame, time, grey, cut)
        self._prev = (time, grey)

    def _sample(self, frame: FrameView, time: float, grey: np.ndarray, cut: bool) -> None:
        self._samples.mark(time)
        self._last_row_time = time
        rgb = frame.rgb()
        row = {TIME: time, "brightness": float(grey.mean()) / 255, "scene_cut": int(cut)}
        row.update(self._motion_since_row())
        row.update(saliency(rgb))
        if self._faces is not None:
            row.update(self._held("faces", self._face_due, self._faces, rgb, grey, time, cut))
        if self._text is not None:
            row.update(self._held("text", self._text_due, self._text, rgb, grey, time, cut))
        if self.config.optical_flow:
            row["flow_mag"] = self._flow(time, grey)
        for name, values in self._rows.items():
            values.append(row[name])
        if self.config.embedding:
            self._emb.append(embed(rgb))
        if self._clip is not None:
            self._queue_clip(rgb, time, cut)

    def _motion_since_row(self) -> dict[str, float]:
        # the first row has no frame before it: no change seen, 0
        frames, self._since_row = self._since_row, []
        if not frames:
            return {"motion": 0.0, "motion_diff": 0.0}
        motion, diff = np.mean(frames, axis=0)
        return {"motion": float(motion), "motion_diff": float(diff)}

    def _flow(self, time: float, grey: np.ndarray) -> float:
        if self._prev is None:
            return 0.0
        prev_time, prev_grey = self._prev
        return flow_magnitude(prev_grey, grey, time - prev_time)

    def _queue_clip(self, rgb: np.ndarray, time: float, cut: bool) -> None:
        if cut or self._clip_due.due(time) or not self._clip_ref:
            self._clip_due.mark(time)
            self._clip_pending.append(self._clip.preprocess(rgb))
            if len(self._clip_pending) >= CLIP_BATCH:
                self._flush_clip()
        self._clip_ref.append(len(self._clip_done) + len(self._clip_pending) - 1)

    def _flush_clip(self) -> None:
        if self._clip_pending:
            self._clip_done.extend(self._clip.encode_preprocessed(np.stack(self._clip_pending)))
            self._clip_pending = []

    # --- the table ------------------------------------------------------------------------

    def finish(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, values in self._rows.items():
            dtype = np.float64 if name == TIME else INT_TYPES.get(name, np.float32)
            out[name] = np.asarray(values, dtype=dtype)
        n = len(out[TIME])
        if self.config.embedding:
            out.update(_spread(EMBEDDING_PREFIX, self._emb, n, EMBEDDING_DIM))
        if self._clip is not None:
            self._flush_clip()
            held = [self._clip_done[i] for i in self._clip_ref]
            out.update(_spread(CLIP_PREFIX, held, n, self._clip.dim))
        return out


def _spread(prefix: str, rows: list[np.ndarray], n: int, width: int) -> dict[str, np.ndarray]:
    matrix = np.asarray(rows, np.float32).reshape(n, width)
    names = _group(prefix, width)
    return {name: np.ascontiguousarray(matrix[:, i]) for i, name in enumerate(names)}
