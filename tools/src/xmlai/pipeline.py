"""The whole job, as the README's main command runs it: setup -> synth -> build -> train ->
evaluate -> predict, one output folder, one summary."""

from __future__ import annotations

import json
import time
from pathlib import Path

from xmlai.config import RunConfig
from xmlai.runlog import held_output, write_json

DEMO_SUMMARY = "demo.json"


def run_pipeline(config: RunConfig, overwrite: bool = False) -> dict:
    from xmlai.build import build
    from xmlai.evaluate import OLDER_REPORT, evaluate
    from xmlai.train import OLDER_RUN, train

    out = Path(config.paths.out)
    started = time.perf_counter()
    if overwrite:  # afresh: a run left in the folder would resume on the new build
        for folder, command, older in (
            ("run", "train", OLDER_RUN),
            ("evaluation", "evaluate", OLDER_REPORT),
        ):
            with held_output(out / folder, True, command, older):  # never under a running command
                pass
    build(
        config.paths.xml_dir, config.paths.features_dir, out / "build", config, overwrite=overwrite
    )
    train(out / "build", out / "run", config)
    evaluate(out / "build", out / "run", out / "evaluation", config)
    (out / "config.toml").write_text(config.to_toml(), encoding="utf-8")
    result = {
        "out": str(out),
        "report": str(out / "evaluation" / "report.md"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_json(out / "run.json", result)
    return result


def run_demo(
    out, config: RunConfig, n_edits: int = 110, seconds: float = 30.0, overwrite: bool = False
) -> dict:
    from xmlai.build import build
    from xmlai.evaluate import evaluate
    from xmlai.predict import predict
    from xmlai.synth import synthesize
    from xmlai.train import train

    out = Path(out)
    started = time.perf_counter()
    with held_output(out, overwrite, "pipeline"):
        (out / "config.toml").write_text(config.to_toml(), encoding="utf-8")
        synthesize(out / "corpus", n_edits=n_edits, seconds=seconds, seed=config.data.seed)
        corpus = out / "corpus"
        build(corpus / "xml", corpus / "features", out / "build", config)
        train(out / "build", out / "run", config)
        metrics = evaluate(out / "build", out / "run", out / "evaluation", config)
        split = json.loads((out / "build" / "split.json").read_text())
        held_out = (split.get("test") or split["val"])[0]
        video = _source_video(out / "build", held_out)
        prediction = predict(out / "run", corpus / "features", video, out / "prediction", config)
        result = {
            "out": str(out),
            "report": str(out / "evaluation" / "report.md"),
            "xmeml": prediction["xmeml"],
            "held_out_predicted": held_out,
            "metrics": {k: v["model"] for k, v in metrics["tracks"].items()},
            "seconds": round(time.perf_counter() - started, 1),
        }
        write_json(out / DEMO_SUMMARY, result)
    return result


def _source_video(build_dir: Path, edit_id: str) -> str:
    manifest = json.loads((build_dir / "store" / "manifest.json").read_text())
    return next(e["source_video_name"] for e in manifest["edits"] if e["edit_id"] == edit_id)
