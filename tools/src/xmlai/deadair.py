"""The rule of thumb existing tools ship (auto-editor's "cut silences longer than a threshold,
keep a margin"), as a baseline for the base track: its loudness column, level, shortest silence
and margin are fitted on the training edits, so a model that cannot beat it learned nothing a
one-line rule would not."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xmlai.metrics import f1 as frame_f1
from xmlai.smooth import segments

SILENCE_SECONDS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
MARGIN_SECONDS = (0.0, 0.1, 0.25, 0.5)
LEVEL_QUANTILES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
CANDIDATE_COLUMNS = 3  # the columns that follow the editor's cuts most closely


@dataclass(frozen=True)
class DeadAirCutter:
    column: int  # of the features: every modality's columns side by side, in store order
    level: float  # a frame quieter than this is silent (in the store's normalised units)
    min_silence_s: float
    margin_s: float

    def keep(self, audio: np.ndarray, fps: float) -> np.ndarray:
        """(n, D) audio features -> (n,) bool: the frames the base track keeps."""
        return _keep(audio[:, self.column] < self.level, fps, self.min_silence_s, self.margin_s)


def _keep(silent: np.ndarray, fps: float, min_silence_s: float, margin_s: float) -> np.ndarray:
    keep = np.ones(len(silent), dtype=bool)
    shortest, margin = round(min_silence_s * fps), round(margin_s * fps)
    for start, end in segments(silent):
        if end - start >= shortest:
            keep[start + margin : max(start + margin, end - margin)] = False
    return keep


def fit_dead_air_cutter(audio: list[np.ndarray], kept: list[np.ndarray], fps: list[float]):
    """Training edits' (n, D) audio features, their base track's (n,) active frames and
    rates -> the cutter whose cuts best match the editor's (F1 of the frames cut; None
    without audio or without a cut to learn from)."""
    if not audio or not any((~k).any() for k in kept):
        return None
    stacked, truth = np.concatenate(audio), np.concatenate(kept)
    best, best_f1 = None, -1.0
    for column in _candidates(stacked, truth):
        for level in np.unique(np.quantile(stacked[:, column], LEVEL_QUANTILES)):
            silent = [a[:, column] < level for a in audio]
            for shortest in SILENCE_SECONDS:
                for margin in MARGIN_SECONDS:
                    guess = np.concatenate(
                        [_keep(s, f, shortest, margin) for s, f in zip(silent, fps, strict=True)]
                    )
                    cut, wanted = ~guess, ~truth
                    f1 = frame_f1(
                        (cut & wanted).sum(), (cut & ~wanted).sum(), (~cut & wanted).sum()
                    )
                    if f1 > best_f1:
                        best, best_f1 = DeadAirCutter(column, float(level), shortest, margin), f1
    return best


def cutter_tracks(cutter: DeadAirCutter, audio: np.ndarray, fps: float, n_tracks: int):
    """The cutter's edit as a track block (n, N*9): the main source on the base track where it
    keeps the frame, every other track off."""
    from trackcore import ACTIVE, ASSET, AssetRole
    from xmlai.smooth import NEUTRAL, TRACK_WIDTH

    block = np.tile(NEUTRAL, (len(audio), n_tracks)).reshape(len(audio), n_tracks, TRACK_WIDTH)
    keep = cutter.keep(audio, fps)
    block[keep, 0, ACTIVE], block[keep, 0, ASSET] = 1, AssetRole.MAIN_SOURCE
    return block.reshape(len(audio), -1)


def _candidates(audio: np.ndarray, kept: np.ndarray) -> list[int]:
    """The columns whose values rise most with the frames kept (loudness, voice activity)."""
    spread = audio.std(axis=0)
    usable = np.flatnonzero(spread > 0)
    if not len(usable) or kept.all() or not kept.any():
        return list(usable[:CANDIDATE_COLUMNS])
    gap = audio[kept][:, usable].mean(axis=0) - audio[~kept][:, usable].mean(axis=0)
    order = np.argsort(-(gap / spread[usable]))
    return [int(usable[i]) for i in order[:CANDIDATE_COLUMNS]]
