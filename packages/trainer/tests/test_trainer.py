import csv
import json
import logging
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from trainer import AnomalyError, BatchError, CheckpointError, ConfigError, Trainer
from trainer import checkpoint as ckpt


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_mlp_reaches_a_low_regression_loss(cfg, mlp, loss_fn, regression):
    train, val = regression(256, seed=0), regression(64, seed=1)
    baseline = float(np.var(val.y))  # loss of predicting the mean
    model = mlp()
    summary = Trainer(
        model,
        loss_fn,
        train,
        val,
        cfg(epochs=12, batch_size=16, lr=3e-2, warmup_steps=5, grad_clip=None),
    ).fit()
    assert summary["status"] == "completed"
    assert summary["final_metrics"]["val_loss"] < 0.02 * baseline
    assert summary["step"] == 12 * 16


class Augmented:
    """Draws from python's and numpy's global RNGs, so a resume must restore those too."""

    def __init__(self, base):
        self.base = base

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        item = self.base[i]
        jitter = np.float32(np.random.normal(0, 0.01) + random.uniform(-0.01, 0.01))
        return {"x": item["x"] + jitter, "y": item["y"]}


class Killed(Exception):
    pass


def test_resume_after_a_kill_mid_epoch_is_bit_identical(tmp_path, cfg, mlp, loss_fn, regression):
    train, val = Augmented(regression(96, seed=0)), regression(32, seed=1)
    common = dict(epochs=3, grad_accum_steps=2, ema_decay=0.9, checkpoint_every_steps=5)

    straight = mlp(dropout=0.2)
    straight_summary = Trainer(
        straight, loss_fn, train, val, cfg(run_dir=str(tmp_path / "a"), **common)
    ).fit()

    calls = {"n": 0}

    def dies_at_call_40(model, batch):  # 12 train + 4 val calls per epoch: dies in epoch 2
        calls["n"] += 1
        if calls["n"] == 40:
            raise Killed
        return loss_fn(model, batch)

    run_b = str(tmp_path / "b")
    with pytest.raises(Killed):
        Trainer(mlp(dropout=0.2), dies_at_call_40, train, val, cfg(run_dir=run_b, **common)).fit()
    newest, state = ckpt.latest_checkpoint(tmp_path / "b" / "checkpoints")
    # 6 steps per epoch, a checkpoint every 5: the newest is step 15, 6 micro-batches into epoch 2
    assert (state["step"], state["epoch"], state["position"]) == (15, 2, 6)
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["status"] == "failed"

    resumed = mlp(dropout=0.2, seed=123)  # other initial weights: all must come from the file
    summary = Trainer(resumed, loss_fn, train, val, cfg(run_dir=run_b, resume=True, **common)).fit()
    assert summary["resumed_from"] == str(newest)
    for key, value in _weights(straight).items():
        assert torch.equal(resumed.state_dict()[key], value), key
    drop = {"time_s", "samples_per_s", "data_wait_frac"}
    rows = [{k: v for k, v in r.items() if k not in drop} for r in summary_rows(tmp_path / "b")]
    ref = [{k: v for k, v in r.items() if k not in drop} for r in summary_rows(tmp_path / "a")]
    assert rows == ref  # the interrupted epoch's averages too
    assert summary["best"]["value"] == straight_summary["best"]["value"]


def summary_rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_max_steps_stops_mid_epoch_and_resume_continues_exactly(tmp_path, cfg, mlp, loss_fn, data):
    train, val = data
    straight = mlp(dropout=0.3)
    Trainer(straight, loss_fn, train, val, cfg(run_dir=str(tmp_path / "a"))).fit()
    part = Trainer(
        mlp(dropout=0.3), loss_fn, train, val, cfg(run_dir=str(tmp_path / "b"), max_steps=17)
    ).fit()
    assert part["status"] == "max_steps" and part["step"] == 17
    resumed = mlp(dropout=0.3, seed=5)
    Trainer(resumed, loss_fn, train, val, cfg(run_dir=str(tmp_path / "b"), resume=True)).fit()
    assert all(torch.equal(resumed.state_dict()[k], v) for k, v in _weights(straight).items())


def test_existing_run_dir_is_not_overwritten(cfg, mlp, loss_fn, data):
    Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    with pytest.raises(ConfigError, match="already holds 1 checkpoint"):
        Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()


def test_resume_into_another_architecture_says_so(cfg, mlp, loss_fn, data):
    Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    with pytest.raises(
        CheckpointError, match=r"(?s)another architecture.*0.weight: model \(16, 8\)"
    ):
        Trainer(mlp(hidden=16), loss_fn, *data, cfg(epochs=2, resume=True)).fit()
    # the failed setup still closed its log file and wrote why it stopped
    assert not [
        h for h in logging.getLogger("trainer").handlers if isinstance(h, logging.FileHandler)
    ]
    summary = json.loads((summary_dir(cfg) / "summary.json").read_text())
    assert summary["status"] == "failed" and "another architecture" in summary["error"]


def test_nan_losses_are_skipped_counted_and_logged(cfg, mlp, loss_fn, data, caplog):
    calls = {"n": 0}

    def sometimes_nan(model, batch):
        calls["n"] += model.training  # count training micro-batches only
        loss, metrics = loss_fn(model, batch)
        return (loss * float("nan") if calls["n"] in (3, 15) else loss), metrics

    model = mlp()
    summary = Trainer(model, sometimes_nan, *data, cfg(max_anomalies=5)).fit()
    assert summary["status"] == "completed" and summary["skipped_steps"] == 2
    assert [r["skipped_steps"] for r in summary_rows(summary_run(summary))] == [1, 1]
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "non-finite loss at step 2 (epoch 0, batches 2-2)" in caplog.text
    assert "non-finite loss at step 14 (epoch 1, batches 2-2)" in caplog.text


def summary_run(summary):
    from pathlib import Path

    return Path(summary["run_dir"])


def test_non_finite_gradient_is_skipped_too(cfg, mlp, loss_fn, data, caplog):
    calls = {"n": 0}

    def inf_grad(model, batch):
        calls["n"] += 1
        pred = model(batch["x"])
        if calls["n"] == 4:
            pred.register_hook(lambda g: g * float("inf"))
        return nn.functional.mse_loss(pred, batch["y"])

    model = mlp()
    summary = Trainer(model, inf_grad, *data, cfg(epochs=1, grad_clip=None)).fit()
    assert summary["skipped_steps"] == 1 and "non-finite gradient at step 3" in caplog.text
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_too_many_anomalies_abort(cfg, mlp, data):
    def always_nan(model, batch):
        return model(batch["x"]).mean() * float("nan")

    with pytest.raises(AnomalyError, match=r"4 steps had a non-finite.*max_anomalies=3"):
        Trainer(mlp(), always_nan, *data, cfg(max_anomalies=3)).fit()
    summary = json.loads((summary_dir(cfg) / "summary.json").read_text())
    assert summary["status"] == "aborted" and summary["skipped_steps"] == 4


def summary_dir(cfg):
    from pathlib import Path

    return Path(cfg().run_dir)


def test_gradient_accumulation_matches_one_big_batch(tmp_path, cfg, mlp, loss_fn, data):
    big, small = mlp(), mlp()
    Trainer(big, loss_fn, *data, cfg(run_dir=str(tmp_path / "a"), batch_size=8)).fit()
    s = Trainer(
        small, loss_fn, *data, cfg(run_dir=str(tmp_path / "b"), batch_size=4, grad_accum_steps=2)
    ).fit()
    assert s["step"] == 2 * 12  # 96 samples / (4 x 2) per step, 2 epochs
    for key, value in big.state_dict().items():
        torch.testing.assert_close(small.state_dict()[key], value, rtol=1e-5, atol=1e-6)


def test_ema_tracks_the_weights_and_is_used_for_validation(tmp_path, cfg, mlp, loss_fn, data):
    train, val = data
    # run A records the raw weights after every step; run B is the same run with EMA on
    plain = Trainer(
        mlp(),
        loss_fn,
        train,
        val,
        cfg(run_dir=str(tmp_path / "a"), epochs=1, checkpoint_every_steps=1, keep_last=99),
    )
    plain.fit()
    steps = [
        ckpt.load_checkpoint(p)["model"]
        for p in ckpt.list_checkpoints(tmp_path / "a" / "checkpoints")
    ]
    expected = {k: v.clone() for k, v in mlp().state_dict().items()}
    for weights in steps:
        for k in expected:
            expected[k] = 0.8 * expected[k] + 0.2 * weights[k]
    model = mlp()
    summary = Trainer(
        model, loss_fn, train, val, cfg(run_dir=str(tmp_path / "b"), epochs=1, ema_decay=0.8)
    ).fit()
    state = ckpt.load_checkpoint(summary["last_checkpoint"])
    for k, v in expected.items():
        torch.testing.assert_close(state["ema"][k], v, rtol=1e-5, atol=1e-6)
    assert all(torch.equal(model.state_dict()[k], steps[-1][k]) for k in expected)  # raw kept
    # the reported val_loss is the EMA model's
    ema_model = mlp()
    ema_model.load_state_dict(state["ema"])
    with torch.no_grad():
        ema_val = nn.functional.mse_loss(
            ema_model(torch.from_numpy(val.x)), torch.from_numpy(val.y)
        )
    assert summary["final_metrics"]["val_loss"] == pytest.approx(ema_val.item(), rel=1e-5)


def test_early_stopping_and_best_checkpoint(cfg, mlp, data):
    epoch_scores = iter([0.5, 0.9, 0.7, 0.8, 0.85, 0.1, 0.1])

    class Scored:
        score = 0.0

    def loss_fn(model, batch):
        loss = nn.functional.mse_loss(model(batch["x"]), batch["y"])
        return loss, {"score": Scored.score}

    class Val:
        def __init__(self, base):
            self.base = base

        def __len__(self):
            return 1

        def __getitem__(self, i):
            Scored.score = next(epoch_scores)  # one validation item per epoch
            return self.base[i]

    summary = Trainer(
        mlp(),
        loss_fn,
        data[0],
        Val(data[1]),
        cfg(
            epochs=10,
            monitor="val_score",
            monitor_mode="max",
            keep_last=1,
            early_stopping_patience=3,
        ),
    ).fit()
    assert summary["status"] == "early_stopped" and summary["epochs_completed"] == 5
    assert summary["best"]["value"] == pytest.approx(0.9)
    kept = ckpt.list_checkpoints(summary_run(summary) / "checkpoints")
    assert [p.name for p in kept] == [ckpt.checkpoint_name(24), ckpt.checkpoint_name(60)]
    assert summary["best"]["checkpoint"].endswith(ckpt.checkpoint_name(24))


def test_unknown_monitor_is_a_clear_error(cfg, mlp, loss_fn, data):
    with pytest.raises(ConfigError, match="monitor='val_acc' is not an epoch metric"):
        Trainer(mlp(), loss_fn, *data, cfg(monitor="val_acc")).fit()


def test_every_epoch_is_logged_with_the_same_keys(cfg, mlp, data):
    calls = {"n": 0}

    def loss_fn(model, batch):  # a metric that only some batches report
        calls["n"] += 1
        loss = nn.functional.mse_loss(model(batch["x"]), batch["y"])
        return loss, ({"rare": 1.0} if calls["n"] % 5 == 0 else {})

    summary = Trainer(mlp(), loss_fn, *data, cfg(epochs=3)).fit()
    run = summary_run(summary)
    rows = summary_rows(run)
    with (run / "metrics.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(rows) == len(table) == 3
    keys = list(rows[0])
    assert all(list(r) == keys for r in rows) and list(table[0]) == keys
    for needed in (
        "epoch",
        "step",
        "lr",
        "train_loss",
        "val_loss",
        "grad_norm",
        "skipped_steps",
        "time_s",
        "samples_per_s",
        "data_wait_frac",
    ):
        assert needed in keys
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert all(
        math.isclose(float(t["val_loss"]), r["val_loss"]) for t, r in zip(table, rows, strict=True)
    )
    env = json.loads((run / "environment.json").read_text())
    assert {"python", "torch", "numpy", "device", "world_size", "git_commit"} <= set(env)
    assert json.loads((run / "config.json").read_text())["epochs"] == 3
    log_text = (run / "train.log").read_text()
    assert all(f"epoch {e} |" in log_text for e in range(3))
    final = json.loads((run / "summary.json").read_text())
    assert final["status"] == "completed" and final["final_metrics"] == rows[-1]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "skipping curves.png" in log_text and not (run / "curves.png").exists()
    else:
        assert (run / "curves.png").stat().st_size > 0


def test_shape_mismatch_names_both_shapes(cfg, mlp, loss_fn, regression):
    with pytest.raises(BatchError) as info:
        Trainer(mlp(d_in=5), loss_fn, regression(32, d_in=8), None, cfg(epochs=1)).fit()
    text = str(info.value)
    assert "x (8, 8) float32" in text and "(8x8 and 5x32)" in text
    assert "0.weight (32, 5)" in text


def test_dtype_mismatch_names_the_dtypes(cfg, mlp, loss_fn, regression):
    data = regression(32)
    data.x = data.x.astype(np.float64)
    with pytest.raises(BatchError, match=r"(?s)x \(8, 8\) float64.*0.weight \(32, 8\) float32"):
        Trainer(mlp(), loss_fn, data, None, cfg(epochs=1)).fit()


def test_window_without_real_frames_is_rejected(cfg, mlp, loss_fn, regression):
    class Masked:
        def __init__(self):
            self.base = regression(32)

        def __len__(self):
            return 32

        def __getitem__(self, i):
            return {**self.base[i], "frame_mask": np.full(4, 0.0 if i == 13 else 1.0, np.float32)}

    with pytest.raises(BatchError, match=r"dataset item\(s\) \[13\] have no real frame"):
        Trainer(mlp(), loss_fn, Masked(), None, cfg(epochs=1)).fit()


def test_bad_loss_output_and_fp16_on_cpu(cfg, mlp, data):
    with pytest.raises(Exception, match="scalar tensor"):
        Trainer(mlp(), lambda m, b: m(b["x"]), *data, cfg(epochs=1)).fit()
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        Trainer(mlp(), lambda m, b: m(b["x"]).mean(), *data, cfg(precision="fp16")).fit()


def test_bf16_autocast_trains_on_cpu(cfg, mlp, loss_fn, data):
    model = mlp()
    before = _weights(model)
    summary = Trainer(model, loss_fn, *data, cfg(precision="bf16", epochs=1)).fit()
    assert math.isfinite(summary["final_metrics"]["val_loss"])
    assert model[0].weight.dtype == torch.float32  # master weights stay fp32
    assert not torch.equal(model[0].weight, before["0.weight"])


def test_seeded_runs_are_identical(tmp_path, cfg, mlp, loss_fn, data):
    a, b = mlp(dropout=0.5), mlp(dropout=0.5)
    Trainer(a, loss_fn, *data, cfg(run_dir=str(tmp_path / "a"), epochs=1)).fit()
    Trainer(b, loss_fn, *data, cfg(run_dir=str(tmp_path / "b"), epochs=1)).fit()
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


def test_gradient_spike_warns(cfg, mlp, loss_fn, data, caplog):
    calls = {"n": 0}

    def spiky(model, batch):
        calls["n"] += 1
        loss, metrics = loss_fn(model, batch)
        return (loss * 1e4 if calls["n"] == 20 else loss), metrics

    caplog.set_level(logging.WARNING, logger="trainer")
    Trainer(mlp(), spiky, *data, cfg(epochs=2, grad_clip=None, lr=1e-4)).fit()
    assert "gradient norm spike at step 15 (epoch 1)" in caplog.text  # 16 calls in epoch 0


def test_the_step_log_shows_the_steps_mean_loss_every_log_every_steps(cfg, mlp, data, caplog):
    calls = {"n": 0}

    def one_then_two(model, batch):  # micro-batch losses 1, 2, 1, 2, ...: each step's mean is 1.5
        calls["n"] += model.training
        return 0.0 * model(batch["x"]).sum() + (1.0 if calls["n"] % 2 else 2.0)

    caplog.set_level(logging.INFO, logger="trainer")
    config = cfg(epochs=1, grad_accum_steps=2, log_every_steps=2)  # 12 micro-batches, 6 steps
    Trainer(mlp(), one_then_two, *data, config).fit()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("step ")]
    assert [line.split(" |")[0] for line in lines] == ["step 2", "step 4", "step 6"]
    assert all(" | loss 1.5 | grad_norm 0 | lr " in line for line in lines)


def test_without_clipping_the_gradient_norm_is_only_measured(tmp_path, cfg, mlp, loss_fn, data):
    unclipped, never_reached = mlp(), mlp()
    Trainer(unclipped, loss_fn, *data, cfg(run_dir=str(tmp_path / "a"), grad_clip=None)).fit()
    Trainer(never_reached, loss_fn, *data, cfg(run_dir=str(tmp_path / "b"), grad_clip=1e9)).fit()
    for key, value in never_reached.state_dict().items():
        assert torch.equal(unclipped.state_dict()[key], value), key
    norms = [[r["grad_norm"] for r in summary_rows(tmp_path / run)] for run in ("a", "b")]
    assert norms[0] == norms[1] and all(n > 0 for n in norms[0])


def test_dataloader_workers_see_the_same_order(tmp_path, cfg, mlp, loss_fn, data):
    a, b = mlp(dropout=0.2), mlp(dropout=0.2)
    Trainer(a, loss_fn, *data, cfg(run_dir=str(tmp_path / "a"), epochs=1)).fit()
    Trainer(b, loss_fn, *data, cfg(run_dir=str(tmp_path / "b"), epochs=1, num_workers=2)).fit()
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


def test_tensorboard_missing_is_a_log_line(cfg, mlp, loss_fn, data, caplog):
    Trainer(mlp(), loss_fn, *data, cfg(epochs=1, tensorboard=True)).fit()
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        assert "tensorboard is not installed" in caplog.text
    else:
        assert (summary_dir(cfg) / "tensorboard").is_dir()


@pytest.mark.heavy
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torch_compile_trains_and_checkpoints_plain_names(cfg, mlp, loss_fn, data):
    model = mlp()
    summary = Trainer(model, loss_fn, *data, cfg(epochs=1, compile=True)).fit()
    state = ckpt.load_checkpoint(summary["last_checkpoint"])
    assert set(state["model"]) == set(model.state_dict())  # no "_orig_mod." prefixes


def test_curves_without_matplotlib_are_one_log_line(cfg, mlp, loss_fn, data, monkeypatch, caplog):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    summary = Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    assert summary["status"] == "completed"
    assert "matplotlib is not installed" in caplog.text
    assert not (summary_run(summary) / "curves.png").exists()


def test_mid_epoch_resume_refuses_another_data_order(cfg, mlp, loss_fn, data):
    Trainer(mlp(), loss_fn, *data, cfg(max_steps=5)).fit()
    with pytest.raises(ConfigError, match=r"different data order \(batch_size 8 -> 16\)"):
        Trainer(mlp(), loss_fn, *data, cfg(resume=True, batch_size=16)).fit()
    summary = Trainer(mlp(), loss_fn, *data, cfg(resume=True, epochs=3)).fit()  # epochs may grow
    assert summary["epochs_completed"] == 3 and summary["step"] == 36


def test_time_based_checkpoints_mid_epoch_resume_bit_exactly(
    tmp_path, cfg, mlp, loss_fn, regression, monkeypatch
):
    from trainer import loop

    train, val = Augmented(regression(96, seed=0)), regression(32, seed=1)
    # 12 steps an epoch, no step-based checkpoints: only the clock makes the mid-epoch ones
    common = dict(epochs=2, keep_last=50, checkpoint_every_minutes=2.5, ema_decay=0.9)
    clock = {"train_calls": 0}
    monkeypatch.setattr(loop, "monotonic", lambda: 60.0 * clock["train_calls"])

    def one_minute_a_batch(model, batch):  # a fake clock: each training batch takes a minute
        if model.training:
            clock["train_calls"] += 1
        return loss_fn(model, batch)

    straight = mlp(dropout=0.2)
    Trainer(
        straight, one_minute_a_batch, train, val, cfg(run_dir=str(tmp_path / "a"), **common)
    ).fit()
    steps = [
        int(p.stem.split("-")[1]) for p in ckpt.list_checkpoints(tmp_path / "a" / "checkpoints")
    ]
    # >= 150 s since the last save at steps 3, 6, 9 (mid-epoch), 12 (epoch end), 15, 18, ...
    assert steps == [3, 6, 9, 12, 15, 18, 21, 24]

    def killed_at_batch_17(model, batch):
        if model.training and clock["train_calls"] == 16:
            raise Killed
        return one_minute_a_batch(model, batch)

    clock["train_calls"] = 0
    run_b = str(tmp_path / "b")
    with pytest.raises(Killed):
        Trainer(
            mlp(dropout=0.2), killed_at_batch_17, train, val, cfg(run_dir=run_b, **common)
        ).fit()
    newest, state = ckpt.latest_checkpoint(tmp_path / "b" / "checkpoints")
    assert (state["step"], state["epoch"], state["position"]) == (15, 1, 3)  # mid-epoch

    resumed = mlp(dropout=0.2, seed=7)
    summary = Trainer(
        resumed, one_minute_a_batch, train, val, cfg(run_dir=run_b, resume=True, **common)
    ).fit()
    assert summary["resumed_from"] == str(newest)
    for key, value in _weights(straight).items():
        assert torch.equal(resumed.state_dict()[key], value), key


def test_checkpoint_every_minutes_off_reads_no_clock(cfg, mlp, loss_fn, data, monkeypatch):
    from trainer import loop

    reads = []
    monkeypatch.setattr(loop, "monotonic", lambda: reads.append(1) or 0.0)
    Trainer(mlp(), loss_fn, *data, cfg(epochs=1, checkpoint_every_minutes=0)).fit()
    assert len(reads) <= 1 + 2  # setup and the epoch end's save: never once per step


def test_stale_checkpoint_temp_files_are_removed_on_the_next_run(cfg, mlp, loss_fn, data):
    summary = Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    folder = summary_run(summary) / "checkpoints"
    stale = folder / ".step-00000099.pt.tmp-4242"  # a save that was killed mid-write
    foreign = folder / "notes.pt.tmp-1"
    stale.write_bytes(b"half a checkpoint")
    foreign.write_bytes(b"not ours")
    Trainer(mlp(), loss_fn, *data, cfg(epochs=2, resume=True)).fit()
    assert not stale.exists() and foreign.exists()


def test_an_unavailable_device_names_what_is_available(cfg, mlp, loss_fn, data, monkeypatch):
    with pytest.raises(
        ConfigError, match=r"device 'cuda:99' is not available here \(available: cpu"
    ):
        Trainer(mlp(), loss_fn, *data, cfg(device="cuda:99")).fit()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only torch
    with pytest.raises(ConfigError) as info:
        Trainer(mlp(), loss_fn, *data, cfg(device="cuda")).fit()
    assert str(info.value).startswith("device 'cuda' is not available here (available: cpu")
    assert not (summary_dir(cfg)).exists()  # refused before the run directory was made


def test_a_full_disk_during_fit_fails_cleanly(cfg, mlp, loss_fn, data, monkeypatch):
    import errno

    Trainer(mlp(), loss_fn, *data, cfg(epochs=1)).fit()
    real_save = torch.save

    def disk_fills_up(obj, fh):
        real_save({"a": 1}, fh)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_fills_up)
    with pytest.raises(ckpt.DiskFullError, match=r"step-00000024\.pt: no space left"):
        Trainer(mlp(), loss_fn, *data, cfg(epochs=2, resume=True)).fit()
    monkeypatch.undo()
    folder = summary_dir(cfg) / "checkpoints"
    assert [p.name for p in folder.iterdir()] == ["step-00000012.pt"]  # no temporary left
    summary = json.loads((summary_dir(cfg) / "summary.json").read_text())
    assert summary["status"] == "failed" and "DiskFullError" in summary["error"]
    assert Trainer(mlp(), loss_fn, *data, cfg(epochs=2, resume=True)).fit()["step"] == 24
