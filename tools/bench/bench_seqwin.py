"""Benchmark seqwin on a synthetic frame store (default: 1,000,000 frames).

Measures, against targets from issue 3:
  1. open the store + build the window index + a view of every window   (target < 1 s)
  2. extra resident memory after (1)                                     (target < 5% of store)
  3. gather of a 64-window batch vs numpy.copyto of the same bytes       (target >= 1/3)
The reference for (3) is np.copyto from an in-RAM array of the batch's size into a preallocated
one, measured in the same run. Run:  python tools/bench/bench_seqwin.py [--quick] [--dir D]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from seqwin import FrameStore, WindowDataset
from trackcore import DEFAULT_N_TRACKS, TRACK_WIDTH, Manifest, ManifestEdit, write_manifest


def rss_kib() -> dict[str, int]:
    """VmRSS / RssAnon / RssFile of this process in KiB (Linux)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0])
    return out


def write_store(root: Path, total_frames: int, widths: dict[str, int], seed: int = 0) -> list[int]:
    """A frame store in the SPEC layout: edits of 2-12 minutes at 30 fps until total_frames."""
    rng = np.random.default_rng(seed)
    lengths: list[int] = []
    while sum(lengths) < total_frames:
        lengths.append(int(min(rng.integers(3_600, 21_600), total_frames - sum(lengths))))
    n_tracks = widths["tracks"] // TRACK_WIDTH
    modalities = [m for m in widths if m != "tracks"]
    # One random block per width, tiled: realistic bytes without paying for a RNG per frame.
    block = {k: rng.standard_normal((4096, d)).astype(np.float32) for k, d in widths.items()}
    block["modality_mask"] = (rng.random((4096, len(modalities))) > 0.1).astype(np.float32)
    edits = []
    for e, n in enumerate(lengths):
        key = f"edit_{e:04d}"
        folder = root / "edits" / key
        folder.mkdir(parents=True)
        for name, blk in block.items():
            arr = np.lib.format.open_memmap(
                folder / f"{name}.npy", "w+", np.float32, (n, blk.shape[1])
            )
            for lo in range(0, n, 4096):
                hi = min(n, lo + 4096)
                arr[lo:hi] = blk[: hi - lo]
            arr.flush()
            del arr
        np.save(folder / "timestamps.npy", np.arange(n) / 30.0)
        edits.append(ManifestEdit(f"recording {e}", key, n, f"video_{e // 2}.mp4", 30.0, "30/1"))
    manifest = Manifest(
        n_tracks=n_tracks,
        modalities=modalities,
        modality_columns={m: [f"{m}_{i}" for i in range(widths[m])] for m in modalities},
        edits=edits,
    )
    write_manifest(root, manifest)  # the one writer, as featalign writes a store
    return lengths


def time_it(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="50,000 frames instead of 1,000,000")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument(
        "--tracks",
        type=int,
        default=DEFAULT_N_TRACKS * TRACK_WIDTH,
        help=f"track columns ({DEFAULT_N_TRACKS} tracks x {TRACK_WIDTH})",
    )
    ap.add_argument("--audio", type=int, default=8)
    ap.add_argument("--visual", type=int, default=522)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument(
        "--dir", type=Path, default=None, help="where to write the store (default: a temp dir)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the store afterwards")
    args = ap.parse_args()
    frames = args.frames or (50_000 if args.quick else 1_000_000)
    widths = {"tracks": args.tracks, "audio": args.audio, "visual": args.visual}

    root = Path(tempfile.mkdtemp(prefix="seqwin_bench_", dir=args.dir)) / "store"
    try:
        t0 = time.perf_counter()
        lengths = write_store(root, frames, widths)
        write_s = time.perf_counter() - t0
        print(
            f"store: {frames:,} frames in {len(lengths)} edits, widths {widths} float32 "
            f"(written in {write_s:.1f} s)"
        )

        # 1 + 2: open, index, views; resident memory before and after.
        gc.collect()
        before = rss_kib()
        t0 = time.perf_counter()
        store = FrameStore(root)
        ds = WindowDataset(store, length=100, overlap=20)
        views = [ds.view(i) for i in range(len(ds))]
        build_s = time.perf_counter() - t0
        gc.collect()
        after = rss_kib()
        store_bytes = store.nbytes
        extra = (after["VmRSS"] - before["VmRSS"]) * 1024
        print(
            f"store size: {store_bytes / 2**30:.2f} GiB; "
            f"windows: {len(ds):,} (length 100, overlap 20)"
        )
        print(
            f"[1] open + index + {len(views):,} window views: {build_s * 1e3:.1f} ms "
            f"(target < 1000 ms) -> {'OK' if build_s < 1 else 'MISSED'}"
        )
        print(
            f"[2] extra resident memory: {extra / 2**20:.1f} MiB = "
            f"{100 * extra / store_bytes:.3f}% of the store (target < 5%) -> "
            f"{'OK' if extra < 0.05 * store_bytes else 'MISSED'}  "
            f"[RssAnon +{(after['RssAnon'] - before['RssAnon']) / 1024:.1f} MiB, "
            f"RssFile +{(after['RssFile'] - before['RssFile']) / 1024:.1f} MiB]"
        )
        del views

        # 3: gather vs copyto of the same bytes.
        rng = np.random.default_rng(1)
        batches = [rng.choice(len(ds), size=args.batch, replace=False) for _ in range(args.repeats)]
        probe = ds.gather(batches[0])
        batch_bytes = sum(v.nbytes for v in probe.values())
        src = np.random.default_rng(2).standard_normal(batch_bytes // 4).astype(np.float32)
        dst = np.empty_like(src)
        np.copyto(dst, src)  # touch both once, so the reference runs at full speed
        copy_s = statistics.median(time_it(lambda: np.copyto(dst, src), args.repeats * 3))

        fresh_iter = iter(batches)
        cold_s = statistics.median(time_it(lambda: ds.gather(next(fresh_iter)), args.repeats))
        warm_s = statistics.median(time_it(lambda: ds.gather(batches[0]), args.repeats))
        buffer = ds.gather(batches[1])
        reuse_iter = iter(batches * 2)
        reuse_s = statistics.median(
            time_it(lambda: ds.gather(next(reuse_iter), out=buffer), args.repeats)
        )

        def line(name: str, s: float) -> str:
            ratio = copy_s / s
            return (
                f"    {name:<42} {s * 1e3:7.2f} ms  {batch_bytes / s / 1e9:6.2f} GB/s  "
                f"ratio to copyto {ratio:.2f} -> {'OK' if ratio >= 1 / 3 else 'MISSED'}"
            )

        print(
            f"[3] batch of {args.batch} windows = {batch_bytes / 2**20:.1f} MiB "
            "(target ratio >= 0.33)"
        )
        print(
            f"    {'numpy.copyto, same bytes (reference)':<42} {copy_s * 1e3:7.2f} ms  "
            f"{batch_bytes / copy_s / 1e9:6.2f} GB/s"
        )
        print(line("gather, new random windows each batch", cold_s))
        print(line("gather, the same batch again", warm_s))
        print(line("gather(out=buffer), random windows", reuse_s))
        print(
            f"    RSS now {rss_kib()['VmRSS'] / 1024:.0f} MiB (mapped pages of windows read so far)"
        )
    finally:
        if args.keep:
            print(f"store kept at {root}")
        else:
            shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
