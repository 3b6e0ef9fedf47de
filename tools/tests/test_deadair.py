"""The dead-air cutter baseline: fitted on edits that cut silences, it finds the editor's rule
(which column, how long a silence, what margin) and cuts where they would."""

from __future__ import annotations

import numpy as np

from xmlai.deadair import DeadAirCutter, cutter_tracks, fit_dead_air_cutter

FPS = 30.0


def recording(seed: int, n: int = 1800):
    """(n, 3) audio columns (noise, loudness, an unrelated one) with pauses of 0.3-3 s, and
    the editor's edit: pauses of at least 1 s cut, keeping 0.25 s on each side."""
    rng = np.random.default_rng(seed)
    loud = np.ones(n)
    t = 0
    while t < n:
        t += int(rng.integers(30, 150))
        pause = int(rng.integers(9, 90))
        loud[t : t + pause] = 0.0
        t += pause
    audio = np.stack([rng.normal(size=n), loud + rng.normal(0, 0.05, n), rng.normal(size=n)], 1)
    rule = DeadAirCutter(column=1, level=0.5, min_silence_s=1.0, margin_s=0.25)
    return audio, rule.keep(audio, FPS)


def test_the_cutter_finds_the_editors_silence_rule():
    edits = [recording(s) for s in range(6)]
    cutter = fit_dead_air_cutter([a for a, _ in edits], [k for _, k in edits], [FPS] * 6)
    assert cutter.column == 1
    assert (cutter.min_silence_s, cutter.margin_s) == (1.0, 0.25)
    audio, kept = recording(99)
    assert (cutter.keep(audio, FPS) == kept).mean() > 0.99


def test_no_cut_to_learn_from_gives_no_cutter():
    audio, _ = recording(1)
    assert fit_dead_air_cutter([audio], [np.ones(len(audio), bool)], [FPS]) is None
    assert fit_dead_air_cutter([], [], []) is None


def test_the_cutters_edit_is_a_track_table_with_the_main_source_on_v1():
    audio, kept = recording(3)
    rule = DeadAirCutter(column=1, level=0.5, min_silence_s=1.0, margin_s=0.25)
    block = cutter_tracks(rule, audio, FPS, n_tracks=3).reshape(len(audio), 3, 9)
    assert np.array_equal(block[:, 0, 0] > 0.5, kept)
    assert set(block[kept, 0, 1]) == {1} and not block[:, 1:, 0].any()
    assert (block[:, :, 2] == 100).all()  # scale stays neutral
