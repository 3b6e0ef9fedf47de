"""Voice activity: silero VAD v6 (ONNX, streamed), an energy fallback, and speech segments.

The silero model is the one faster-whisper ships in its wheel; it is found on disk without
importing faster_whisper (whose import loads ctranslate2). Its export takes a whole sequence of
512-sample windows, each with the 64 samples before it as context, in one call, and carries the
LSTM state (h, c) out, so it streams: each call continues where the previous one stopped.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
from pathlib import Path

import numpy as np

from mediafeat.errors import ModelFileError

SILERO_RATE = 16000
WINDOW = 512  # samples per probability (32 ms)
CONTEXT = 64  # samples of the previous window the model sees before each window
SPEECH_PAD_S = 0.1  # speech segments grow this much each side: onsets and tails are quiet
OFF_GAP = 0.15  # is_speaking switches off this far below the on threshold


def silero_path() -> Path | None:
    """faster-whisper's silero_vad_v6.onnx, or None when faster-whisper is not installed."""
    try:
        spec = importlib.util.find_spec("faster_whisper")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=4)
def _session(path: str):
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    # the product runs several worker processes: one thread each, or they fight for cores
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4
    try:
        session = onnxruntime.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelFileError(f"not an ONNX model: {exc}", source=path) from exc
    names = {i.name: i.shape for i in session.get_inputs()}
    if set(names) != {"input", "h", "c"} or names["input"][-1] != WINDOW + CONTEXT:
        raise ModelFileError(
            "not faster-whisper's silero VAD v6 export (inputs input[n, 576], h, c); "
            f"found {names}",
            source=path,
        )
    return session


class SileroVAD:
    """Streaming silero VAD at 16 kHz: push() samples, get one probability per 512 samples.

    Parameters
    ----------
    path : the ONNX file; raises ModelFileError if it is not silero v6 as faster-whisper ships it.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError("no such file", source=str(path))
        self._session = _session(str(self.path))
        self.reset()

    def reset(self) -> None:
        """Forget the past: a new stretch of audio (after a gap) starts from silence."""
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities (float32) of the whole 512-sample windows completed by these samples."""
        x = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        n = len(x) // WINDOW
        self._pending = x[n * WINDOW :]
        if n == 0:
            return np.zeros(0, np.float32)
        return self._run(x[: n * WINDOW])

    def flush(self) -> np.ndarray:
        """The probability of the last, partial window (zero-padded), if any; then reset()."""
        tail = self._pending
        probs = self._run(np.pad(tail, (0, WINDOW - len(tail)))) if len(tail) else tail
        self.reset()
        return probs

    def _run(self, x: np.ndarray) -> np.ndarray:
        # window i with the 64 samples before it: rows of 576 overlapping by 64
        ext = np.concatenate([self._context, x])
        batch = np.lib.stride_tricks.sliding_window_view(ext, WINDOW + CONTEXT)[::WINDOW]
        batch = np.ascontiguousarray(batch)
        self._context = x[-CONTEXT:].copy()
        probs, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        return np.asarray(probs, np.float32).reshape(-1)


def energy_prob(loudness_db: np.ndarray, band_share: np.ndarray) -> np.ndarray:
    """A crude voice probability from loudness above the recording's noise floor and the share
    of spectral energy in the speech band; for when silero is unavailable.

    The floor is the 10th percentile of the recording's loudness (most recordings pause now
    and then); the loudness part of the probability is 0.5 at 12 dB above it, or at -55 dBFS
    if that is higher, and rises over ~10 dB. Computed in finish() over the whole column.
    """
    if len(loudness_db) == 0:
        return np.zeros(0, np.float32)
    floor = float(np.percentile(loudness_db, 10))
    gate = max(floor + 12.0, -55.0)
    # syllables dip between each other: judge loudness over ~100 ms, not one 20 ms row
    smooth = np.convolve(np.pad(loudness_db, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    loud = 1.0 / (1.0 + np.exp(-(smooth - gate) / 2.0))
    voiced = np.clip((band_share - 0.3) / 0.4, 0.0, 1.0)
    return (loud * voiced).astype(np.float32)


def hysteresis(prob: np.ndarray, on: float, off: float) -> np.ndarray:
    """True from where prob reaches `on` until it falls below `off` (vectorised)."""
    state = np.where(prob >= on, 1, np.where(prob < off, 0, -1))
    state = np.concatenate([[0], state])  # before the first row: not speaking
    last = np.maximum.accumulate(np.where(state >= 0, np.arange(len(state)), 0))
    return state[last][1:].astype(bool)


def _runs(mask: np.ndarray) -> np.ndarray:
    """(k, 2) start, end (exclusive) row indices of the True runs."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)


def _clean(mask: np.ndarray, min_speech: int, min_silence: int, pad: int) -> np.ndarray:
    runs = _runs(mask)
    if len(runs) == 0:
        return mask
    keep = [runs[0].copy()]
    for start, end in runs[1:]:
        if start - keep[-1][1] < min_silence:  # a short pause inside speech
            keep[-1][1] = end
        else:
            keep.append(np.array([start, end]))
    out = np.zeros_like(mask)
    for start, end in keep:
        if end - start >= min_speech:
            out[max(0, start - pad) : end + pad] = True
    return out


def speech_mask(times: np.ndarray, prob: np.ndarray, hop_s: float, threshold: float,
                min_speech_s: float, min_silence_s: float) -> np.ndarray:  # fmt: skip
    """is_speaking (int8) per row: hysteresis on prob (on at threshold, off OFF_GAP below),
    pauses shorter than min_silence_s bridged, speech shorter than min_speech_s dropped, then
    SPEECH_PAD_S of padding each side. A gap in the rows' times (audio missing) ends a segment
    and nothing bridges or pads across it."""
    on, off = threshold, max(threshold - OFF_GAP, 0.01)
    rows = [round(s / hop_s) for s in (min_speech_s, min_silence_s, SPEECH_PAD_S)]
    breaks = np.flatnonzero(np.diff(times) > 1.5 * hop_s) + 1
    bounds = np.concatenate([[0], breaks, [len(times)]])
    out = np.zeros(len(times), np.int8)
    for a, b in itertools.pairwise(bounds):
        out[a:b] = _clean(hysteresis(prob[a:b], on, off), *rows)
    return out
