"""The product from video files: `xmlai synth --media` renders recordings with their hidden
events visible and audible, `xmlai features` extracts their features, and build, train,
evaluate and predict run on those instead of the synthetic feature tables."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xmlai.cli import app

runner = CliRunner()
SMALL = [
    "--set", "model.d_model=32", "--set", "model.n_layers=1", "--set", "model.d_ff=64",
    "--set", "data.n_tracks=4", "--set", "data.window=64", "--set", "data.overlap=16",
    "--set", "train.progress=false",
]  # fmt: skip
# the detectors have their own tests; here the pipeline matters, and OCR is the slow one
NO_OCR = ["--set", "features.text=false"]


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    return result


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("media")
    invoke("synth", root / "corpus", "--edits", 4, "--seconds", 5, "--seed", 5, "--media")
    result = invoke("features", root / "corpus" / "media", "-o", root / "features", *NO_OCR)
    assert result.exit_code == 0, result.output
    return root


def test_features_from_every_rendered_recording(corpus):
    summary = json.loads((corpus / "features" / "features.json").read_text())
    assert summary["counts"] == {"ok": 4, "partial": 0, "skipped": 0, "failed": 0}
    for item in summary["files"]:
        assert set(item["modalities"]) == {"audio", "visual"}, item
        assert item["realtime_factor"] > 0
    again = invoke("features", corpus / "corpus" / "media", "-o", corpus / "features", *NO_OCR)
    assert "4 skipped" in again.output


def test_build_reads_media_json_and_the_schema(corpus):
    invoke("build", corpus / "corpus" / "xml", corpus / "features", "-o", corpus / "build",
           *SMALL)  # fmt: skip
    summary = json.loads((corpus / "build" / "build.json").read_text())
    assert summary["edits_stored"] == 4 and not summary["store_failures"]
    synth = json.loads((corpus / "corpus" / "synth.json").read_text())
    for record in synth["recordings"]:
        facts = summary["media"][f"{record['name']}.mp4"]
        assert Fraction(facts["fps"]) == Fraction(record["fps_fraction"])
    manifest = json.loads((corpus / "build" / "store" / "manifest.json").read_text())
    kinds = manifest["modality_kinds"]
    assert kinds["visual"]["scene_cut"] == "binary" and kinds["audio"]["is_speaking"] == "binary"


def test_predict_takes_the_recording_itself(corpus):
    build = corpus / "build"
    if not build.exists():
        invoke("build", corpus / "corpus" / "xml", corpus / "features", "-o", build, *SMALL)
    invoke("train", build, "-r", corpus / "run", "--epochs", 1, *SMALL)
    video = next((corpus / "corpus" / "media").glob("*.mp4"))
    fresh = corpus / "new-features"  # nothing extracted there yet: predict runs the extractor
    # a one-epoch model may keep nothing; thresholds at 0 keep every frame, so clips get written
    keep_all = ["--set", "smooth.on_threshold=0.0", "--set", "smooth.off_threshold=0.0"]
    result = invoke("predict", "-r", corpus / "run", fresh, video, "-o", corpus / "pred",
                    *SMALL, *NO_OCR, *keep_all)  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((corpus / "pred" / "predict.json").read_text())
    media = json.loads((fresh / video.stem / "media.json").read_text())
    assert summary["fps"] == media["fps"] and summary["fps_from"] == "media.json"
    assert summary["source_frames"] == media["frame_count"]
    assert (corpus / "pred" / f"{video.stem}.xml").exists()


RULE_TRACKS = ("V1", "V2", "V3", "V4")
# the demo's training (20 epochs, 4 tracks) on a corpus about half the demo's size
HEAVY_TRAIN = ["--epochs", 20, "--set", "train.progress=false", "--set", "data.n_tracks=4"]


def _cut_f1(metrics: dict) -> dict[str, float]:
    return {t: metrics["tracks"][t]["model"]["boundary_f1_2frames"] for t in RULE_TRACKS}


@pytest.fixture
def all_cores():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    yield
    torch.set_num_threads(before)


@pytest.mark.heavy
def test_features_from_video_against_the_exact_feature_tables(tmp_path, capsys, all_cores):
    """The same corpus trained twice: on the synthetic feature tables the editor's rules read,
    and on what mediafeat extracts from the rendered videos. Reports how far the cut F1 falls;
    the video-trained model must still beat the baseline on the dead-air track."""
    corpus = tmp_path / "corpus"
    invoke("synth", corpus, "--edits", 60, "--seconds", 30, "--seed", 11, "--media")
    result = invoke("features", corpus / "media", "-o", tmp_path / "features")
    assert result.exit_code == 0, result.output
    scores = {}
    for name, features in (("tables", corpus / "features"), ("video", tmp_path / "features")):
        build, run = tmp_path / f"build-{name}", tmp_path / f"run-{name}"
        invoke("build", corpus / "xml", features, "-o", build, "--set", "data.n_tracks=4")
        invoke("train", build, "-r", run, *HEAVY_TRAIN)
        invoke("evaluate", build, "-r", run, "--set", "data.n_tracks=4")
        scores[name] = json.loads((run / "evaluation" / "metrics.json").read_text())
    tables, video = _cut_f1(scores["tables"]), _cut_f1(scores["video"])
    report = {t: {"tables": tables[t], "video": video[t], "drop": tables[t] - video[t]}
              for t in RULE_TRACKS}  # fmt: skip
    (tmp_path / "media_vs_tables.json").write_text(json.dumps(report, indent=2))
    with capsys.disabled():
        print("\ncut F1 (±2 frames), exact feature tables vs features from video:")
        for track, row in report.items():
            print(f"  {track}: {row['tables']:.3f} vs {row['video']:.3f} (drop {row['drop']:+.3f})")
    v1 = scores["video"]["tracks"]["V1"]
    assert v1["model"]["frame_f1"] > v1["baseline"]["frame_f1"]
    assert v1["model"]["boundary_f1_2frames"] > v1["baseline"]["boundary_f1_2frames"]
