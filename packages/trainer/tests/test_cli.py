import json
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from trainer.cli import app

runner = CliRunner()

FACTORIES = textwrap.dedent("""
    import numpy as np
    import torch
    from torch import nn

    class Data:
        def __init__(self, n, seed):
            rng = np.random.default_rng(seed)
            self.x = rng.normal(size=(n, 4)).astype(np.float32)
            self.y = self.x.sum(axis=1, keepdims=True)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"x": self.x[i], "y": self.y[i]}

    def loss(model, batch):
        return nn.functional.mse_loss(model(batch["x"]), batch["y"])

    def model_and_loss():
        return nn.Linear(4, 1), loss

    def bare_model():
        return nn.Linear(4, 1)

    def data():
        return Data(40, 0), Data(16, 1)
""")


@pytest.fixture
def factories(tmp_path):
    path = tmp_path / "factories.py"
    path.write_text(FACTORIES)
    return path


def test_fit_resume_info(tmp_path, factories):
    run = tmp_path / "run"
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("batch_size = 8\nlr = 0.05\nprogress = false\n")
    result = runner.invoke(
        app,
        [
            "fit",
            "--model",
            f"{factories}:model_and_loss",
            "--data",
            f"{factories}:data",
            "--config",
            str(cfg),
            "--set",
            "epochs=1",
            "--run-dir",
            str(run),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "completed: 1 epochs, 5 steps" in result.output
    snapshot = json.loads((run / "config.json").read_text())
    assert snapshot["extra"]["launch"]["model"].endswith(":model_and_loss")

    result = runner.invoke(app, ["resume", str(run), "--set", "epochs=3"])
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_completed"] == 3
    assert summary["resumed_from"].endswith("step-00000005.pt")
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 3

    result = runner.invoke(app, ["info", summary["last_checkpoint"], "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert (info["step"], info["epoch"], info["position"], info["parameters"]) == (15, 3, 0, 5)
    result = runner.invoke(app, ["info", summary["last_checkpoint"]])
    assert "step" in result.output and "15" in result.output


def test_separate_loss_factory(tmp_path, factories):
    result = runner.invoke(
        app,
        [
            "fit",
            "--model",
            f"{factories}:bare_model",
            "--loss",
            f"{factories}:loss",
            "--data",
            f"{factories}:data",
            "--set",
            "epochs=1",
            "--set",
            "progress=false",
            "--run-dir",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "fit",
            "--model",
            f"{factories}:bare_model",
            "--data",
            f"{factories}:data",
            "--run-dir",
            str(tmp_path / "r2"),
        ],
    )
    assert result.exit_code == 1 and "pass --loss" in result.output


def test_errors_are_one_line_not_tracebacks(tmp_path, factories):
    bad_key = runner.invoke(
        app,
        [
            "fit",
            "--model",
            f"{factories}:model_and_loss",
            "--data",
            f"{factories}:data",
            "--set",
            "lerning_rate=1",
        ],
    )
    assert bad_key.exit_code == 2 and "unknown config key" in bad_key.output
    no_attr = runner.invoke(
        app, ["fit", "--model", f"{factories}:nope", "--data", f"{factories}:data"]
    )
    assert no_attr.exit_code == 1 and "has no attribute 'nope'" in no_attr.output
    no_module = runner.invoke(app, ["fit", "--model", "no_such_module_xyz:f", "--data", "x:y"])
    assert no_module.exit_code == 1 and "cannot import" in no_module.output
    garbage = tmp_path / "g.pt"
    garbage.write_bytes(b"not a checkpoint")
    info = runner.invoke(app, ["info", str(garbage)])
    assert info.exit_code == 1 and "g.pt" in info.output
    assert "Traceback" not in info.output + no_attr.output + bad_key.output
    resume = runner.invoke(app, ["resume", str(tmp_path)])
    assert resume.exit_code == 1 and "not a run directory" in resume.output


def test_import_and_help_stay_light():
    code = (
        "import sys, trainer, trainer.cli; assert 'torch' not in sys.modules, 'torch loaded'; "
        "trainer.TrainConfig(epochs=1)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "fit" in result.output and "resume" in result.output


def _fit_args(factories, run, *sets):
    args = ["fit", "--model", f"{factories}:model_and_loss", "--data", f"{factories}:data"]
    for item in ("epochs=1", "progress=false", *sets):
        args += ["--set", item]
    return [*args, "--run-dir", str(run)]


def _one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_a_locked_run_dir_is_exit_2_and_one_line(tmp_path, factories, holder):
    run = tmp_path / "run"
    proc = holder(run)
    result = runner.invoke(app, _fit_args(factories, run))
    assert result.exit_code == 2
    assert f"is in use by pid {proc.pid} on " in _one_error_line(result)
    assert sorted(p.name for p in run.iterdir()) == [".lock"]


def test_an_unavailable_device_is_exit_2_and_one_line(tmp_path, factories):
    result = runner.invoke(app, _fit_args(factories, tmp_path / "run", "device=cuda:99"))
    assert result.exit_code == 2
    assert "device 'cuda:99' is not available here (available: cpu" in _one_error_line(result)
    assert not (tmp_path / "run").exists()


def test_a_full_disk_is_exit_2_and_one_line(tmp_path, factories, monkeypatch):
    import errno

    import torch

    def full(obj, fh):
        fh.write(b"PK")
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:  # how torch.save reports it: a RuntimeError in the OSError's context
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")  # noqa: B904

    monkeypatch.setattr(torch, "save", full)
    result = runner.invoke(app, _fit_args(factories, tmp_path / "run"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "step-00000002.pt: no space left on the device" in line and " is free;" in line
    assert "inline_container" not in line
    assert list((tmp_path / "run" / "checkpoints").iterdir()) == []
