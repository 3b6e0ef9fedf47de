"""Audio features, streamed: one row per hop (1 / audio_rate_hz s) of mono float audio.

Columns (beside `time`, the centre of the row's hop on the recording clock, in seconds):

- rms: root mean square over a two-hop window centred on the row, linear, 0..1
- loudness_db: the rms in dBFS (20 log10), floored at -100
- peak: the largest |sample| in the row's hop, 0..1 (auto-editor's loudness measure)
- onset: spectral flux. The 32 ms Hann spectrum in dB relative to a full-scale sine, clipped
  to -80..0 dB; the mean over bins of its increase since the previous row, divided by 80.
  0 = nothing new, 1 = every bin jumped from silence to full scale; a hand clap after silence
  is ~0.3-0.5, speech onsets ~0.05-0.2, steady noise a few hundredths.
- pitch_hz: fundamental frequency by YIN over a 64 ms window, 60-500 Hz; 0 where unvoiced
  or quieter than -60 dBFS
- vad_prob: voice probability 0..1 (silero VAD, or the energy fallback: see vad.py)
- is_speaking: 0/1 speech segments from vad_prob (vad.speech_mask)

Every window is centred on its row; a stretch of audio is zero-padded at its edges, and a
trailing part shorter than one hop gets no row.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mediafeat.columns import AUDIO_COLUMNS, TIME
from mediafeat.config import ExtractConfig
from mediafeat.vad import SILERO_RATE, WINDOW, SileroVAD, energy_prob, silero_path, speech_mask

FMIN, FMAX = 60.0, 500.0
YIN_THRESHOLD = 0.3  # normalised difference below this = periodic (0.1-0.15 rejects real voices)
SILENT_RMS = 1e-3  # -60 dBFS: too quiet to call voiced
FLOOR_DB = -80.0  # spectral floor for the onset measure
BATCH_S = 1.0  # pushes are gathered to this much audio: numpy and onnx calls have overheads
_FEATURES = ["rms", "loudness_db", "peak", "onset", "pitch_hz"]


def _even(x: float) -> int:
    return int(x) + int(x) % 2


class _Layout:
    """Window sizes in samples. A row's frame spans [k*hop, k*hop + n) of the stretch padded
    with `pad` zeros in front, so its centre is the centre of hop k."""

    def __init__(self, sample_rate: int, rate_hz: float):
        self.sr = sample_rate
        self.hop = max(1, round(sample_rate / rate_hz))
        self.tau_min = max(2, int(sample_rate / FMAX))
        self.tau_max = int(np.ceil(sample_rate / FMIN))
        self.n = _even(max(0.064 * sample_rate, 2 * self.hop + 2, self.tau_max + 64))
        self.spec = _even(0.032 * sample_rate)
        self.pad = self.n // 2 - self.hop // 2
        self.window = np.hanning(self.spec).astype(np.float32)
        self.full_scale = float(self.window.sum() / 2)  # |X| of a full-scale sine's bin


def frame_features(frames: np.ndarray, lay: _Layout, prev_db: np.ndarray | None):
    """Columns of the rows whose frames are given (m, lay.n), and the last row's dB spectrum
    (for the next batch's onset). Also `band_share`, the share of spectral energy in 80-4000 Hz,
    which the energy voice detector uses."""
    mid = lay.n // 2
    rms = np.sqrt(np.mean(np.square(frames[:, mid - lay.hop : mid + lay.hop]), axis=1))
    peak = np.max(np.abs(frames[:, lay.pad : lay.pad + lay.hop]), axis=1)
    spec = frames[:, mid - lay.spec // 2 : mid + lay.spec // 2] * lay.window
    mag = np.abs(np.fft.rfft(spec, axis=1)) / lay.full_scale
    db = np.clip(20 * np.log10(np.maximum(mag, 1e-10)), FLOOR_DB, 0.0)
    before = np.concatenate([db[:1] if prev_db is None else prev_db[None], db[:-1]])
    onset = np.mean(np.maximum(db - before, 0.0), axis=1) / -FLOOR_DB
    freqs = np.fft.rfftfreq(lay.spec, 1 / lay.sr)
    power = np.square(mag)
    band = power[:, (freqs >= 80) & (freqs <= 4000)].sum(axis=1)
    cols = {
        "rms": rms,
        "loudness_db": np.maximum(20 * np.log10(np.maximum(rms, 1e-10)), -100.0),
        "peak": peak,
        "onset": onset,
        "pitch_hz": yin(frames, lay, rms),
        "band_share": band / np.maximum(power.sum(axis=1), 1e-20),
    }
    return {k: v.astype(np.float32) for k, v in cols.items()}, db[-1]


def yin(frames: np.ndarray, lay: _Layout, rms: np.ndarray) -> np.ndarray:
    """YIN f0 (Hz) per frame; 0 where no dip of the normalised difference is below
    YIN_THRESHOLD in FMIN..FMAX, or the row is silent. One FFT correlation per batch."""
    w = lay.n - lay.tau_max - 1  # integration window; taus up to tau_max + 1 fit in the frame
    nfft = 1 << int(np.ceil(np.log2(lay.n + w)))
    taus = lay.tau_max + 2
    corr = np.fft.irfft(np.fft.rfft(frames, nfft) * np.conj(np.fft.rfft(frames[:, :w], nfft)))
    energy = np.concatenate([np.zeros((len(frames), 1), frames.dtype),
                             np.cumsum(np.square(frames), axis=1)], axis=1)  # fmt: skip
    shifted = energy[:, w : w + taus] - energy[:, :taus]
    diff = np.maximum(energy[:, w : w + 1] + shifted - 2 * corr[:, :taus], 0.0)
    tau = np.arange(taus)
    cmnd = diff * tau / np.maximum(np.cumsum(diff, axis=1), 1e-12)
    cmnd[:, 0] = 1.0
    mid = cmnd[:, 1:-1]
    trough = (mid < cmnd[:, :-2]) & (mid <= cmnd[:, 2:]) & (mid < YIN_THRESHOLD)
    trough[:, : lay.tau_min - 1] = False
    voiced = trough.any(axis=1) & (rms > SILENT_RMS)
    best = np.argmax(trough, axis=1) + 1
    rows = np.arange(len(frames))
    a, b, c = (cmnd[rows, best + d] for d in (-1, 0, 1))
    shift = np.clip(0.5 * (a - c) / np.maximum(a - 2 * b + c, 1e-12), -1.0, 1.0)
    return np.where(voiced, lay.sr / (best + shift), 0.0)


class AudioExtractor:
    """Streaming audio features: push() mono float32 chunks in [-1, 1] at `sample_rate`, in
    order; finish() returns the table's columns. Holds a tail of under two seconds of audio and
    the output rows, whatever the recording's length.

    Parameters
    ----------
    config : sample_rate, audio_rate_hz and the is_speaking settings are read.
    log : where the one line about a missing silero model goes.
    vad_model : a silero VAD v6 ONNX file (faster-whisper's export) instead of the installed one;
        a file that is missing or is not that model raises ModelFileError.
    """

    def __init__(self, config: ExtractConfig, log: logging.Logger | None = None,
                 vad_model: Path | str | None = None):  # fmt: skip
        self.config = config
        self.log = log or logging.getLogger(__name__)
        self.sample_rate = int(config.sample_rate)
        self.warnings: list[str] = []
        self._lay = _Layout(self.sample_rate, config.audio_rate_hz)
        self._vad = self._load_vad(vad_model)
        self.vad_backend = "silero" if self._vad is not None else "energy"
        self._rows: dict[str, list[np.ndarray]] = {
            k: [] for k in [TIME, *_FEATURES, "band_share", "seg"]
        }
        self._vad_rows: dict[str, list[np.ndarray]] = {TIME: [], "prob": [], "seg": []}
        self._seg = -1  # index of the current stretch of contiguous audio; -1 before any
        self._started = self._finished = self._overlapped = False
        self._pending: list[np.ndarray] = []

    def _load_vad(self, path: Path | str | None) -> SileroVAD | None:
        if path is not None:
            return SileroVAD(path)  # the user asked for this file: a bad one is an error
        if self.sample_rate != SILERO_RATE:
            return self._fallback(
                f"silero VAD needs {SILERO_RATE} Hz audio, not {self.sample_rate}"
            )
        found = silero_path()
        if found is None:
            return self._fallback(
                "faster-whisper (which ships the silero VAD model) is not installed"
            )
        try:
            return SileroVAD(found)
        except Exception as exc:  # a broken install must not stop the other features
            return self._fallback(f"silero VAD could not be loaded ({exc})")

    def _fallback(self, why: str) -> None:
        message = f"{why}: vad_prob and is_speaking come from the energy voice detector"
        self.log.warning(message)
        self.warnings.append(message)
        return None

    def push(self, samples: np.ndarray, start_s: float) -> None:
        """Add a chunk; start_s is the recording-clock time of samples[0]. A start more than one
        hop after the previous chunk's end is a gap (no rows inside it; the stretch after starts
        afresh); less than a hop either way is jitter; audio that goes back more than a hop over
        what was already pushed is dropped (with a warning)."""
        if self._finished:
            raise RuntimeError("push() after finish()")
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"push() takes mono samples of shape (n,), not {x.shape}")
        if len(x) == 0:
            return
        hop_s = self._lay.hop / self.sample_rate
        if self._started:
            late = start_s - (self._t0 + self._n / self.sample_rate)
            if late > hop_s:
                self._process(final=True)
                self._started = False
            elif late < -hop_s:
                x = x[round(-late * self.sample_rate) :]
                self._warn_overlap(start_s, -late)
        if not self._started:
            self._start(start_s)
        batch = round(BATCH_S * self.sample_rate)
        for i in range(0, len(x), batch):  # a huge chunk is worked through a batch at a time
            self._pending.append(x[i : i + batch])
            self._n += len(self._pending[-1])
            self._n_pending += len(self._pending[-1])
            if self._n_pending >= batch:
                self._process(final=False)

    def _warn_overlap(self, at_s: float, back_s: float) -> None:
        if not self._overlapped:  # once: a stream that does it once tends to do it often
            message = (f"audio timestamps went back {back_s:.3f} s at {at_s:.3f} s: "
                       "overlapping samples dropped (reported once)")  # fmt: skip
            self.log.warning(message)
            self.warnings.append(message)
        self._overlapped = True

    def _start(self, start_s: float) -> None:
        self._started, self._seg = True, self._seg + 1
        self._t0, self._n, self._n_pending = float(start_s), 0, 0
        self._buf = np.zeros(self._lay.pad, np.float32)  # frames centred on the first hops
        self._next_row, self._prev_db = 0, None
        self._vad_done = 0  # silero windows of this stretch

    def _process(self, final: bool) -> None:
        x = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
        self._pending, self._n_pending = [], 0
        if self._vad is not None:
            probs = self._vad.push(x)
            if final:
                probs = np.concatenate([probs, self._vad.flush()])
            self._add_vad(probs)
        tail = [np.zeros(self._lay.n, np.float32)] if final else []
        self._buf = np.concatenate([self._buf, x, *tail])
        self._add_rows()

    def _add_vad(self, probs: np.ndarray) -> None:
        centres = (self._vad_done + np.arange(len(probs)) + 0.5) * WINDOW / self.sample_rate
        self._vad_done += len(probs)
        self._vad_rows[TIME].append(self._t0 + centres)
        self._vad_rows["prob"].append(probs)
        self._vad_rows["seg"].append(np.full(len(probs), self._seg, np.int32))

    def _add_rows(self) -> None:
        lay = self._lay
        m = min((len(self._buf) - lay.n) // lay.hop + 1, self._n // lay.hop - self._next_row)
        if m <= 0:
            return
        frames = sliding_window_view(self._buf, lay.n)[:: lay.hop][:m]
        cols, self._prev_db = frame_features(frames, lay, self._prev_db)
        k = self._next_row + np.arange(m)
        cols[TIME] = self._t0 + (k * lay.hop + lay.hop / 2) / self.sample_rate
        cols["seg"] = np.full(m, self._seg, np.int32)
        for name, values in cols.items():
            self._rows[name].append(values)
        self._buf = self._buf[m * lay.hop :].copy()  # the tail only: memory stays flat
        self._next_row += m

    def finish(self) -> dict[str, np.ndarray]:
        """{"time": float64 (m,), then AUDIO_COLUMNS: float32 (m,), is_speaking int8}."""
        if self._started and not self._finished:
            self._process(final=True)
        self._finished = True
        rows = {k: np.concatenate(v) if v else np.zeros(0) for k, v in self._rows.items()}
        out = {TIME: rows[TIME].astype(np.float64)}
        out.update({k: rows[k].astype(np.float32) for k in _FEATURES})
        out["vad_prob"] = self._vad_prob(rows)
        cfg, hop_s = self.config, self._lay.hop / self.sample_rate
        out["is_speaking"] = speech_mask(out[TIME], out["vad_prob"], hop_s, cfg.vad_threshold,
                                         cfg.min_speech_s, cfg.min_silence_s)  # fmt: skip
        return {k: out[k] for k in [TIME, *AUDIO_COLUMNS]}

    def _vad_prob(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        if self._vad is None:
            return energy_prob(rows["loudness_db"], rows["band_share"])
        vad = {k: np.concatenate(v) if v else np.zeros(0) for k, v in self._vad_rows.items()}
        prob = np.zeros(len(rows[TIME]), np.float32)
        edges = np.arange(self._seg + 2)  # rows and windows are in stretch order: slice each
        row_at, vad_at = np.searchsorted(rows["seg"], edges), np.searchsorted(vad["seg"], edges)
        for i in range(self._seg + 1):
            r, v = slice(row_at[i], row_at[i + 1]), slice(vad_at[i], vad_at[i + 1])
            if r.stop > r.start and v.stop > v.start:  # silero's 32 ms windows onto the rows
                prob[r] = np.interp(rows[TIME][r], vad[TIME][v], vad["prob"][v])
        return prob
