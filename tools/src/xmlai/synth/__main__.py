"""`python -m xmlai.synth OUT [--edits N] [--seconds S] [--seed K] [--overwrite] [--quiet]`."""

from __future__ import annotations

import argparse
import json
import sys

from xmlai.synth.corpus import SynthError, synthesize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xmlai.synth",
        description="Write a synthetic corpus: feature files, xmeml edits and truth tables.",
    )
    parser.add_argument("out", help="output folder (must not exist or be empty)")
    parser.add_argument("--edits", type=int, default=110, help="recordings and edits (110)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each edit (30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing corpus (one with synth.json)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        summary = synthesize(
            args.out, args.edits, args.seconds, args.seed, args.overwrite, not args.quiet
        )
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    brief = {k: v for k, v in summary.to_dict().items() if k != "recordings"}
    print(json.dumps(brief, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
