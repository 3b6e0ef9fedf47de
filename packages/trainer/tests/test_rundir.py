"""One command at a time in a run directory: a second one is refused, names the holder and
writes nothing; a killed holder leaves no stale lock."""

import os
import signal

import pytest

from trainer import RunDirLock, RunDirLockedError, Trainer


def test_a_second_trainer_is_refused_with_the_holder_named_and_writes_nothing(
    tmp_path, holder, cfg, mlp, loss_fn, data
):
    run = tmp_path / "run"
    proc = holder(run)
    with pytest.raises(RunDirLockedError) as info:
        Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    message = str(info.value)
    assert "\n" not in message and str(run) in message
    assert f"pid {proc.pid} on " in message and "(holder --run here) since 20" in message
    assert sorted(p.name for p in run.iterdir()) == [".lock"]  # no config, log or summary

    # SIGKILL gives no chance to clean up: the kernel drops the lock with the process
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    summary = Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    assert summary["status"] == "completed"


def test_the_lock_is_held_for_the_whole_fit_and_released_after(tmp_path, cfg, mlp, data):
    run = tmp_path / "run"
    seen = []

    def loss_fn(model, batch):
        with pytest.raises(RunDirLockedError, match=f"pid {os.getpid()} "):
            RunDirLock(run).acquire()
        seen.append(1)
        return ((model(batch["x"]) - batch["y"]) ** 2).mean()

    Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    assert seen
    with RunDirLock(run, command="next"):  # free again once fit returned
        pass


def test_a_failed_setup_releases_the_lock(tmp_path, cfg, mlp, loss_fn, data):
    Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    with pytest.raises(Exception, match="already holds 1 checkpoint"):
        Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    with RunDirLock(tmp_path / "run"):
        pass


def test_a_failed_curves_plot_leaves_no_temporary_file(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from trainer import rundir

    run = rundir.RunDir(tmp_path / "run")
    for epoch in range(2):
        run.append_epoch({"epoch": epoch, "train_loss": 1.0 / (epoch + 1)})

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rundir.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run.plot()
    assert not [p.name for p in run.path.iterdir() if ".tmp-" in p.name]
