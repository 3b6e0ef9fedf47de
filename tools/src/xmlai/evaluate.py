"""Metrics on held-out edits for the model and, in the same table, the training-set baselines;
report.md, metrics.json and the pictures a person looks at first."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from trackcore import ACTIVE
from xmlai.config import RunConfig
from xmlai.editor_style import EditorStyle, TrackStyle
from xmlai.metrics import baseline_predictor, evaluate_roles
from xmlai.metrics import evaluate as score
from xmlai.runlog import PipelineError, held_claim, log, logging_to, write_json, write_text
from xmlai.train import INPUTS, read_inputs

V1_ACTIVE = ACTIVE  # t01_active: the base track's column in a (n, N*9) track array

OLDER_REPORT = ("evaluate.log",)  # what shows a report folder made before xmlai marked folders


def evaluate(build_dir, run_dir, out_dir, config: RunConfig, max_pictures: int = 3) -> dict:
    from mttransformer import MultiTrackTransformer
    from seqwin import FrameStore
    from xmlai.report import plot_timeline, plot_training, render_report
    from xmlai.train import split_indices

    started = time.perf_counter()
    build_dir, run_dir, out = Path(build_dir), Path(run_dir), Path(out_dir)
    if not (run_dir / "model" / "config.json").exists():
        raise PipelineError(f"{run_dir} holds no trained model (run `xmlai train` first)")
    with held_claim(out, "evaluate", OLDER_REPORT), logging_to(out / "evaluate.log"):
        store = FrameStore(build_dir / "store")
        split = json.loads((build_dir / "split.json").read_text())
        train, val, test = split_indices(store, split)
        held_out, evaluated_on = (test, "test") if test else (val, "validation")
        if not test:
            log.warning("%s has no test edits (built before test splits, or data.test_fraction "
                        "is 0): the report is on the validation edits", build_dir)  # fmt: skip
        if not held_out:
            raise PipelineError("no held-out edit to evaluate (data.test_fraction is 0?)")
        model = MultiTrackTransformer.from_pretrained(run_dir / "model")
        from xmlai.infer import predict_edits, prediction_windows

        d = config.data
        predictions = predict_edits(model, prediction_windows(store, held_out, d.window, d.overlap))
        smoothing = config.smooth
        style = editor_style(run_dir, store.n_tracks)
        truth = {e: np.asarray(store.arrays(e)["tracks"], dtype=np.float64) for e in held_out}
        fps = {e: float(store.edits[e].fps) for e in held_out}
        preds = {e: predictions[e].smoothed(smoothing, style, fps[e]) for e in held_out}
        n_tracks = store.n_tracks
        baseline = baseline_predictor(
            [np.asarray(store.arrays(e)["tracks"]) for e in train], n_tracks
        )
        model_pairs = [(truth[e], preds[e], fps[e]) for e in held_out]
        base_pairs = [(truth[e], baseline(len(truth[e])), fps[e]) for e in held_out]
        periods = sample_periods(build_dir / "store", store, held_out)
        model_scores = score(model_pairs, n_tracks, periods)
        base_scores = score(base_pairs, n_tracks, periods)
        used = [k for k in model_scores if model_scores[k]["frames_active_truth"] > 0]
        cutter = _dead_air_scores(store, train, held_out, truth, fps, periods)
        boosted = _boosted_scores(store, (train, val, held_out), truth, periods, smoothing, style)
        model_roles, base_roles = evaluate_roles(model_pairs), evaluate_roles(base_pairs)
        empty = {"frames_truth": 0, "frame_f1": 0.0, "boundary_f1_2frames": 0.0}
        metrics = {
            "held_out_edits": [store.edits[e].edit_id for e in held_out],
            "evaluated_on": evaluated_on,
            "tracks": {k: {"model": model_scores[k], "baseline": base_scores[k]} for k in used},
            "dead_air_cutter": cutter["fitted"] if cutter else None,
            "roles": {
                role: {"model": model_roles[role], "baseline": base_roles.get(role, empty)}
                for role in model_roles
            },
            "seconds": round(time.perf_counter() - started, 2),
        }
        if cutter and "V1" in metrics["tracks"]:
            metrics["tracks"]["V1"]["dead_air_cutter"] = cutter["V1"]
        metrics["boosted_baseline"] = "fitted" if boosted else "not installed (xmlai[baselines])"
        for track in used if boosted else ():
            metrics["tracks"][track]["boosted"] = boosted[track]
        write_json(out / "metrics.json", metrics)
        pictures = []
        trainer_dir = run_dir / "trainer"
        if plot_training(trainer_dir, out / "training_curves.png"):
            pictures.append("training_curves.png")
        for e in held_out[:max_pictures]:
            name = f"timeline_{store.edits[e].key}.png"
            if plot_timeline(truth[e], preds[e], fps[e], store.edits[e].edit_id, out / name):
                pictures.append(name)
        write_text(out / "report.md", render_report(metrics, pictures))
        log.info("evaluate: %d held-out edits -> %s", len(held_out), out)
    return metrics


def sample_periods(store_dir: Path, store, edits: list[int]) -> list[int | None]:
    """Per edit, the sample period of its coarsest modality in frames (from featalign's
    alignment report): a cut a 5 Hz feature drives cannot be placed closer than that, so the
    report shows boundary F1 within it beside the ±2 frame column."""
    path = Path(store_dir) / "alignment.json"
    reports = json.loads(path.read_text()) if path.exists() else {}
    periods = []
    for e in edits:
        edit = store.edits[e]
        rates = []
        for facts in reports.get(edit.key, {}).values():
            first, last = facts.get("time_range_s", (0, 0))
            if facts.get("n_samples", 0) > 1 and last > first:
                rates.append((facts["n_samples"] - 1) / (last - first))
        periods.append(int(np.ceil(float(edit.fps) / min(rates))) if rates else None)
    return periods


def _dead_air_scores(store, train, held_out, truth, fps, periods) -> dict | None:
    """The rule-of-thumb cutter on the base track: fitted on the training edits (its column
    among every modality's), scored on the held-out ones like the model (None without
    features or a cut to learn from)."""
    from dataclasses import asdict

    from xmlai.deadair import cutter_tracks, fit_dead_air_cutter

    if not store.modalities:
        return None
    # every modality's columns: a corpus names its loudness column and modality as it likes
    audio = {
        e: np.concatenate(
            [np.asarray(store.arrays(e)[m], dtype=np.float64) for m in store.modalities], axis=1
        )
        for e in [*train, *held_out]
    }
    kept = [np.asarray(store.arrays(e)["tracks"])[:, V1_ACTIVE] > 0.5 for e in train]
    cutter = fit_dead_air_cutter([audio[e] for e in train], kept,
                                 [float(store.edits[e].fps) for e in train])  # fmt: skip
    if cutter is None:
        return None
    n_tracks = store.n_tracks
    pairs = [
        (truth[e], cutter_tracks(cutter, audio[e], fps[e], n_tracks), fps[e]) for e in held_out
    ]
    log.info("evaluate: dead-air cutter fitted on the training edits: %s", cutter)
    return {"fitted": asdict(cutter), "V1": score(pairs, n_tracks, periods)["V1"]}


def _boosted_scores(store, parts, truth, periods, smoothing, style):
    """The gradient-boosted per-frame baseline, smoothed like the model, its decision levels
    chosen on the validation edits as the model's were (None when LightGBM, the optional
    `[baselines]` extra, is not installed)."""
    from dataclasses import replace

    from xmlai import boosted
    from xmlai.calibrate import calibrated_style, on_frames

    if not boosted.available():
        log.info("evaluate: no gradient-boosted baseline (pip install 'xmlai[baselines]')")
        return None
    started = time.perf_counter()
    train, val, held_out = parts
    model = boosted.BoostedBaseline(store, train)
    # the model's levels and placement lines read the model's outputs, not the baseline's
    unplaced = TrackStyle().cut_points
    style = EditorStyle(
        [
            replace(habits, level=None, length_slack=None, cut_points=unplaced)
            for habits in style.tracks
        ]
    )
    if val and val != held_out:
        style, _ = calibrated_style(
            style,
            [model.on_probability(store, e) for e in val],
            [on_frames(store.arrays(e)["tracks"]) for e in val],
            [float(store.edits[e].fps) for e in val],
            smoothing,
        )  # fmt: skip
    fps = {e: float(store.edits[e].fps) for e in held_out}
    pairs = [
        (truth[e], boosted.boosted_tracks(model.on_probability(store, e), model.when_on,
                                          smoothing, style, fps[e]), fps[e])
        for e in held_out
    ]  # fmt: skip
    log.info("evaluate: gradient-boosted baseline in %.1f s", time.perf_counter() - started)
    return score(pairs, store.n_tracks, periods)


def editor_style(run_dir: Path, n_tracks: int) -> EditorStyle:
    """The habits learned at training time (none for a run trained before they were kept)."""
    path = Path(run_dir) / INPUTS
    data = read_inputs(path).get("style") if path.exists() else None
    return EditorStyle.from_dict(data, n_tracks)
