"""A new recording's features -> per-frame predictions -> smoothed -> xmeml for Premiere.

Rows are the recording's own frames (the source view): the model says, frame by frame, what
every track shows. Frames where no track is on are left out of the sequence (the cut), so the
written edit keeps only what the model would keep, with its zooms, overlays and titles."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import track

from trackcore import ACTIVE, ASSET, LayoutError, check_layout
from xmlai.config import TRAINED_SETTINGS, RunConfig, from_dict, trained_settings
from xmlai.editor_style import EditorStyle
from xmlai.features import extract_features, media_info, recording_schemas
from xmlai.infer import split_outputs
from xmlai.review import most_doubtful, to_sequence_markers, track_doubts
from xmlai.runlog import PipelineError, held_output, log, logging_to, write_json
from xmlai.smooth import NEUTRAL, TRACK_WIDTH, SmoothingConfig, smooth_track, thresholds
from xmlai.stream import FeatureSource, recording_frames, stream_outputs
from xmlai.train import INPUTS, read_inputs

PREDICT_SUMMARY = "predict.json"
FRAMES_FILE = "frames.csv"  # the source view: every frame of the recording, every track
FRAMES_SLAB = 50_000  # rows written at a time
FPS_RANGE = (1.0, 1000.0)  # frames a second that a recording may have


def fps_fraction(fps: float) -> Fraction:
    """29.97 -> 30000/1001; integer rates stay integers."""
    for base in (24, 30, 48, 60, 120):
        if abs(fps - base * 1000 / 1001) < 1e-3:
            return Fraction(base * 1000, 1001)
    return Fraction(round(fps * 1000), 1000).limit_denominator(1001)


@dataclass
class TrainedRun:
    """What a trained run folder holds for prediction."""

    path: Path
    inputs: dict
    settings: dict  # TRAINED_SETTINGS -> value, as trained (or as overridden, logged)
    overrides: dict  # key -> [trained value, the value used]
    model: object = None

    @classmethod
    def load(cls, run_dir, config: RunConfig, explicit: Iterable[str] = ()) -> TrainedRun:
        from mttransformer import MultiTrackTransformer

        run_dir = Path(run_dir)
        if not (run_dir / INPUTS).exists():
            raise PipelineError(f"{run_dir} holds no trained model (run `xmlai train` first)")
        inputs = read_inputs(run_dir / INPUTS)
        try:  # a run trained before inputs.json recorded it read layout 1
            check_layout(inputs.get("layout_version", 1), str(run_dir / INPUTS))
        except LayoutError as err:
            raise PipelineError(str(err)) from None
        trained = inputs.get("settings") or trained_settings(_run_config(run_dir) or config)
        _check_trained(trained, run_dir / INPUTS)
        given = trained_settings(config)
        settings, overrides = dict(trained), {}
        for key in TRAINED_SETTINGS:
            if key in explicit and given[key] != trained.get(key):
                overrides[key] = [trained.get(key), given[key]]
                settings[key] = given[key]
                log.warning(
                    "predict: %s = %r overrides the trained %r", key, given[key], trained.get(key)
                )
        for key in TRAINED_SETTINGS:
            settings.setdefault(key, given[key])
        model = MultiTrackTransformer.from_pretrained(run_dir / "model")
        return cls(run_dir, inputs, settings, overrides, model)

    def smoothing(self) -> SmoothingConfig:
        return SmoothingConfig(**{
            f.name: self.settings[f"smooth.{f.name}"] for f in fields(SmoothingConfig)
        })  # fmt: skip


def _check_trained(trained: dict, source: Path) -> None:
    """The stored settings as a config would check them (a ConfigError naming the key)."""
    nested: dict = {}
    for key in TRAINED_SETTINGS:
        if key in trained:
            section, name = key.split(".")
            nested.setdefault(section, {})[name] = trained[key]
    from_dict(nested, source=str(source))


def _run_config(run_dir: Path) -> dict | None:
    """A run trained before inputs.json stored its settings still has its config.json."""
    path = run_dir / "config.json"
    return json.loads(path.read_text()) if path.exists() else None


def predict(
    run_dir,
    features_dir,
    video: str,
    out_dir,
    config: RunConfig,
    fps: float | None = None,
    overwrite: bool = False,
    explicit: Iterable[str] = (),
    markers: bool = True,
) -> dict:
    """One recording (a file, or a name in `features_dir`) -> one edit in `out_dir`; a folder of
    recordings -> one edit each in `out_dir/<stem>/` and one summary. `explicit`: the settings
    keys the user gave (only those may override the trained run's)."""
    out = Path(out_dir)
    with held_output(out, overwrite, "predict"), logging_to(out / "predict.log"):
        run = TrainedRun.load(run_dir, config, explicit)
        if Path(video).is_dir():
            return _predict_folder(run, features_dir, Path(video), out, config, fps, markers)
        return _predict_one(run, features_dir, video, out, config, fps, markers)


def _predict_folder(run, features_dir, folder: Path, out: Path, config, fps, markers) -> dict:
    from mediafeat import find_recordings

    started = time.perf_counter()
    recordings, refused = find_recordings([folder], include_audio=False)
    if not recordings and not refused:
        raise PipelineError(f"{folder} holds no recordings")
    results = [{"video": r.video, "status": "failed", "error": r.error} for r in refused]
    for recording in track(recordings, description="predict", disable=not recordings):
        try:
            one = _predict_one(
                run, features_dir, str(recording), out / recording.stem, config, fps, markers
            )
            results.append({"status": "ok", **one})
        except (PipelineError, ValueError, OSError) as error:
            log.error("predict: %s failed: %s", recording, error)
            results.append({"video": str(recording), "status": "failed", "error": str(error)})
    summary = {
        "folder": str(folder),
        "ok": sum(r["status"] == "ok" for r in results),
        "failed": sum(r["status"] == "failed" for r in results),
        "recordings": results,
        "overrides": run.overrides,
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(out / PREDICT_SUMMARY, summary)
    return summary


@dataclass
class _Recording:
    """A recording to predict: its features opened, its rate and length decided."""

    video: str
    path: Path | None  # the recording itself, when given as a file
    info: object  # its media.json (mediafeat.MediaInfo) or None
    rate: Fraction
    rate_from: str
    tables: dict  # {modality: FeatureSource}
    missing: list[str]  # modalities the model reads that it lacks (masked, as in training)
    n_frames: int


@dataclass
class _PredictedEdit:
    blocks: dict  # {track: (n_frames, 9) float32} for the tracks ever on
    kept: np.ndarray  # (n_frames,) bool: some track is on
    review: list  # the sequence markers at the most doubtful decisions


def _predict_one(
    run: TrainedRun, features_dir, video: str, out: Path, config, fps, markers
) -> dict:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    _warn_if_trained_on_sequences(run)
    recording = _open_recording(run, features_dir, video, config, fps)
    edit = _predicted_edit(run, recording, out, markers)
    frames_path = out / FRAMES_FILE
    n_tracks = run.inputs["n_tracks"]
    _write_frames(
        frames_path, recording.video, recording.n_frames, recording.rate, n_tracks, edit.blocks
    )
    source = _source_media(recording.path, recording.info)
    xml_path = _write_edit(recording, edit, source, out)
    summary = {
        **_prediction_summary(run, recording, edit, source),
        "xmeml": str(xml_path),
        "frames": str(frames_path),
        **written_style(xml_path),
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(out / PREDICT_SUMMARY, summary)
    kept, n_frames = int(edit.kept.sum()), recording.n_frames
    log.info("predict: %s -> %s (%d of %d frames kept)", recording.video, xml_path, kept, n_frames)
    return summary


def _warn_if_trained_on_sequences(run: TrainedRun) -> None:
    if run.inputs.get("view") == "sequence":
        # such a model learned edit frames, whose cuts it cannot see in a raw recording
        log.warning(
            "%s was trained on sequence frames (data.view = 'sequence'); it predicts overlays "
            "and parameters here as if nothing were cut", run.path,
        )  # fmt: skip


def _open_recording(run: TrainedRun, features_dir, video: str, config, fps) -> _Recording:
    video, path, index = _features_of(video, features_dir, config)
    files = index.lookup(video)
    if not files:
        raise PipelineError(f"no feature files for {video!r} in {features_dir}")
    info = media_info(index, video)
    rate, rate_from = _frame_rate(fps, info, run.inputs)
    tables = _feature_tables(index, video, files, run.inputs["modalities"])
    missing = [m for m in run.inputs["modalities"] if m not in tables]
    if missing:
        missing_names = " or ".join(missing)
        log.warning(
            "predict: %s has no %s features; the model reads them as missing", video, missing_names
        )
    n_frames = _frame_count(info, rate, tables)
    return _Recording(video, path, info, rate, rate_from, tables, missing, n_frames)


def _predicted_edit(run: TrainedRun, recording: _Recording, out: Path, markers: bool):
    """The model's outputs, streamed through a temporary file, smoothed track by track."""
    outputs = stream_outputs(
        run, recording.tables, recording.video, recording.n_frames, recording.rate, out
    )
    recording.tables = {}  # read to the end: the files close before smoothing needs the memory
    try:
        blocks, doubts = _smoothed_tracks(run, outputs, float(recording.rate), markers)
    finally:
        outputs.path.unlink()
    kept = np.zeros(recording.n_frames, dtype=bool)
    for block in blocks.values():
        kept |= block[:, ACTIVE] > 0.5
    review = to_sequence_markers(most_doubtful(doubts), kept) if markers else []
    return _PredictedEdit(blocks, kept, review)


def _write_edit(recording: _Recording, edit: _PredictedEdit, source, out: Path) -> Path:
    from xml2csv import write_xmeml

    stem = Path(recording.video).stem
    xml_path = out / f"{stem}.xml"
    write_xmeml(
        _sequence_table(recording.video, recording.rate, edit.kept, edit.blocks),
        xml_path,
        fps=recording.rate,
        sequence_name=f"{stem} (xmlai)",
        source=source,
        source_duration_frames=recording.n_frames,
        markers=edit.review,
    )
    return xml_path


def _prediction_summary(run, recording: _Recording, edit: _PredictedEdit, source) -> dict:
    editor = run.inputs.get("editor", {})
    return {
        "video": recording.video,
        "fps": str(recording.rate),
        "fps_from": recording.rate_from,
        "trained_view": run.inputs.get("view", "source"),
        "settings": run.settings,
        "overrides": run.overrides,
        "source_frames": recording.n_frames,
        "sequence_frames": int(edit.kept.sum()),
        "source_path": source.path,
        "audio": _audio_note(source),
        "modalities_missing": recording.missing,  # masked (zeros, mask 0), as in training
        "markers": len(edit.review),
        "active_frames_per_track": {
            f"V{k + 1}": int(block[:, ACTIVE].sum()) for k, block in sorted(edit.blocks.items())
        },
        "keyframes_per_min_editor": editor.get("keyframes_per_min"),
        "scale_jitter_editor": editor.get("scale_jitter"),
    }


def _feature_tables(index, video: str, files: dict, modalities: list[str]) -> dict:
    """The recording's feature files, opened once (the chunks read them by time)."""
    schemas = recording_schemas(index, video)  # this recording's, not the folder's
    return {m: FeatureSource(files[m], schemas.get(m)) for m in modalities if m in files}


def _smoothed_tracks(run: TrainedRun, outputs, fps: float, markers: bool):
    """One track at a time: {track: (n, 9) float32} for the tracks that are ever on, and the
    decisions worth a review marker."""
    smoothing, style = run.smoothing(), _style(run.inputs)
    blocks, doubts = {}, []
    for k in range(outputs.n_tracks):
        on, assets, params = split_outputs(outputs.read(k), run.model.config.n_assets)
        habits = style.tracks[k] if k < len(style.tracks) else None
        block = smooth_track(on, assets, params, smoothing, habits, fps)
        if block[:, ACTIVE].any():
            blocks[k] = block.astype(np.float32)
        if markers:
            level = thresholds(smoothing, habits)[2]
            doubts += track_doubts(on, assets, block, k, level, fps)
    return blocks, doubts


def _write_frames(path: Path, video: str, n_frames: int, rate, n_tracks: int, blocks) -> None:
    """The source view, every frame of the recording, written a slab of rows at a time."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from trackcore.atomic import atomic_path

    with (
        atomic_path(path) as tmp,
        pacsv.CSVWriter(tmp, _arrow(_slab(video, np.arange(0), rate, blocks, n_tracks))) as out,
    ):
        for first in range(0, n_frames, FRAMES_SLAB):
            rows = np.arange(first, min(n_frames, first + FRAMES_SLAB))
            slab = _slab(video, rows, rate, blocks, n_tracks)
            out.write_table(pa.Table.from_pandas(slab, preserve_index=False))


def _arrow(frame: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False).schema


def _slab(video: str, rows: np.ndarray, rate, blocks: dict, n_tracks: int) -> pd.DataFrame:
    """Frames `rows` of the source view: their times and every track, neutral where off."""
    from xml2csv import track_columns

    columns = recording_frames(video, rows, rate)
    for k, name in enumerate(track_columns(n_tracks)):
        track, field = divmod(k, TRACK_WIDTH)
        block = blocks.get(track)
        value = block[rows, field] if block is not None else np.full(len(rows), NEUTRAL[field])
        columns[name] = value.astype(np.int8 if field in (ACTIVE, ASSET) else np.float32)
    return pd.DataFrame(columns)


def _sequence_table(video: str, rate, kept: np.ndarray, blocks: dict) -> pd.DataFrame:
    """The kept frames, renumbered as the edit's frames; tracks up to the last one used."""
    rows = np.flatnonzero(kept)
    table = _slab(video, rows, rate, blocks, max(blocks) + 1 if blocks else 1)
    table["frame"] = np.arange(len(rows))
    table["timestamp"] = table["frame"] * rate.denominator / rate.numerator
    return table


def _style(inputs: dict) -> EditorStyle:
    return EditorStyle.from_dict(inputs.get("style"), inputs["n_tracks"])


def written_style(xml_path: Path) -> dict:
    """Keyframes per minute and scale jitter of the edit as written: the file's own keyframes
    (Basic Motion scale and centre, crop), per minute of frames where any track is on."""
    from xml2csv import read_xmeml, sample, track_columns
    from xmlai.metrics import style_counts, style_summary

    timeline = read_xmeml(xml_path)
    fps = float(timeline.sequence.fps)
    n_tracks = len(timeline.sequence.tracks) or 1
    table = sample(timeline, n_tracks=n_tracks)
    blocks = table[track_columns(n_tracks)].to_numpy(dtype=np.float64)
    counted = style_counts(blocks.reshape(len(table), n_tracks, TRACK_WIDTH), fps)
    keyframes = sum(
        len(next(iter(parameter.keyframes.values()), []))
        for track in timeline.sequence.tracks
        for item in track.items
        for filt in item.filters
        for parameter in filt.parameters.values()
    )
    minutes = counted["minutes"]
    return {
        "keyframes_written": keyframes,
        "keyframes_per_min": round(keyframes / minutes, 3) if minutes else 0.0,
        "scale_jitter": style_summary([counted])["scale_jitter"] or 0.0,
    }


def _audio_note(source) -> str:
    if source.audio_channels == 0:
        return "none: the recording has no audio stream"
    return "stereo (A1/A2)" if source.audio_channels == 2 else f"{source.audio_channels} channel(s)"


def _features_of(video: str, features_dir, config: RunConfig):
    """(the recording's name, its path or None, the features index). Given the recording
    itself, its features are extracted first unless they are current."""
    from mediafeat import is_current
    from xmlai.build import feature_index

    path = Path(video)
    if path.is_file():
        if not is_current(path, features_dir, config.features):
            log.info("predict: extracting features of %s into %s", path, features_dir)
            summary = extract_features([path], features_dir, config)
            failed = [f["error"] for f in summary["files"] if f["status"] == "failed"]
            if failed:
                raise PipelineError(failed[0])
        return path.name, path, feature_index(features_dir, config)
    return video, None, feature_index(features_dir, config)


def _source_media(recording: Path | None, info):
    """The written file points at the recording and declares its size, length and sound:
    from its media.json when there is one; the path given on the command line wins."""
    from xml2csv import SourceMedia

    media = SourceMedia.from_dict(asdict(info)) if info is not None else SourceMedia()
    if recording is not None:
        media = replace(media, path=str(recording.resolve()))
    if media.path and not Path(media.path).exists():
        log.warning(
            "predict: %s does not exist here; written anyway (Premiere can relink)", media.path
        )
    return media


def _frame_rate(fps: float | None, info, inputs: dict) -> tuple[Fraction, str]:
    """The recording's frame rate: --fps, else its media.json, else (a guess, logged) the
    training edits' rate."""
    if fps is not None:
        return _usable_rate(fps, "--fps"), "option"
    if info is not None and info.fps:
        return _usable_rate(info.fps, "media.json fps", exact=True), "media.json"
    log.warning("no media.json and no --fps: assuming the training edits' %s fps", inputs["fps"])
    return _usable_rate(inputs["fps"], "inputs.json fps"), "training edits (guessed)"


def _usable_rate(fps, where: str, exact: bool = False) -> Fraction:
    """A frame rate from FPS_RANGE (xmeml's timebase is a whole number of frames a second; far
    above it, one frame's outputs outgrow memory), else a PipelineError naming where it came
    from."""
    lowest, highest = FPS_RANGE
    try:  # media.json writes the exact rate as a fraction: "30000/1001"
        value = Fraction(fps) if exact else float(fps)
        ok = lowest <= value <= highest
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        ok = False
    if not ok:
        raise PipelineError(
            f"{where} must be a frame rate from {lowest:g} to {highest:g}, got {fps}"
        )
    return value if exact else fps_fraction(value)


def _frame_count(info, rate: Fraction, sources: dict) -> int:
    """Frames of the recording: decoded count from media.json, else up to the last feature."""
    if info is not None and info.frame_count and Fraction(info.fps or 0) == rate:
        return int(info.frame_count)
    if not sources:
        raise PipelineError("no feature file of a modality the model reads, and no media.json")
    last = max(source.last_time for source in sources.values())
    if last < 0:  # every feature before the recording's start: no frame to predict
        names = ", ".join(source.path for source in sources.values())
        raise PipelineError(f"{names}: every feature time is before 0 s (last {last:g} s)")
    return int(last * rate) + 1
