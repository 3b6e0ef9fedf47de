"""`seqwin build` (frame store -> train/val .npz) and `seqwin inspect` (store or .npz)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from seqwin.__about__ import __version__
from seqwin._io import file_logger, write_json_atomic
from seqwin.errors import SeqwinError, SplitError
from seqwin.sequences import load_sequences, save_sequences
from seqwin.split import Split, split_by_group
from seqwin.store import FrameStore
from seqwin.windows import DEFAULT_LENGTH, DEFAULT_OVERLAP, WindowDataset, make_windows

app = typer.Typer(
    no_args_is_help=True, help="Windows over a frame store: build train/val sets, inspect them."
)
console = Console(stderr=True)


@app.command()
def build(
    store: Path = typer.Argument(..., help="Frame store folder (manifest.json + edits/)."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output folder for the .npz files, summary and log."
    ),
    length: int = typer.Option(DEFAULT_LENGTH, help="Window length in frames (>= 1)."),
    overlap: int = typer.Option(
        DEFAULT_OVERLAP, help="Frames shared by consecutive windows (< length)."
    ),
    val_fraction: float = typer.Option(0.2, help="Share of frames (or edits) held out, in [0, 1)."),
    seed: int = typer.Option(0, help="Seed of the split (same seed, same split)."),
    split_by: str = typer.Option("frames", help="What val_fraction measures: 'frames' or 'edits'."),
    split_file: Path | None = typer.Option(
        None,
        help='Use this split instead: JSON {"val": [edit ids]} (e.g. the one featalign fitted '
        "its normalisers against); every other edit trains.",
    ),
) -> None:
    """Split a frame store by edit and source video, window both sides, write
    train_sequences.npz, val_sequences.npz, seqwin_build.json and seqwin_build.log."""
    t0 = time.perf_counter()
    log = _logger_or_exit(out / "seqwin_build.log")
    log.info(
        "seqwin %s build %s -> %s (length=%s overlap=%s val_fraction=%s seed=%s)",
        __version__,
        store,
        out,
        length,
        overlap,
        val_fraction,
        seed,
    )
    try:
        if split_by not in ("frames", "edits"):
            raise SeqwinError(f"must be 'frames' or 'edits', got {split_by!r}", where="--split-by")
        fs = FrameStore(store)
        make_windows([1], length, overlap)  # bad window parameters fail before any work
        split = _split(fs, split_file, val_fraction, seed, split_by)
        sides = {
            name: WindowDataset(fs, edits, length, overlap)
            for name, edits in (("train", split.train), ("val", split.val))
        }
        if len(sides["train"]) == 0:
            raise SeqwinError("no frames to window in the training edits", store)
        summary = {
            "tool": "seqwin build",
            "version": __version__,
            "store": str(store),
            "length": length,
            "overlap": overlap,
            "val_fraction": val_fraction,
            "seed": seed,
            "split_by": split_by,
            "split_file": None if split_file is None else str(split_file),
            "n_groups": split.n_groups,
        }
        summary |= _write_sides(sides, out, log)
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        _write_summary(out / "seqwin_build.json", summary)
    except SeqwinError as exc:
        log.error("%s", exc)
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    log.info("done in %.2f s", summary["seconds"])
    _print_summary({k: summary[k] for k in ("train", "val")})


def _split(fs: FrameStore, split_file: Path | None, val_fraction, seed, split_by: str):
    """The split file's sides, else a split by source video weighted as `split_by` says."""
    if split_file is not None:
        return _read_split(split_file, fs)
    return split_by_group(
        [e.edit_id for e in fs.edits],
        val_fraction,
        seed,
        groups=[e.source_video_name for e in fs.edits],
        weights=fs.n_frames if split_by == "frames" else None,
    )


def _write_sides(sides: dict, out: Path, log) -> dict:
    """Each side's windows to `<side>_sequences.npz`, under one progress display; their
    summaries by side."""
    written = {}
    with _progress() as progress:
        for name, ds in sides.items():
            target = out / f"{name}_sequences.npz"
            task = progress.add_task(f"{name}_sequences.npz", total=len(ds) * len(ds.keys))
            try:  # atomic: a failed write leaves no partial file
                save_sequences(ds, target, progress=lambda n, t=task: progress.advance(t, n))
            except MemoryError:
                one = ds.length * sum(ds.widths.values()) * 4 / 2**30
                raise SeqwinError(
                    f"not enough memory for windows of length {ds.length} "
                    f"({one:.1f} GiB per window)",
                    target,
                ) from None
            except OSError as exc:
                raise SeqwinError(f"cannot write: {exc.strerror or exc}", target) from None
            written[name] = {"file": target.name, **_dataset_summary(ds)}
            facts = (written[name][k] for k in ("edits", "frames", "windows"))
            log.info("%s: %d edits, %d frames, %d windows -> %s", name, *facts, target)
            if len(ds) == 0:
                log.warning("%s set is empty", name)
                console.print(f"[yellow]warning:[/] the {name} set is empty")
    return written


@app.command()
def inspect(
    path: Path = typer.Argument(..., help="A frame store folder or a *_sequences.npz file."),
    length: int = typer.Option(
        DEFAULT_LENGTH, help="Window length used to count a store's windows."
    ),
    overlap: int = typer.Option(
        DEFAULT_OVERLAP, help="Window overlap used to count a store's windows."
    ),
    summary: Path | None = typer.Option(
        None, help="Also write this JSON summary (and a .log beside it)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    verify: bool = typer.Option(
        False, "--verify", help="Read every array of a store and check it against its checksum."
    ),
) -> None:
    """Edits, frames, windows, padding share and array shapes of a store or a sequences file."""
    log = _logger_or_exit(summary.with_suffix(".log")) if summary else None
    try:
        if path.is_dir():
            fs = FrameStore(path)
            verified = fs.verify() if verify else None
            ds = WindowDataset(fs, None, length, overlap)
            info = {"kind": "frame store", "path": str(path), **_dataset_summary(ds)}
            info["shapes"] = {k: f"(n, {w})" for k, w in fs.widths.items()} | {"timestamps": "(n,)"}
            info["store_bytes"] = fs.nbytes
            if verified is not None:
                info["verified_files"] = verified
            if verified == 0:
                console.print("[yellow]warning:[/] the store records no checksums (built before "
                              "they were written): not verified")  # fmt: skip
        else:
            ss = load_sequences(path)
            info = {"kind": "sequences", "path": str(path), **_dataset_summary(ss)}
            info["shapes"] = {
                k: str(tuple(v.shape)) for k, v in ss.arrays.items() if not k.startswith("edits_")
            }
    except SeqwinError as exc:
        if log:
            log.error("%s", exc)
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    info["tool"] = "seqwin inspect"
    info["version"] = __version__
    if summary:
        try:
            _write_summary(summary, info)
        except SeqwinError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
            raise typer.Exit(2) from None
        assert log is not None
        log.info("inspected %s: %s", path, json.dumps(info))
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    _print_summary({info["kind"]: info})
    table = Table("array", "shape", title="shapes")
    for k, v in info["shapes"].items():
        table.add_row(k, v)
    Console().print(table)


def _logger_or_exit(log_path: Path):
    """The run's log file; a place it cannot go (under a file, unwritable) exits with 2."""
    try:
        if log_path.is_dir():
            raise IsADirectoryError(21, "is a folder")
        return file_logger(log_path)
    except OSError as exc:
        reason = escape(str(exc.strerror or exc))
        console.print(
            f"[red]error:[/] {escape(str(log_path))}: cannot write the log: {reason}",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(2) from None


def _write_summary(target: Path, obj: dict) -> None:
    try:
        if target.is_dir():
            raise IsADirectoryError(21, "is a folder")
        write_json_atomic(target, obj)
    except OSError as exc:
        raise SeqwinError(f"cannot write: {exc.strerror or exc}", target) from None


def _read_split(path: Path, fs: FrameStore) -> Split:
    """A given split, checked: known edit ids, and no source video on both sides."""
    try:
        given = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SplitError(f"unreadable split file ({exc})", path) from None
    val_ids = given.get("val") if isinstance(given, dict) else None
    if not isinstance(val_ids, list) or not all(isinstance(v, str) for v in val_ids):
        raise SplitError('expected {"val": [edit ids, ...]}', path, "val")
    ids = [e.edit_id for e in fs.edits]
    unknown = sorted(set(val_ids) - set(ids))
    if unknown:
        raise SplitError(f"edit ids not in the store: {unknown[:5]}", path, "val")
    is_val = np.array([i in set(val_ids) for i in ids])
    videos = [e.source_video_name for e in fs.edits]
    shared = {v for v, s in zip(videos, is_val, strict=True) if v and s} & {
        v for v, s in zip(videos, is_val, strict=True) if v and not s
    }
    if shared:
        raise SplitError(f"source videos on both sides: {sorted(shared)[:5]}", path, "val")
    return Split(np.flatnonzero(~is_val), np.flatnonzero(is_val), n_groups=len(set(videos)))


def _dataset_summary(ds) -> dict:
    n_windows = len(ds)
    real = int(ds.index.n_real.sum())
    table = ds.edit_table()
    return {
        "edits": int(table["edits_index"].size),
        "frames": int(table["edits_n_frames"].sum()),
        "windows": n_windows,
        "length": ds.length,
        "overlap": ds.overlap,
        "padding_share": round(1.0 - real / (n_windows * ds.length), 6) if n_windows else 0.0,
        "edit_ids": table["edits_id"].tolist(),
        "source_videos": sorted(set(table["edits_source_video"].tolist())),
        "widths": {k: int(w) for k, w in ds.widths.items()},
    }


def _print_summary(rows: dict[str, dict]) -> None:
    table = Table("set", "edits", "frames", "windows", "padding share", "length/overlap")
    for name, s in rows.items():
        table.add_row(
            name,
            str(s["edits"]),
            str(s["frames"]),
            str(s["windows"]),
            f"{100 * s['padding_share']:.2f}%",
            f"{s['length']}/{s['overlap']}",
        )
    Console().print(table)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
