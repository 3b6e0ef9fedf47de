"""xml2csv speed against references measured in the same run.

For every file of the real corpus: a plain `lxml.etree.parse` (the floor: any reader parses),
OpenTimelineIO's FCP7 reader (`otio-fcp-adapter`; it only reads, it samples nothing) and the
full xml2csv conversion to a DataFrame. Then a batch over the corpus (copied N times) with one
worker against two. Targets: conversion within 3x of the plain parse, at least 10x faster than
OTIO's read, and the 2-worker batch at least 1.6x faster than one worker.

    python tools/bench/bench_xml2csv.py [--corpus DIR] [--repeat 5] [--copies 6] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

from xml2csv import read_xmeml, sample
from xml2csv.batch import convert_dir

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT.parent / "shared" / "xmeml-corpus"


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def otio_reader():
    try:
        import opentimelineio as otio
    except ImportError:
        return None
    return lambda path: otio.adapters.read_from_file(str(path), adapter_name="fcp_xml")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--copies", type=int, default=6, help="corpus copies in the batch test")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 2 copies")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.copies = 1, 2
    files = sorted(args.corpus.glob("*.xml"))
    if not files:
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    otio_read = otio_reader()

    print(
        f"{'file':34} {'frames':>7} {'lxml ms':>8} {'xml2csv ms':>10} {'ratio':>6} "
        f"{'otio ms':>8} {'otio/ours':>9}"
    )
    totals = {"lxml": 0.0, "ours": 0.0, "otio": 0.0}
    for path in files:
        t_lxml = best_of(args.repeat, lambda p=path: etree.parse(str(p)))
        frames = len(sample(read_xmeml(path)))
        t_ours = best_of(args.repeat, lambda p=path: sample(read_xmeml(p)))
        t_otio = best_of(max(1, args.repeat // 2), lambda p=path: otio_read(p)) if otio_read else 0
        totals["lxml"] += t_lxml
        totals["ours"] += t_ours
        totals["otio"] += t_otio
        otio_cols = f"{t_otio * 1e3:8.1f} {t_otio / t_ours:9.1f}" if otio_read else "     n/a"
        print(
            f"{path.name[:34]:34} {frames:7d} {t_lxml * 1e3:8.1f} {t_ours * 1e3:10.1f} "
            f"{t_ours / t_lxml:6.2f} {otio_cols}"
        )
    ratio_parse = totals["ours"] / totals["lxml"]
    print(
        f"{'TOTAL':34} {'':7} {totals['lxml'] * 1e3:8.1f} {totals['ours'] * 1e3:10.1f} "
        f"{ratio_parse:6.2f} "
        + (
            f"{totals['otio'] * 1e3:8.1f} {totals['otio'] / totals['ours']:9.1f}"
            if otio_read
            else ""
        )
    )

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        for n in range(args.copies):
            shutil.copytree(args.corpus, src / f"copy{n}", ignore=shutil.ignore_patterns("*.md"))
        timings = {}
        for workers in (1, 2):
            out = Path(tmp) / f"out{workers}"
            started = time.perf_counter()
            summary = convert_dir(
                src, out, workers=workers, fmt="parquet", per_edit=True, progress=False
            )
            timings[workers] = time.perf_counter() - started
            assert summary.ok, summary.failed
            shutil.rmtree(out)
    speedup = timings[1] / timings[2]
    n_files = len(files) * args.copies
    print(
        f"\nbatch of {n_files} files (per-edit parquet): 1 worker {timings[1]:.2f} s, "
        f"2 workers {timings[2]:.2f} s, speed-up {speedup:.2f}x"
    )

    print("\ntargets:")
    print(f"  conversion / plain lxml parse = {ratio_parse:.2f}  (target <= 3)")
    if otio_read:
        print(f"  OTIO read / conversion = {totals['otio'] / totals['ours']:.1f}  (target >= 10)")
    print(f"  2-worker batch speed-up       = {speedup:.2f}  (target >= 1.6)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
