"""The main job until the umbrella `xmlai demo` exists: convert the real corpus (or the bundled
example edit when ../shared is absent) with xml2csv and print a summary.

    python tools/demo.py [--out out/demo]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path

from xml2csv import AssetRole
from xml2csv.batch import convert_dir

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "xmeml-corpus"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = CORPUS
        if not CORPUS.is_dir():
            source = Path(tmp)
            shutil.copy(files("xml2csv") / "examples" / "example_edit.xml", source)
        print(f"converting {source} -> {args.out}")
        summary = convert_dir(source, args.out, fmt="parquet", per_edit=True)
    import pandas as pd

    print(
        f"\n{summary.files_ok} edits, {summary.files_failed} failed, {summary.rows} frames, "
        f"{summary.seconds:.1f} s\n"
    )
    print(f"{'edit':34} {'frames':>7} {'main source':32} roles on screen (frames)")
    for result in summary.files:
        if not result.ok:
            print(f"{Path(result.file).name:34} FAILED: {result.error}")
            continue
        table = pd.read_parquet(result.output)
        assets = table[[c for c in table.columns if c.endswith("_asset")]].to_numpy().ravel()
        counts = {AssetRole(r).name.lower(): int((assets == r).sum()) for r in range(1, 10)}
        roles = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        name = str(table["source_video_name"].iloc[0])[:32] if len(table) else ""
        print(f"{result.edit_id[:34]:34} {result.rows:7d} {name:32} {roles}")
    print(f"\ntables, log and summary.json in {args.out}")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
