"""XML folder + features folder -> track tables -> split -> frame store (with normalisers
fitted on the training edits only). Windows are views over the store, made at train time."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from trackcore import DEFAULT_N_TRACKS
from xmlai.config import RunConfig
from xmlai.features import feature_schemas, media_info
from xmlai.runlog import PipelineError, held_output, log, logging_to, write_json

BUILD_SUMMARY = "build.json"
# tracks converted when data.n_tracks is 0 (auto); the store keeps those the edits use
AUTO_TRACKS_CONVERTED = DEFAULT_N_TRACKS
TRACK_COLUMN = re.compile(r"t(\d{2})_")
MEDIA_FACTS = ("fps", "duration_s", "width", "height", "variable_frame_rate", "frame_count")


def build(xml_dir, features_dir, out_dir, config: RunConfig, overwrite=False, progress=True):
    """Returns the build summary (also written to OUT/build.json); OUT/build.log has details.

    Steps: convert the XML to per-edit track tables, keep the edits whose recording has
    features, split by recording, write the frame store (normalisers fitted on train only)."""
    from featalign import build_frame_store

    started = time.perf_counter()
    out = Path(out_dir)
    for what, path in (("xml folder", xml_dir), ("features folder", features_dir)):
        if not Path(path).is_dir():
            raise PipelineError(f"{what} {path} does not exist")
    data = config.data
    with held_output(out, overwrite, "build"), logging_to(out / "build.log"):
        log.info("build: %s + %s -> %s", xml_dir, features_dir, out)
        converted, tables = _track_tables(xml_dir, out, data, progress)
        features = feature_index(features_dir, config)
        usable, skipped = _with_features(tables, features)
        n_tracks = data.n_tracks or tracks_used(usable)
        usable = [_first_tracks(t, n_tracks) for t in usable]
        media = _media_facts(usable, features)
        split = _split(usable, data)
        write_json(out / "split.json", split)
        store = build_frame_store(
            pd.concat(usable, ignore_index=True),
            features,
            out / "store",
            schema=_schemas(features_dir),
            max_gap_s=data.max_gap_s,
            fit_on=split["train"],
            n_tracks=n_tracks,
            progress=progress,
        )
        summary = {
            "xml_dir": str(xml_dir),
            "features_dir": str(features_dir),
            "out": str(out),
            "view": data.view,
            "n_tracks": n_tracks,
            "edits_converted": converted.files_ok,
            "edits_failed": converted.failed,
            "edits_without_features": skipped,
            "edits_stored": len(store.edits),
            "store_failures": store.failures,
            "store_warnings": store.warnings,
            "frames": store.n_frames,
            "media": media,
            "modalities": store.modalities,
            "train_edits": len(split["train"]),
            "val_edits": len(split["val"]),
            "test_edits": len(split["test"]),
            "seconds": round(time.perf_counter() - started, 2),
        }
        write_json(out / "config.json", config.to_dict())
        write_json(out / BUILD_SUMMARY, summary)
        log.info("build done: %d edits, %d frames", len(store.edits), store.n_frames)
    return summary


def _track_tables(xml_dir, out: Path, data, progress: bool):
    """The batch conversion's result and each converted edit's table with rows."""
    from xml2csv.batch import ConvertOptions, convert_dir

    converted_width = data.n_tracks or AUTO_TRACKS_CONVERTED
    options = ConvertOptions(n_tracks=converted_width, source_view=data.view == "source")
    converted = convert_dir(
        xml_dir,
        out / "tables",
        workers=data.workers or None,
        fmt="parquet",
        per_edit=True,
        options=options,
        progress=progress,
    )
    tables = [pd.read_parquet(r.output) for r in converted.files if r.ok]
    tables = [t for t in tables if len(t)]
    if not tables:
        raise PipelineError(f"no usable edit in {xml_dir} (see {out / 'tables' / 'summary.json'})")
    return converted, tables


def _with_features(tables: list[pd.DataFrame], features) -> tuple[list[pd.DataFrame], list]:
    """The tables whose source video has feature files, and a record of each one skipped."""
    usable, skipped = [], []
    for table in tables:
        edit_id, video = str(table["edit_id"].iloc[0]), str(table["source_video_name"].iloc[0])
        if video and features.lookup(video):
            usable.append(table)
            continue
        reason = "no feature files for its source video"
        skipped.append({"edit_id": edit_id, "source_video": video, "reason": reason})
        log.warning("skipped %s: no feature files for source video %r", edit_id, video)
    if not usable:
        raise PipelineError(_no_features_message(skipped, features))
    return usable, skipped


def _split(tables: list[pd.DataFrame], data) -> dict:
    ids = [str(t["edit_id"].iloc[0]) for t in tables]
    videos = [str(t["source_video_name"].iloc[0]) for t in tables]
    return three_way_split(ids, videos, data.val_fraction, data.test_fraction, data.seed)


def _schemas(features_dir) -> dict:
    schemas = feature_schemas(features_dir)
    if schemas:
        log.info("feature schema from mediafeat: %s", sorted(schemas))
    return schemas


def feature_index(features_dir, config: RunConfig):
    """The features folder's index under the configured naming; a folder where no file
    follows it is an error that shows what it saw."""
    from featalign import FeatAlignError, discover_features

    index = discover_features(features_dir, config.data.feature_naming or None)
    try:
        index.require_files()
    except FeatAlignError as exc:
        raise PipelineError(f"{exc} (data.feature_naming)") from None
    return index


def _no_features_message(skipped: list[dict], features) -> str:
    videos = ", ".join(repr(s["source_video"]) for s in skipped[:3])
    stems = ", ".join(repr(k) for k in sorted(features.files)[:3])
    return (
        f"none of the edits' source videos has features in {features.root}: the edits show "
        f"{videos}, the feature files are named for {stems}"
    )


def tracks_used(tables: list[pd.DataFrame]) -> int:
    """The highest video track any edit shows (at least 1)."""
    from trackcore import count_tracks

    used = [
        k
        for t in tables
        for k in range(1, count_tracks(t.columns) + 1)
        if t[f"t{k:02d}_active"].any()
    ]
    return max(used, default=1)


def _first_tracks(table: pd.DataFrame, n_tracks: int) -> pd.DataFrame:
    above = [c for c in table.columns if (m := TRACK_COLUMN.match(c)) and int(m[1]) > n_tracks]
    return table.drop(columns=above)


def three_way_split(ids, videos, val_fraction: float, test_fraction: float, seed: int) -> dict:
    """{"train", "val", "test": [edit ids]}, every source video on one side: the test edits
    first (only the report reads them), then validation from the rest. The test side leaves
    at least two recordings behind when it can, so that validation is not empty."""
    from seqwin import split_by_group

    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:  # one table read twice: the edit would sit in the split twice
        raise PipelineError(f"edit ids {repeated[:5]} given more than once to the split")
    group = [v or f"\0{i}" for i, v in enumerate(videos)]  # no video: the edit is its own
    first = split_by_group(ids, test_fraction, seed, groups=group)
    rest, test = [int(i) for i in first.train], [int(i) for i in first.val]
    test_groups = sorted({group[i] for i in test}, key=lambda g: sum(x == g for x in group))
    if len({group[i] for i in rest}) < 2 and len(test_groups) >= 2 and val_fraction > 0:
        rest += [i for i in test if group[i] == test_groups[0]]
        test = [i for i in test if group[i] != test_groups[0]]
    share = val_fraction / (1 - test_fraction)
    second = split_by_group(
        [ids[i] for i in rest], share, seed + 1, groups=[group[i] for i in rest]
    )
    return {
        "train": sorted(ids[rest[i]] for i in second.train),
        "val": sorted(ids[rest[i]] for i in second.val),
        "test": sorted(ids[i] for i in test),
    }


def _media_facts(tables: list[pd.DataFrame], features) -> dict[str, dict]:
    """Per source video, what its media.json says (when mediafeat made the features); an edit
    that shows source time past the recording's end is reported, since those frames have no
    features."""
    facts = {}
    for table in tables:
        video = str(table["source_video_name"].iloc[0])
        info = media_info(features, video)
        if info is None:
            continue
        facts[video] = {k: getattr(info, k) for k in MEDIA_FACTS}
        shown = table["source_timestamp"].max()
        if info.fps and shown > info.duration_s + float(1 / info.frame_rate):
            log.warning(
                "%s: shows %s up to %.2f s, but the recording lasts %.2f s (media.json)",
                table["edit_id"].iloc[0], video, shown, info.duration_s,
            )  # fmt: skip
    return facts
