"""The product from video files: `xmlai synth --media` renders recordings with their hidden
events visible and audible, `xmlai features` extracts their features, and build, train,
evaluate and predict run on those instead of the synthetic feature tables."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
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


def test_predict_a_folder_of_recordings_one_edit_each(corpus):
    """A folder: one edit per recording under OUT/<stem>/, one summary; a file that is no
    recording is reported and the rest go on."""
    if not (corpus / "run").exists():
        pytest.skip("needs the run trained by test_predict_takes_the_recording_itself")
    folder = corpus / "to-predict"
    folder.mkdir()
    videos = sorted((corpus / "corpus" / "media").glob("*.mp4"))[:2]
    for video in videos:
        (folder / video.name).symlink_to(video)
    (folder / "broken.mp4").write_bytes(b"not a video")
    out = corpus / "folder-pred"
    result = invoke("predict", "-r", corpus / "run", corpus / "features", folder, "-o", out,
                    *SMALL, *NO_OCR)  # fmt: skip
    assert result.exit_code == 1, result.output  # one recording failed
    summary = json.loads((out / "predict.json").read_text())
    assert (summary["ok"], summary["failed"]) == (2, 1)
    failed = [r for r in summary["recordings"] if r["status"] == "failed"]
    assert "broken.mp4" in failed[0]["video"] + failed[0]["error"]
    for video in videos:
        one = json.loads((out / video.stem / "predict.json").read_text())
        assert Path(one["xmeml"]).exists() and one["audio"] == "stereo (A1/A2)"


def _frames(path: Path, height: int | None = None) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if height:
        frames = [cv2.resize(f, (round(f.shape[1] * height / f.shape[0]), height)) for f in frames]
    return frames


def _loudness(path: Path, fps: float) -> np.ndarray:
    """RMS of the (mono-mixed) sound per frame of `fps`."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=48000)
        blocks = [b.to_ndarray().reshape(-1) for f in container.decode(stream)
                  for b in resampler.resample(f)]  # fmt: skip
    samples = np.concatenate(blocks)
    per_frame = int(48000 / fps)
    n = len(samples) // per_frame
    return np.sqrt((samples[: n * per_frame].reshape(n, per_frame) ** 2).mean(axis=1))


def test_an_edit_of_the_recording_previews_with_its_sound_and_its_facecam(corpus):
    """The editor's own edit of a rendered recording: the preview has one frame per sequence
    frame, its sound follows the source time of the kept frames, and inside the facecam
    overlay it shows the recording's webcam box where the edit puts it."""
    from xml2csv import read_xmeml, sample

    synth = json.loads((corpus / "corpus" / "synth.json").read_text())
    names = [r["name"] for r in synth["recordings"]]
    tables = {
        n: sample(read_xmeml(corpus / "corpus" / "xml" / f"{n}.xml"), n_tracks=4) for n in names
    }
    name = max(names, key=lambda n: (tables[n]["t02_asset"] == 2).sum())
    table = tables[name]
    edit = corpus / "corpus" / "xml" / f"{name}.xml"
    video = corpus / "corpus" / "media" / f"{name}.mp4"
    out = corpus / f"{name}-preview.mp4"
    result = invoke("preview", edit, "-o", out, "--media-root", video.parent, "--height", 180)
    assert result.exit_code == 0, result.output
    fps = float(read_xmeml(edit).sequence.fps)
    shown = _frames(out)
    assert len(shown) == len(table)
    heard, source_sound = _loudness(out, fps), _loudness(video, fps)
    source_frames = np.rint(table["source_timestamp"].to_numpy() * fps)
    on = np.isfinite(source_frames) & (source_frames < len(source_sound))
    expected = source_sound[source_frames[on].astype(int)]
    assert abs(len(heard) - len(table)) <= 1
    assert (
        np.corrcoef(heard[: len(table)][on[: len(heard)]], expected[: on[: len(heard)].sum()])[0, 1]
        > 0.9
    )

    cam = np.flatnonzero(table["t02_asset"].to_numpy() == 2)
    assert len(cam), "the synthetic editor puts a facecam on V2 while the speaker talks"
    t = int(cam[len(cam) // 2])
    row = table.iloc[t]
    source = _frames(video, 180)[int(source_frames[t])]
    h, w = shown[t].shape[:2]
    sw, sh = source.shape[1] * row["t02_scale"] / 100, source.shape[0] * row["t02_scale"] / 100
    cx, cy = w / 2 + row["t02_pos_x"] * w, h / 2 + row["t02_pos_y"] * h
    left, right = (
        cx - sw / 2 + sw * row["t02_crop_left"] / 100,
        cx + sw / 2 - sw * row["t02_crop_right"] / 100,
    )
    top, bottom = (
        cy - sh / 2 + sh * row["t02_crop_top"] / 100,
        cy + sh / 2 - sh * row["t02_crop_bottom"] / 100,
    )
    x0, x1, y0, y1 = (
        int(np.ceil(left)) + 1,
        int(right) - 1,
        int(np.ceil(top)) + 1,
        int(bottom) - 1,
    )
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    corner = (cx > w / 2, cy > h / 2)
    assert corner == (row["t02_pos_x"] > 0, row["t02_pos_y"] > 0)
    crop = source[
        int(source.shape[0] * row["t02_crop_top"] / 100) : int(
            source.shape[0] * (1 - row["t02_crop_bottom"] / 100)
        ),
        int(source.shape[1] * row["t02_crop_left"] / 100) : int(
            source.shape[1] * (1 - row["t02_crop_right"] / 100)
        ),
    ]
    patch = cv2.resize(crop, (int(right) - int(np.ceil(left)), int(bottom) - int(np.ceil(top))))
    patch = patch[1 : 1 + (y1 - y0), 1 : 1 + (x1 - x0)]
    seen = shown[t][y0:y1, x0:x1].astype(float)
    beneath = source[y0:y1, x0:x1].astype(float)  # what V1 alone would show there
    facecam_error = np.abs(seen - patch).mean()
    assert facecam_error < 20 and facecam_error < 0.5 * np.abs(seen - beneath).mean()


def test_a_predicted_edit_previews_at_its_length_with_sound(corpus):
    if not (corpus / "pred" / "predict.json").exists():
        pytest.skip("needs the edit predicted by test_predict_takes_the_recording_itself")
    summary = json.loads((corpus / "pred" / "predict.json").read_text())
    out = corpus / "pred-preview.mp4"
    result = invoke("preview", summary["xmeml"], "-o", out, "--height", 120)
    assert result.exit_code == 0, result.output
    preview = json.loads((corpus / "pred-preview.preview.json").read_text())
    assert preview["frames"] == summary["sequence_frames"] == len(_frames(out))
    assert preview["audio"]  # the recording's sound under every kept frame
    # only the placeholders the model asked for are missing, never the recording itself
    assert all("xmlai-placeholders" in m["path"] for m in preview["missing_media"])
    fps = float(Fraction(summary["fps"]))
    assert abs(preview["audio_seconds"] - summary["sequence_frames"] / fps) < 2 / fps


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
