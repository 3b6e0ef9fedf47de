"""report.md says in words where a baseline does as well as the model."""

from __future__ import annotations

from xmlai.report import _beaten


def scores(cut_2f: float, cut_half_s: float) -> dict:
    return {"boundary_f1_2frames": cut_2f, "boundary_f1_0.5s": cut_half_s}


def test_a_baseline_that_ties_or_beats_the_model_is_named_with_both_figures():
    tracks = {
        "V1": {"model": scores(0.455, 0.95), "dead_air_cutter": scores(0.907, 0.90),
               "baseline": scores(0.0, 0.0)},
        "V2": {"model": scores(0.93, 0.95), "boosted": scores(0.93, 0.94)},
    }  # fmt: skip
    lines = _beaten(tracks)
    assert "- V1: the dead-air cutter reaches cut F1 ±2f 0.907, the model 0.455" in lines
    assert "- V2: the gradient-boosted baseline reaches cut F1 ±2f 0.930, the model 0.930" in lines
    assert not any("±0.5s" in line and "V1" in line for line in lines)  # the model wins there
    assert not any("training-set" in line for line in lines)  # a zero is not a rival


def test_a_model_that_beats_every_baseline_is_said_to():
    tracks = {"V1": {"model": scores(0.9, 0.95), "boosted": scores(0.8, 0.9)}}
    assert any("beats every baseline" in line for line in _beaten(tracks))
