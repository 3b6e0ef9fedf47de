import itertools
import math

import pytest
import torch

from trainer.schedule import lr_factor, warmup_cosine


def test_warmup_then_cosine_values():
    f = lambda s: lr_factor(s, warmup_steps=4, total_steps=12, min_lr_ratio=0.1)  # noqa: E731
    assert [f(s) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert f(4) == pytest.approx(1.0)  # cosine starts at the peak
    assert f(8) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # half-way
    assert f(12) == pytest.approx(0.1)
    assert f(50) == pytest.approx(0.1)  # never below the floor
    values = [f(s) for s in range(4, 13)]
    assert all(a >= b for a, b in itertools.pairwise(values))  # monotone decay


def test_no_warmup():
    assert lr_factor(0, warmup_steps=0, total_steps=10) == pytest.approx(1.0)
    assert lr_factor(10, warmup_steps=0, total_steps=10) == pytest.approx(0.0)


def test_scheduler_follows_lr_factor_and_state_is_plain():
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=2.0)
    sched = warmup_cosine(opt, warmup_steps=3, total_steps=10, min_lr_ratio=0.0)
    seen = []
    for _ in range(10):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [2.0 * lr_factor(s, warmup_steps=3, total_steps=10) for s in range(10)]
    assert seen == pytest.approx(expected)
    state = sched.state_dict()
    assert state["last_epoch"] == 10
