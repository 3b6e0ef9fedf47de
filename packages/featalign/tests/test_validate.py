"""Corpus validation: one row per file, dimension checks, missing modalities, CSV + Markdown."""

from __future__ import annotations

import numpy as np
import pandas as pd

from featalign import validate_corpus, validate_features, write_corpus_report


def test_corpus_report_flags_errors_dimensions_and_missing(tmp_path):
    feats = tmp_path / "f"
    feats.mkdir()
    t = np.arange(0, 20, 0.5)
    for name in ("a", "b", "c"):
        pd.DataFrame({"time": t, "x": t, "y": t}).to_csv(feats / f"{name}.audio.csv", index=False)
    pd.DataFrame({"time": t, "x": t}).to_csv(feats / "d.audio.csv", index=False)  # narrower
    gappy = pd.DataFrame({"time": np.r_[t, t[-1] + 30], "x": 0.0, "y": 0.0})
    gappy.iloc[::-1].to_csv(feats / "e.audio.csv", index=False)  # unsorted, one long gap
    (feats / "f.audio.csv").write_text("")
    pd.DataFrame({"time": t, "v": t}).to_csv(feats / "a.visual.csv", index=False)
    report = validate_corpus(feats, videos=["a.mp4", "b.mp4", "zzz.mp4"])
    by = {(r.video, r.modality): r for r in report.itertuples()}
    assert by["a", "audio"].status == "ok" and by["a", "audio"].rate_hz == 2.0
    assert by["d", "audio"].status == "warning" and "dimension mismatch" in by["d", "audio"].message
    assert by["e", "audio"].unsorted and by["e", "audio"].gaps == 1
    assert "gaps longer than 5 s" in by["e", "audio"].message
    assert by["f", "audio"].status == "error" and "empty" in by["f", "audio"].message
    assert by["b.mp4", "visual"].status == "missing" and by["zzz.mp4", "audio"].status == "missing"
    csv_path, md_path = write_corpus_report(report, tmp_path / "out")
    assert len(pd.read_csv(csv_path)) == len(report)
    md = md_path.read_text()
    assert md.count("\n|") == len(report) + 2 and "1 error" in md


def test_validate_features_on_a_dataframe():
    row = validate_features(pd.DataFrame({"timestamp": [0.0, 0.1, 0.1], "x": [1, 2, 3]}))
    assert row["status"] == "warning" and row["duplicate_rows"] == 1 and row["rows"] == 2
