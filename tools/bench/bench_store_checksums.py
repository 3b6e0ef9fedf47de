"""Benchmark: the share of a frame-store build spent on the per-array checksums.

A build of edits of 30 fps frames with a 100 Hz audio table (5 columns) and a 2 fps visual
table (CLIP 512) per recording, normalisers fitted; then the same store's array files hashed
again with featalign's `file_checksum` (what the build does once). Prints both times and the
share. The features come as in-memory tables, so nothing else is read: the worst case for the
checksums' share (a real build also reads and parses feature files). Target: under 15 %.

    python tools/bench/bench_store_checksums.py            # 10 edits of 5 minutes
    python tools/bench/bench_store_checksums.py --quick    # 3 edits of 1 minute
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from featalign import build_frame_store
from featalign.store import file_checksum

PARAMETERS = ("pos_x", "pos_y", "crop_left", "crop_right", "crop_top", "crop_bottom")


def corpus(n_edits: int, seconds: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = round(seconds * 30)
    tables, features = [], {}
    for e in range(n_edits):
        video = f"rec{e}.mp4"
        tables.append(
            pd.DataFrame(
                {
                    "edit_id": f"edit{e}",
                    "source_video_name": video,
                    "frame": np.arange(n),
                    "timestamp": np.arange(n) / 30,
                    "t01_active": 1,
                    "t01_asset": 1,
                    **{f"t01_{p}": 0.0 for p in PARAMETERS},
                    "t01_scale": rng.uniform(100, 150, n),
                }
            )
        )
        ta = np.arange(int(seconds * 100)) / 100
        tv = np.arange(int(seconds * 2)) / 2
        audio = pd.DataFrame({"time": ta, **{f"a{k}": rng.normal(size=len(ta)) for k in range(5)}})
        clip = pd.DataFrame(
            rng.normal(size=(len(tv), 512)), columns=[f"clip_{k}" for k in range(512)]
        )
        features[video] = {
            "audio": audio,
            "visual": pd.concat([pd.DataFrame({"time": tv}), clip], axis=1),
        }
    return pd.concat(tables, ignore_index=True), features


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_edits, seconds = (3, 60.0) if args.quick else (10, 300.0)
    tracks, features = corpus(n_edits, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        started = time.perf_counter()
        build_frame_store(tracks, features, store, fit_on=["edit0"], n_tracks=1)
        build_s = time.perf_counter() - started
        files = sorted(store.glob("edits/*/*.npy"))
        started = time.perf_counter()
        for file in files:
            file_checksum(file)
        hash_s = time.perf_counter() - started
        size = sum(f.stat().st_size for f in files)
    print(f"{n_edits} edits x {seconds:.0f} s: build {build_s:.2f} s (checksums included), "
          f"checksums of {len(files)} files ({size / 1e6:.0f} MB) {hash_s:.2f} s = "
          f"{100 * hash_s / build_s:.1f} % of the build (target < 15 %)")  # fmt: skip


if __name__ == "__main__":
    main()
