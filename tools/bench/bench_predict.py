"""Benchmark: `xmlai predict` on a long recording's features -> a written edit, against the
model's forward pass alone over the same windows, measured in the same run.

A small corpus trains a default-size model on the demo's four tracks (12 epochs: enough that
it keeps frames, so there is an edit to write); `xmlai synth` writes the feature files of one
long recording; then, each in a fresh process so that peak memory is its own:
1. the whole command (align the features, window, run the model, stitch, smooth, write the
   xmeml, read it back for its keyframes), wall time and peak resident memory;
2. the forward pass alone over every window of the store that command built.

    python tools/bench/bench_predict.py              # a three-hour recording
    python tools/bench/bench_predict.py --hours 0.25 # a smoke run
Targets on 2 cores: the whole command within 2x of the forward pass alone, and peak memory
under 1 GB whatever the recording's length. (The forward pass alone runs over a store of the
whole recording built beforehand, untimed; its peak memory is that store's, not a target.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the demo's track count and enough epochs that the model keeps frames (an edit to write)
TRACKS = ["--set", "data.n_tracks=4"]
TRAIN = [*TRACKS, "--set", "train.progress=false", "--epochs", "12"]


def xmlai(*args) -> None:
    subprocess.run([sys.executable, "-m", "xmlai", *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def child(code: str) -> dict:
    """Run `code` in a fresh interpreter, which prints one JSON line with its own peak memory."""
    peak = "import resource; print(json.dumps(dict(result, peak_mb="
    peak += "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))"  # Linux: KiB
    out = subprocess.run([sys.executable, "-c", code + peak], check=True, capture_output=True,
                         text=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


PREDICT = """
import json, time
from xmlai.config import RunConfig
from xmlai.predict import predict
started = time.perf_counter()
s = predict({run!r}, {features!r}, {video!r}, {out!r}, RunConfig(), markers=True)
result = {{"seconds": time.perf_counter() - started, "frames": s["source_frames"],
          "kept": s["sequence_frames"], "fps": s["fps"]}}
"""

FORWARD = """
import json, time
from fractions import Fraction
import numpy as np, torch
from featalign import Normaliser, build_frame_store, discover_features
from mttransformer import MultiTrackTransformer, model_inputs
from seqwin import FrameStore, WindowDataset
from xmlai.stream import _frames_table
inputs = json.load(open({run!r} + "/inputs.json"))
settings = inputs["settings"]
normalisers = {{m: Normaliser.from_dict(d) for m, d in inputs["normalisation"].items()}}
build_frame_store(_frames_table({video!r}, 0, {frames}, Fraction({fps!r})),
                  discover_features({features!r}), {store!r}, modalities=inputs["modalities"],
                  normalisers=normalisers, n_tracks=inputs["n_tracks"])
model = MultiTrackTransformer.from_pretrained({run!r} + "/model").eval()
dataset = WindowDataset(FrameStore({store!r}), length=settings["data.window"],
                        overlap=settings["data.overlap"])
started = time.perf_counter()
with torch.no_grad():
    for start in range(0, len(dataset), 32):
        batch = dataset.gather(np.arange(start, min(start + 32, len(dataset))))
        tensors = {{k: torch.as_tensor(np.asarray(v)) for k, v in batch.items()}}
        model(**model_inputs(tensors, model.config))
result = {{"seconds": time.perf_counter() - started, "windows": len(dataset)}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        xmlai("synth", root / "small", "--edits", 16, "--seconds", 30, "--seed", 1)
        xmlai("build", root / "small" / "xml", root / "small" / "features", "-o", root / "build",
              *TRACKS)  # fmt: skip
        xmlai("train", root / "build", "-r", root / "run", *TRAIN)
        xmlai("synth", root / "long", "--edits", 1, "--seconds", round(args.hours * 3600),
              "--seed", 2)  # fmt: skip
        features = root / "long" / "features"
        video = f"{next(features.iterdir()).name}.mp4"
        started = time.perf_counter()
        whole = child(PREDICT.format(run=str(root / "run"), features=str(features),
                                     video=video, out=str(root / "pred")))  # fmt: skip
        print(f"whole predict: {whole}", flush=True)
        forward = child(FORWARD.format(
            run=str(root / "run"), video=video, frames=whole["frames"], fps=whole["fps"],
            features=str(features), store=str(root / "whole-store"),
        ))  # fmt: skip
        ratio = whole["seconds"] / forward["seconds"]
        print(f"recording: {args.hours:g} h, {whole['frames']} frames, {whole['kept']} kept, "
              f"{forward['windows']} windows")  # fmt: skip
        print(f"forward pass alone: {forward['seconds']:7.1f} s, peak {forward['peak_mb']:7.0f} MB")
        print(f"whole predict:      {whole['seconds']:7.1f} s, peak {whole['peak_mb']:7.0f} MB")
        print(f"ratio whole / forward: {ratio:.2f}x (target <= 2x); peak memory target < 1024 MB")
        print(f"bench wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
