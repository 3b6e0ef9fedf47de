"""`xmlai train` under hostile use: a run folder another command holds, a device this machine
lacks, an absurd window. Each is one line and exit code 2, and nothing is written."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from xmlai.cli import app

runner = CliRunner()

HOLDER = textwrap.dedent("""
    import sys, time
    from trainer import lock_run_dir
    lock = lock_run_dir(sys.argv[1], command="xmlai train b -r run").acquire()
    print("locked", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def held_run(tmp_path):
    """A run folder that another process holds (the process, the folder)."""
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    yield proc, run
    proc.kill()
    proc.wait(timeout=30)


@pytest.fixture
def build_dir(tmp_path):
    """Enough of a built set to get past the first check (the lock comes before any read)."""
    path = tmp_path / "build"
    path.mkdir()
    (path / "build.json").write_text("{}")
    return path


def one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_a_run_folder_in_use_is_refused_naming_the_holder(held_run, build_dir):
    proc, run = held_run
    result = runner.invoke(app, ["train", str(build_dir), "-r", str(run)])
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"error: {run} is in use by pid {proc.pid} on ")
    assert "(xmlai train b -r run) since 20" in line
    assert sorted(p.name for p in run.iterdir()) == [".lock"]  # no train.log, no trainer/


def test_an_unavailable_device_is_refused_before_anything_is_written(tmp_path, build_dir):
    run = tmp_path / "run"
    result = runner.invoke(
        app, ["train", str(build_dir), "-r", str(run), "--set", "train.device=cuda:99"]
    )
    assert result.exit_code == 2
    assert "train.device: device 'cuda:99' is not available here (available: cpu" in (
        one_error_line(result)
    )
    assert not run.exists()


def test_an_absurd_window_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "build"
    result = runner.invoke(
        app,
        ["build", str(tmp_path), str(tmp_path), "-o", str(out), "--set", "data.window=100000000"],
    )
    assert result.exit_code == 2
    assert "data.window must be 8 to 10000 frames, got 100000000" in one_error_line(result)
    assert not out.exists()
