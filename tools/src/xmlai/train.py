"""Train the multi-track model on a built set: setup -> Trainer.fit -> export the best weights.
Re-running into the same run folder resumes from its newest valid checkpoint."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from trainer.rundir import LOCK_FILE
from xmlai.config import RunConfig
from xmlai.runlog import (
    PipelineError,
    claim_output,
    folder_lock,
    log,
    logging_to,
    refuse_foreign,
    write_json,
)
from xmlai.sections import model_settings, trainer_settings

RUN_SUMMARY = "train.json"
INPUTS = "inputs.json"  # what a trained run needs to read a new recording like its training data
# what shows xmlai made a run folder without its marker: the trainer's own folder (before
# folders were marked), or the lock a command took on it before it wrote anything else
OLDER_RUN = ("trainer", LOCK_FILE)
STARTED = "started.json"  # the settings and build a run began with; a resume must match them
# what a resumed run may change: how long it goes on, where, and what it shows
RESUMABLE_CHANGES = (
    "train.epochs", "train.max_steps", "train.early_stopping_patience", "train.progress",
    "train.device", "train.num_workers", "train.log_every_steps", "train.tensorboard",
    "train.plots", "train.keep_last", "train.checkpoint_every_steps",
    "train.checkpoint_every_minutes",
)  # fmt: skip


# what predict and evaluate read from inputs.json, and the JSON type each must have
INPUTS_REQUIRED = {"fps": (int, float), "n_tracks": int, "modalities": list, "normalisation": dict}


def read_inputs(path: Path) -> dict:
    """A run's inputs.json, checked: a truncated or edited file is a PipelineError naming it
    and the key, not a KeyError deep inside prediction."""
    try:
        inputs = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise PipelineError(f"{path}: cannot read: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PipelineError(f"{path}: not valid JSON ({err}); train the run again") from None
    if not isinstance(inputs, dict):
        raise PipelineError(f"{path}: not a run's inputs (a JSON object); train the run again")
    for key, kind in INPUTS_REQUIRED.items():
        value = inputs.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise PipelineError(f"{path}: {key} is missing or not valid; train the run again")
    if not (inputs["fps"] > 0 and inputs["n_tracks"] >= 1) or not all(
        isinstance(m, str) for m in inputs["modalities"]
    ):
        raise PipelineError(f"{path}: fps, n_tracks or modalities out of range; train it again")
    for key in ("settings", "style", "editor"):
        if inputs.get(key) is not None and not isinstance(inputs[key], dict):
            raise PipelineError(f"{path}: {key} is not a JSON object; train the run again")
    return inputs


def split_indices(store, split: dict) -> tuple[list[int], list[int], list[int]]:
    """(train, validation, test) edit ids as store positions (edits the store could not hold
    are skipped; a split made before test edits were kept apart has none)."""
    index = {e.edit_id: n for n, e in enumerate(store.edits)}
    return tuple(
        [index[i] for i in split.get(part, []) if i in index] for part in ("train", "val", "test")
    )


def window_datasets(store, split: dict, config: RunConfig):
    from seqwin import WindowDataset

    train, val, _ = split_indices(store, split)  # the test edits are the report's alone
    if not train:
        raise PipelineError("the split has no training edit in the store")
    d = config.data
    return (
        WindowDataset(store, edits=train, length=d.window, overlap=d.overlap),
        WindowDataset(store, edits=val, length=d.window, overlap=d.overlap) if val else None,
    )


def model_config(store, config: RunConfig):
    """The [model] section with what the build decides: the modalities and their widths, the
    track count, and the longest window the model may be given."""
    from mttransformer import MultiTrackConfig

    return MultiTrackConfig(
        **model_settings(config.model),
        modalities={name: int(store.widths[name]) for name in store.modalities},
        n_tracks=store.n_tracks,
        layout_version=store.layout_version,
        max_frames=max(8192, int(max(store.n_frames)) + config.data.window),
    )


@contextlib.contextmanager
def _claimed_run(build_dir: Path, run_dir: Path):
    """(the store, how many arrays its checksums verified), with the run folder held for this
    command: a user's folder is refused before anything is read or written, a folder another
    command holds before anything is read, a corrupted store before anything is written."""
    from seqwin import FrameStore

    refuse_foreign(run_dir, OLDER_RUN)
    with contextlib.ExitStack() as held:
        existed = run_dir.exists()
        if existed:
            held.enter_context(folder_lock(run_dir))
        store = FrameStore(build_dir / "store")
        verified = store.verify()  # bytes changed behind an intact header would train on garbage
        claim_output(run_dir, "train", made_by_older_xmlai=OLDER_RUN)
        if not existed:
            held.enter_context(folder_lock(run_dir))
        yield store, verified


def train(build_dir, run_dir, config: RunConfig, progress: bool = True, train_edits=None) -> dict:
    """`train_edits`: train on these edit ids only (a subset of the split's training edits;
    `xmlai curve`); validation and test stay the split's."""
    import torch

    from mttransformer import BatchLoss, LossConfig, MultiTrackLoss, MultiTrackTransformer
    from trainer import TrainConfig, Trainer, load_model_weights

    build_dir, run_dir = Path(build_dir), Path(run_dir)
    if not (build_dir / "build.json").exists():
        raise PipelineError(f"{build_dir} is not a built set (run `xmlai build` first)")
    # held from before the first write (the log) to after the last: two commands training into
    # one folder would mix their checkpoints and leave config.json of one, trainer/ of the other
    with _claimed_run(build_dir, run_dir) as (store, verified), logging_to(run_dir / "train.log"):
        trainer_dir = run_dir / "trainer"
        resume = (trainer_dir / "checkpoints").exists()
        started = {
            "settings": resume_settings(config, train_edits),
            "build": build_identity(build_dir),
        }
        if resume:
            check_resume(run_dir, started)
        else:
            write_json(run_dir / STARTED, started)
        if verified:
            log.info("train: %d store arrays match their checksums", verified)
        else:
            log.info("train: %s records no checksums (an older build): not verified", store.path)
        split = json.loads((build_dir / "split.json").read_text())
        if train_edits is not None:
            split = {**split, "train": [e for e in split["train"] if e in set(train_edits)]}
        train_set, val_set = window_datasets(store, split, config)
        torch.manual_seed(config.train.seed)
        model = MultiTrackTransformer(model_config(store, config))
        t = config.train
        weights = LossConfig(
            active_class_weights=(1.0, t.active_on_weight), regression_weight=t.regression_weight
        )
        loss = BatchLoss(model.config, MultiTrackLoss(weights))
        settings = trainer_settings(config.train)
        settings.update(progress=progress and t.progress, run_dir=str(trainer_dir), resume=resume)
        log.info(
            "train: %d train / %d val windows, %d parameters",
            len(train_set),
            len(val_set) if val_set else 0,
            model.count_parameters(),
        )
        summary = Trainer(model, loss, train_set, val_set, TrainConfig.from_dict(settings)).fit()
        best = summary["best"]["checkpoint"] or summary["last_checkpoint"]
        if best:
            load_model_weights(model, best, ema=True)
        model.save_pretrained(run_dir / "model")
        result = {
            "build_dir": str(build_dir),
            "run_dir": str(run_dir),
            "model": str(run_dir / "model"),
            "parameters": model.count_parameters(),
            "train_windows": len(train_set),
            "val_windows": len(val_set) if val_set else 0,
            "trainer": summary,
            "fps": _typical_fps(store),
        }
        style, result["calibration"], result["placement"] = _learned_style(
            store, split, model, config
        )
        write_json(run_dir / INPUTS, _inputs(store, config, result["fps"], split, style))
        write_json(run_dir / "config.json", config.to_dict())
        write_json(run_dir / RUN_SUMMARY, result)
    return result


def resume_settings(config: RunConfig, train_edits=None) -> dict:
    """The "section.key" settings that decide what a run learns, and so what a checkpoint of
    it means: the model, the training, the windows (the build's own settings are in the
    build, which build_identity covers)."""
    sections = config.to_dict()
    flat = {f"{s}.{k}": v for s in ("model", "train") for k, v in sections[s].items()}
    flat.update({f"data.{k}": sections["data"][k] for k in ("window", "overlap")})
    flat["train_edits"] = sorted(train_edits) if train_edits is not None else None
    return {k: v for k, v in flat.items() if k not in RESUMABLE_CHANGES}


def build_identity(build_dir: Path) -> str:
    """A hash of the build's manifest and split: another build (even into the same folder)
    is another hash."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for name in ("store/manifest.json", "split.json"):
        digest.update((build_dir / name).read_bytes())
    return digest.hexdigest()


def check_resume(run_dir: Path, started: dict) -> None:
    """Refuse to resume a run with other settings or on another build than it began with."""
    path = run_dir / STARTED
    if not path.exists():
        log.warning("%s: resumed without a record of its settings (trained before %s)",
                    run_dir, STARTED)  # fmt: skip
        return
    before = json.loads(path.read_text(encoding="utf-8"))
    if before.get("build") != started["build"]:
        raise PipelineError(
            f"{run_dir} was started on another build; train into a new folder "
            "(or `xmlai run --overwrite`)"
        )
    old, new = before.get("settings", {}), json.loads(json.dumps(started["settings"]))
    # a key the run's record lacks is a setting newer than the run: it trained at its default
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    if changed:
        raise PipelineError(
            f"{run_dir} was started with other settings ({', '.join(changed)}); resume it with "
            "the settings it began with, or train into a new folder"
        )


def _learned_style(store, split: dict, model, config: RunConfig):
    """The editor's habits from the training edits, with each track's decision level, length
    slack and the lines between the places it puts an overlay chosen on the validation edits
    (none without them) -> (EditorStyle, calibration report, placement report)."""
    from xmlai.calibrate import calibrated_style, on_frames
    from xmlai.editor_style import learn_editor_style
    from xmlai.infer import predict_edits, prediction_windows

    train, val, _ = split_indices(store, split)
    style = learn_editor_style(_table_edits(store, train))
    if not val:
        return style, {}, {}
    d = config.data
    predictions = predict_edits(model, prediction_windows(store, val, d.window, d.overlap))
    edits = sorted(predictions)
    tables = [store.arrays(e)["tracks"] for e in edits]
    style, report = calibrated_style(
        style,
        [predictions[e].active_prob for e in edits],
        [on_frames(table) for table in tables],
        [float(store.edits[e].fps) for e in edits],
        config.smooth,
    )
    for track, facts in report.items():
        log.info("train: %s decision level %s, length slack %s on the validation edits (cut "
                 "F1 %.3f -> %.3f)", track, facts["level"] or "as configured",
                 facts["length_slack"] or "as configured", facts["cut_f1_configured"],
                 facts["cut_f1_calibrated"])  # fmt: skip
    regression = [predictions[e].regression for e in edits]
    style, placement = _placed_style(style, regression, tables, config)
    return style, report, placement


def _placed_style(style, regression: list, tables: list, config: RunConfig):
    """The style with the lines between the places the editor puts each overlay, chosen on
    the validation edits' (n, N, 7) regression and true tables -> (EditorStyle, report)."""
    from xmlai.calibrate import calibrated_placements

    style, placement = calibrated_placements(style, regression, tables, config.smooth)
    for track, names in placement.items():
        for name, facts in names.items():
            log.info("train: %s %s placed on the validation edits with lines %s (segment MAE "
                     "%.4f -> %.4f)", track, name, facts["cut_points"] or "none (snapped)",
                     facts["mae_snapped"], facts["mae_calibrated"])  # fmt: skip
    return style, placement


def _table_edits(store, edits: list[int]) -> list:
    import numpy as np

    return [
        (np.asarray(store.arrays(e)["tracks"], dtype=np.float64), float(store.edits[e].fps))
        for e in edits
    ]


def _inputs(store, config: RunConfig, fps: float, split: dict, style) -> dict:
    """What prediction needs to read a new recording as the training data was read."""
    from xmlai.config import trained_settings
    from xmlai.metrics import style_counts, style_summary
    from xmlai.smooth import TRACK_WIDTH

    edits = _table_edits(store, split_indices(store, split)[0])
    counts = [
        style_counts(tracks.reshape(len(tracks), -1, TRACK_WIDTH), fps) for tracks, fps in edits
    ]
    return {
        "format": "xmlai-run-inputs",
        "version": 1,
        "fps": fps,
        "n_tracks": store.n_tracks,
        "layout_version": store.layout_version,
        "view": config.data.view,
        "settings": trained_settings(config),
        "modalities": list(store.modalities),
        "modality_columns": store.manifest.get("modality_columns"),
        "normalisation": {m: v for m, v in (store.normalisation or {}).items() if m != "tracks"},
        "editor": style_summary(counts),
        "style": style.to_dict(),
    }


def _typical_fps(store) -> float:
    rates = [e.fps for e in store.edits if getattr(e, "fps", None)]
    return float(max(set(rates), key=rates.count)) if rates else 30.0
