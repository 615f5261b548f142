"""Training's LR schedule (torch.optim.lr_scheduler): the same lr as the formula at every step,
and the same after a resume from a saved scheduler state."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch

from difffake.backbone.train import (
    lr_schedule,
    restore_schedule,
    schedule_checkpoint,
    train,
)

CASES = [(total, decay_start, base_lr) for total in (1, 2, 3, 7, 10, 100, 1001)
         for decay_start in (0.0, 0.25, 0.75, 0.9, 1.0, 1.5) for base_lr in (1e-3, 0.1, 1.0)]


def formula(step, total, base_lr, decay_start):
    """Constant, then linear decay to 0 from int(decay_start * total) to total (0 after it)."""
    start = int(decay_start * total)
    if step < start or total <= start:
        return base_lr
    return base_lr * max(0.0, (total - step) / (total - start))


def optimizer(base_lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr, momentum=0.9)


@pytest.mark.parametrize("total,decay_start,base_lr", CASES)
def test_scheduler_gives_the_formula_at_every_step(total, decay_start, base_lr):
    opt = optimizer(base_lr)
    sched = lr_schedule(opt, total, decay_start)
    for step in range(total + 3):
        assert abs(opt.param_groups[0]["lr"] - formula(step, total, base_lr, decay_start)) < 1e-9, step
        opt.step()
        sched.step()


@pytest.mark.parametrize("total,decay_start", [(10, 0.75), (37, 0.25), (8, 0.0), (5, 1.0)])
@pytest.mark.parametrize("saved_state", [True, False])
def test_a_restored_scheduler_continues_the_schedule(total, decay_start, saved_state):
    base_lr = 0.3
    for stop_at in range(total + 1):
        opt = optimizer(base_lr)
        sched = lr_schedule(opt, total, decay_start)
        for _ in range(stop_at):
            opt.step()
            sched.step()
        # as checkpoints keep it (last.json)
        state = json.loads(json.dumps(schedule_checkpoint(sched, total, decay_start, base_lr)))
        opt_state = opt.state_dict()
        # a fresh process: a new optimizer, its saved state loaded (decayed lr included)
        opt2 = optimizer(base_lr)
        opt2.load_state_dict(opt_state)
        sched2 = restore_schedule(opt2, total, decay_start, base_lr, state if saved_state else None, stop_at)
        for step in range(stop_at, total + 2):
            assert abs(opt2.param_groups[0]["lr"] - formula(step, total, base_lr, decay_start)) < 1e-9
            opt2.step()
            sched2.step()


def test_training_resumed_mid_decay_runs_the_same_lrs(tmp_path):
    """A run stopped inside the decay and resumed: its saved scheduler state, lrs and weights
    equal those of the run that was never stopped."""
    sys.path.insert(0, str(Path(__file__).parent))
    from safetensors.torch import load_file
    from test_backbone_train import (
        CrashingPairs,
        Interrupted,
        StandInPairs,
        collate,
        items,
        tiny_cfg,
    )

    torch.set_num_threads(1)
    cfg = tiny_cfg("cpu", epochs=2, use_sam=False, lr=0.5, decay_start=0.25)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps_per_epoch=3, val_max_faces=2),
                              backbone=dataclasses.replace(cfg.backbone, pretrained="none"))
    kw = {"device": "cpu", "collate_fn": collate}
    train(cfg, items(6), items(2, prefix="val"), tmp_path / "full", dataset_factory=StandInPairs, **kw)
    CrashingPairs.crash_after = 2          # epoch 1 (steps 3..5): step 3 runs, step 4 dies
    with pytest.raises(Interrupted):
        train(cfg, items(6), items(2, prefix="val"), tmp_path / "part", dataset_factory=CrashingPairs, **kw)
    stopped = json.loads((tmp_path / "part" / "last.json").read_text())
    assert stopped["step"] == 4 and stopped["lr_scheduler"]["state"]["last_epoch"] == 4
    CrashingPairs.crash_after = None
    train(cfg, items(6), items(2, prefix="val"), tmp_path / "part", resume=True,
          dataset_factory=CrashingPairs, **kw)
    full, part = (json.loads((tmp_path / r / "last.json").read_text()) for r in ("full", "part"))
    assert part["lr_scheduler"] == full["lr_scheduler"]
    # total 6, decay from step 1: the last step (5) ran at 0.5 * 1/5
    assert part["last_lr"] == pytest.approx(0.1, abs=1e-9) and full["last_lr"] == part["last_lr"]
    assert [h["lr"] for h in part["history"]] == [h["lr"] for h in full["history"]]
    assert [h["lr"] for h in full["history"]] == pytest.approx([0.5 * 4 / 5, 0.5 * 1 / 5], abs=1e-9)   # steps 2, 5
    a, b = (load_file(str(tmp_path / r / "last.safetensors")) for r in ("full", "part"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)


def test_a_resume_with_more_steps_follows_the_longer_schedule():
    """`train --resume --epochs N+1` extends the run: the saved state of the shorter schedule
    is not loaded; the new one is replayed to the step reached."""
    opt = optimizer(1.0)
    sched = lr_schedule(opt, 4, 0.75)
    for _ in range(4):
        opt.step()
        sched.step()
    saved = json.loads(json.dumps(schedule_checkpoint(sched, 4, 0.75, 1.0)))
    opt2 = optimizer(1.0)
    opt2.load_state_dict(opt.state_dict())
    sched2 = restore_schedule(opt2, 8, 0.75, 1.0, saved, step=4)
    for step in range(4, 10):
        assert abs(opt2.param_groups[0]["lr"] - formula(step, 8, 1.0, 0.75)) < 1e-9
        opt2.step()
        sched2.step()
