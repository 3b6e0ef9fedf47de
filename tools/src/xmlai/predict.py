"""A new recording's features -> per-frame predictions -> smoothed -> xmeml for Premiere.

Rows are the recording's own frames (the source view): the model says, frame by frame, what
every track shows. Frames where no track is on are left out of the sequence (the cut), so the
written edit keeps only what the model would keep, with its zooms, overlays and titles."""

from __future__ import annotations

import json
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from xmlai.config import RunConfig
from xmlai.editor_style import EditorStyle
from xmlai.features import extract_features, media_info, recording_schemas
from xmlai.runlog import PipelineError, log, logging_to, prepare_output, write_json
from xmlai.smooth import NEUTRAL, TRACK_WIDTH, SmoothingConfig
from xmlai.train import INPUTS

PREDICT_SUMMARY = "predict.json"


def fps_fraction(fps: float) -> Fraction:
    """29.97 -> 30000/1001; integer rates stay integers."""
    for base in (24, 30, 48, 60, 120):
        if abs(fps - base * 1000 / 1001) < 1e-3:
            return Fraction(base * 1000, 1001)
    return Fraction(round(fps * 1000), 1000).limit_denominator(1001)


def recording_table(video: str, n_frames: int, fps: Fraction, n_tracks: int) -> pd.DataFrame:
    """A track table for a recording with no edit yet: its frames, every track off."""
    from xml2csv import track_columns

    frames = np.arange(n_frames)
    seconds = frames * fps.denominator / fps.numerator
    columns = track_columns(n_tracks)
    body = np.tile(NEUTRAL, (n_frames, n_tracks))
    table = pd.DataFrame(body, columns=columns)
    meta = pd.DataFrame(
        {
            "edit_id": Path(video).stem,
            "source_video_name": video,
            "frame": frames,
            "timestamp": seconds,
            "source_timestamp": seconds,
        }
    )
    return pd.concat([meta, table], axis=1)


def sequence_from_source(table: pd.DataFrame) -> pd.DataFrame:
    """Keep the source frames where any track is on; renumber them as sequence frames."""
    active = table[[c for c in table.columns if c.endswith("_active")]].to_numpy().any(axis=1)
    kept = table.loc[active].reset_index(drop=True)
    step = table["timestamp"].iloc[1] if len(table) > 1 else 0.0
    kept["frame"] = np.arange(len(kept))
    kept["timestamp"] = kept["frame"] * step
    return kept


def predict(
    run_dir,
    features_dir,
    video: str,
    out_dir,
    config: RunConfig,
    fps: float | None = None,
    overwrite: bool = False,
) -> dict:
    from featalign import Normaliser, build_frame_store
    from mttransformer import MultiTrackTransformer
    from seqwin import FrameStore, WindowDataset
    from xml2csv import write_xmeml
    from xmlai.infer import predict_edits

    started = time.perf_counter()
    run_dir, out = Path(run_dir), Path(out_dir)
    if not (run_dir / INPUTS).exists():
        raise PipelineError(f"{run_dir} holds no trained model (run `xmlai train` first)")
    inputs = json.loads((run_dir / INPUTS).read_text())
    prepare_output(out, overwrite, "predict")
    with logging_to(out / "predict.log"):
        if inputs.get("view") == "sequence":
            # such a model learned edit frames, whose cuts it cannot see in a raw recording
            log.warning(
                "%s was trained on sequence frames (data.view = 'sequence'); it predicts "
                "overlays and parameters here as if nothing were cut",
                run_dir,
            )
        video, recording, index = _features_of(video, features_dir, config)
        files = index.lookup(video)
        if not files:
            raise PipelineError(f"no feature files for {video!r} in {features_dir}")
        info = media_info(index, video)
        rate, rate_from = _frame_rate(fps, info, inputs)
        n_frames = _frame_count(info, rate, files)
        table = recording_table(video, n_frames, rate, inputs["n_tracks"])
        normalisers = {
            m: Normaliser.from_dict(d)
            for m, d in inputs["normalisation"].items()
            if m in inputs["modalities"]
        }
        build_frame_store(
            table,
            index,
            out / "store",
            modalities=inputs["modalities"],
            schema=recording_schemas(index, video),  # this recording's, not the folder's
            normalisers=normalisers,
            n_tracks=inputs["n_tracks"],
            max_gap_s=config.data.max_gap_s,
        )
        store = FrameStore(out / "store")
        model = MultiTrackTransformer.from_pretrained(run_dir / "model")
        dataset = WindowDataset(store, length=config.data.window, overlap=config.data.overlap)
        frames = predict_edits(model, dataset)[0]
        style = EditorStyle.from_dict(inputs.get("style"), inputs["n_tracks"])
        smoothed = frames.smoothed(SmoothingConfig(**vars(config.smooth)), style, float(rate))
        source_view = table.copy()
        source_view.iloc[:, 5:] = smoothed
        for col in source_view.columns[5:]:
            if col.endswith(("_active", "_asset")):
                source_view[col] = source_view[col].astype(np.int8)
        from xml2csv.io import write_table

        write_table(source_view, out / "frames.csv")
        sequence = sequence_from_source(source_view)
        xml_path = out / f"{Path(video).stem}.xml"
        write_xmeml(
            sequence, xml_path, fps=rate, sequence_name=f"{Path(video).stem} (xmlai)",
            source_duration_frames=n_frames, **_media_args(recording, info),
        )  # fmt: skip
        from xmlai.metrics import style_counts, style_summary

        blocks = smoothed.reshape(n_frames, -1, TRACK_WIDTH)
        stats = style_summary([style_counts(blocks, float(rate))])
        summary = {
            "video": video,
            "fps": str(rate),
            "fps_from": rate_from,
            "trained_view": inputs.get("view", "source"),
            "source_frames": n_frames,
            "sequence_frames": len(sequence),
            "xmeml": str(xml_path),
            "frames_csv": str(out / "frames.csv"),
            "active_frames_per_track": {
                f"V{k + 1}": int(blocks[:, k, 0].sum())
                for k in range(blocks.shape[1])
                if blocks[:, k, 0].any()
            },
            "keyframes_per_min": stats["keyframes_per_min"] or 0.0,
            "keyframes_per_min_editor": inputs.get("editor", {}).get("keyframes_per_min"),
            "scale_jitter": stats["scale_jitter"] or 0.0,
            "scale_jitter_editor": inputs.get("editor", {}).get("scale_jitter"),
            "seconds": round(time.perf_counter() - started, 2),
        }
        write_json(out / PREDICT_SUMMARY, summary)
        log.info(
            "predict: %s -> %s (%d of %d frames kept)", video, xml_path, len(sequence), n_frames
        )
    return summary


def _features_of(video: str, features_dir, config: RunConfig):
    """(the recording's name, its path or None, the features index). Given the recording
    itself, its features are extracted first unless they are current."""
    from featalign import discover_features
    from mediafeat import is_current

    path = Path(video)
    if path.is_file():
        if not is_current(path, features_dir, config.features):
            log.info("predict: extracting features of %s into %s", path, features_dir)
            summary = extract_features([path], features_dir, config)
            failed = [f["error"] for f in summary["files"] if f["status"] == "failed"]
            if failed:
                raise PipelineError(failed[0])
        return path.name, path, discover_features(features_dir)
    return video, None, discover_features(features_dir)


def _media_args(recording: Path | None, info) -> dict:
    """The written file points at the recording and declares its real picture size."""
    args = {}
    if recording is not None:
        args["source_pathurl"] = recording.resolve().as_uri()
    if info is not None and info.display_width and info.display_height:
        args["width"], args["height"] = info.display_width, info.display_height
    return args


def _frame_rate(fps: float | None, info, inputs: dict) -> tuple[Fraction, str]:
    """The recording's frame rate: --fps, else its media.json, else (a guess, logged) the
    training edits' rate."""
    if fps:
        return fps_fraction(fps), "option"
    if info is not None and info.fps:
        return Fraction(info.fps), "media.json"
    log.warning("no media.json and no --fps: assuming the training edits' %s fps", inputs["fps"])
    return fps_fraction(inputs["fps"]), "training edits (guessed)"


def _frame_count(info, rate: Fraction, files: dict) -> int:
    """Frames of the recording: decoded count from media.json, else up to the last feature."""
    from featalign import load_features

    if info is not None and info.frame_count and Fraction(info.fps or 0) == rate:
        return int(info.frame_count)
    ends = [load_features(path).times[-1] for path in files.values()]
    return int(max(ends) * rate) + 1
