"""The research workflow's edges: weights never downloaded, store/preset mismatch,
a clean stop on SIGINT/SIGTERM that `fit` and `--resume` can use, workers capped by the cores."""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from difffake.cli import main

REPO = Path(__file__).resolve().parents[2]
TINY = ["--input-size", "32", "--batch-size", "4", "--device", "cpu", "--no-sam", "--threads", "1",
        "--val-fraction", "0.34"]


def cli_env(tmp_path) -> dict:
    # Empty weight caches, and any connection attempt fails at once (nothing listens on port 9).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TORCH_HOME"))}
    env.update(PYTHONPATH=str(REPO / "src"), HF_HOME=str(tmp_path / "hf"), TORCH_HOME=str(tmp_path / "torch"),
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", OMP_NUM_THREADS="1")
    return env


def difffake(*args, env, timeout=120):
    return subprocess.run([sys.executable, "-m", "difffake", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


# --- 1. weights: never the network --------------------------------------------------------------

def test_paper_preset_without_local_weights_exits_2_naming_pretrained(tiny_store, tmp_path):
    t0 = time.monotonic()
    done = difffake("train", "--preset", "paper", "--store", str(tiny_store.root), "--out",
                    str(tmp_path / "run"), env=cli_env(tmp_path))
    assert done.returncode == 2, done.stderr[-3000:]
    err = done.stderr
    assert "Traceback" not in err and "Retrying" not in err, err[-3000:]
    assert "--pretrained PATH" in err and "--pretrained none" in err
    # names the files it looked for, in the caches this process would use
    assert str(tmp_path / "hf" / "hub" / "models--timm--tf_efficientnet_b4.ap_in1k") in err
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "tf_efficientnet_b4_ap-dedb23e6.pth") in err
    assert not (tmp_path / "run" / "config.json").exists()
    assert time.monotonic() - t0 < 60


def test_timm_weights_are_read_from_the_local_cache_without_network(tmp_path, monkeypatch):
    import timm

    from difffake.backbone.weights import create_timm_model

    source = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=1000)
    torch.manual_seed(3)
    with torch.no_grad():
        for p in source.parameters():
            p.normal_(0, 0.1)
    repo = tmp_path / "hub" / "models--timm--tf_efficientnet_lite0.in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abc")
    (repo / "snapshots" / "0123abc").mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in source.state_dict().items()},
              str(repo / "snapshots" / "0123abc" / "model.safetensors"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise AssertionError(f"network reached: {args}")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    model = create_timm_model("tf_efficientnet_lite0", "timm", num_classes=0)
    got, want = model.state_dict(), source.state_dict()
    assert not any(k.startswith("classifier.") for k in got)
    for k, v in got.items():
        torch.testing.assert_close(v, want[k], rtol=0, atol=0, msg=k)


# --- 2. a store made with another preset ----------------------------------------------------------

def test_store_of_another_preset_is_refused_unless_forced(tiny_store, tmp_path, capsys, caplog, monkeypatch):
    out = tmp_path / "run"
    args = ["train", "--preset", "paper", "--pretrained", "none", "--store", str(tiny_store.root),
            "--out", str(out), "--epochs", "1", "--steps-per-epoch", "1", *TINY]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "policy 'track' (store) vs 'largest' (preset paper)" in err and "--force" in err
    assert str(tiny_store.root) in err
    assert not (out / "config.json").exists()

    # --force trains, and the run records the store's settings, not the preset's;
    # the paper preset's 4 workers are capped by the cores (2 here, whatever the machine).
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    caplog.set_level("INFO")
    assert main([*args, "--force"]) == 0
    meta = json.loads((out / "backbone.json").read_text())["training"]
    recorded = meta["face_settings"][str(tiny_store.root)]
    assert recorded["policy"] == "track" and recorded["num_frames"] == 12
    assert meta["face_settings_forced"][str(tiny_store.root)]["policy"] == {"store": "track", "wanted": "largest"}
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["faces"]["policy"] == "track" and cfg["faces"]["num_frames"] == 12
    assert cfg["train"]["num_workers"] == 1
    assert "DataLoader workers: 1, not the 4 asked for (2 cores available" in caplog.text


def test_frames_per_video_alone_is_not_a_mismatch():
    from difffake.config import FaceConfig
    from difffake.faces.settings_check import face_settings_diff

    assert face_settings_diff({"num_frames": 12, "policy": "track"}, FaceConfig()) == {}
    assert face_settings_diff({"num_frames": 40, "policy": "largest", "crop_scale": 1.3},
                              FaceConfig()) == {"policy": ("largest", "track")}


# --- 4. workers ----------------------------------------------------------------------------------

def test_workers_are_capped_by_the_cores_minus_the_main_process():
    from difffake.backbone.workers import capped_workers

    assert capped_workers(4, cores=2)[0] == 1
    assert capped_workers(4, cores=1)[0] == 0
    assert capped_workers(4, cores=16) == (4, "DataLoader workers: 4 (16 cores available)")
    assert "one kept for the main process" in capped_workers(4, cores=2)[1]


# --- 3. a clean stop on a signal -----------------------------------------------------------------

def start_training(store, out, env, *extra):
    # Its own process group: a signal to the group is what a terminal's Ctrl-C sends (workers included).
    return subprocess.Popen([sys.executable, "-m", "difffake", "train", "--store", str(store), "--out", str(out),
                             "--epochs", "1000", "--steps-per-epoch", "3", "--pretrained", "none", *TINY, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def wait_for(path: Path, proc, seconds=90.0):
    end = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"train ended early ({proc.returncode}): {proc.stderr.read()[-3000:]}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"{path} did not appear in {seconds} s")
        time.sleep(0.05)


def test_sigint_saves_a_resumable_state_that_fit_and_resume_use(tiny_store, tmp_path, capsys):
    out = tmp_path / "run"
    proc = start_training(tiny_store.root, out, cli_env(tmp_path), "--workers", "1")
    wait_for(out / "metrics.csv", proc)          # one epoch done: a validated checkpoint exists
    os.killpg(proc.pid, signal.SIGINT)           # as Ctrl-C does: to the DataLoader worker too
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    assert (f"resume with: difffake train --store {tiny_store.root} --out {out} --resume --device cpu "
            f"--workers 1 --threads 1") in err
    state = json.loads((out / "last.json").read_text())
    assert state["step"] >= 3 and state["best"], state.keys()
    assert not (out / "backbone.json").exists()
    assert not list(out.rglob("*.pt*")) and not list(out.rglob("*.tmp*"))

    # fit takes the unfinished run's best checkpoint, and says which
    code = main(["fit", "--backbone", str(out), "--store", str(tiny_store.root), "--out", str(tmp_path / "det"),
                 "--no-exclude", "--density", "knn", "--knn-k", "2", "--pca", "0", "--cache", str(tmp_path / "c"),
                 "--calibration", "holdout", "--allow-small-calibration"])
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    best = state["best"][0]["path"]
    assert f"using its best checkpoint {out / best}" in err and "--resume" in err
    card = json.loads((tmp_path / "det" / "model.json").read_text())
    assert card["info"]["backbone_training"]["checkpoint"] == str(out / best)
    want = load_file(str(out / best))
    got = load_file(str(tmp_path / "det" / "backbone.safetensors"))
    assert all(torch.equal(want[k], got[k]) for k in want)

    # the printed command resumes the run; it ends at the next epoch's end and exports
    epochs = len(state["history"]) + 1
    done = difffake("train", "--store", str(tiny_store.root), "--out", str(out), "--resume", "--device", "cpu",
                    "--workers", "1", "--threads", "1", "--epochs", str(epochs), env=cli_env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((out / "last.json").read_text())["step"] == 3 * epochs
    assert (out / "backbone.json").is_file()


def test_sigterm_before_the_first_epoch_ends_keeps_the_latest_state(tiny_store, tmp_path, capsys):
    out = tmp_path / "run"
    proc = start_training(tiny_store.root, out, cli_env(tmp_path))
    wait_for(out / "split.json", proc)           # the loop is about to start (handlers are in place)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-3000:]
    assert "SIGTERM: stopped at step" in err and "--resume" in err and "Traceback" not in err
    state = json.loads((out / "last.json").read_text())
    assert state["step"] >= 1
    code = main(["fit", "--backbone", str(out), "--store", str(tiny_store.root), "--out", str(tmp_path / "det"),
                 "--no-exclude", "--density", "knn", "--knn-k", "2", "--pca", "0", "--cache", str(tmp_path / "c"),
                 "--calibration", "holdout", "--allow-small-calibration", "--no-fusion"])
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    assert "using its latest state" in err


def test_fit_on_a_folder_without_backbone_or_checkpoint_names_resume(tiny_store, tmp_path, capsys):
    (tmp_path / "empty_run").mkdir()
    code = main(["fit", "--backbone", str(tmp_path / "empty_run"), "--store", str(tiny_store.root),
                 "--out", str(tmp_path / "det")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no backbone.json here" in err and "--resume" in err and "checkpoint" in err


class StopAfter:
    """A stop request that turns true at its (n+1)-th check (what StopOnSignal does on a signal)."""

    signum = signal.SIGINT

    def __init__(self, n):
        self.n = n

    def requested(self):
        self.n -= 1
        return self.n < 0


# Checks with 2 steps per epoch and 3 validation batches: step 1, validation (3), epoch end, step 3 ...
@pytest.mark.parametrize("checks, step, epochs_done", [(5, 3, 1), (2, 2, 0)], ids=["mid-epoch", "in-validation"])
def test_stop_then_resume_equals_an_uninterrupted_run(tmp_path, checks, step, epochs_done):
    sys.path.insert(0, str(REPO / "tests" / "backbone"))   # the stand-in task of the backbone tests
    from test_backbone_train import StandInPairs, collate, items, tiny_cfg

    from difffake.backbone.interrupt import TrainingInterrupted
    from difffake.backbone.train import train

    cfg = tiny_cfg("cpu", epochs=2, use_sam=False)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, save_every_steps=1000),
                              backbone=dataclasses.replace(cfg.backbone, pretrained="none"))
    kw = dict(device="cpu", dataset_factory=StandInPairs, collate_fn=collate)
    train(cfg, items(4), items(2, prefix="val"), tmp_path / "full", **kw)
    with pytest.raises(TrainingInterrupted) as stopped:   # no periodic save: only the stop saves
        train(cfg, items(4), items(2, prefix="val"), tmp_path / "part", stop=StopAfter(checks), **kw)
    assert stopped.value.step == step and stopped.value.exit_code == 130
    saved = json.loads((tmp_path / "part" / "last.json").read_text())
    assert saved["step"] == step and len(saved["history"]) == epochs_done
    train(cfg, items(4), items(2, prefix="val"), tmp_path / "part", resume=True, **kw)
    a, b = (load_file(str(tmp_path / run / "last.safetensors")) for run in ("full", "part"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    # the interrupted epoch's metrics cover all its steps, not only those after the resume
    fields = ("epoch", "step", "train_loss", "train_acc", "val_auc", "val_loss")
    rows = {run: [{k: r[k] for k in fields} for r in csv.DictReader(open(tmp_path / run / "metrics.csv"))]
            for run in ("full", "part")}
    assert rows["full"] == rows["part"]


def test_a_kill_between_the_two_state_files_keeps_weights_and_counters_together(tmp_path, monkeypatch):
    """last.safetensors is replaced, then last.json: dying between the two renames must not pair
    the new weights with the old step count (the resumed run would repeat or skip steps)."""
    sys.path.insert(0, str(REPO / "tests" / "backbone"))   # the stand-in task of the backbone tests
    from test_backbone_train import StandInPairs, collate, items, tiny_cfg

    from difffake.backbone import checkpoints
    from difffake.backbone.train import train

    cfg = tiny_cfg("cpu", epochs=2, use_sam=False)
    cfg = dataclasses.replace(cfg, backbone=dataclasses.replace(cfg.backbone, pretrained="none"))
    kw = dict(device="cpu", dataset_factory=StandInPairs, collate_fn=collate)
    train(cfg, items(4), items(2, prefix="val"), tmp_path / "full", **kw)

    class Killed(BaseException):
        pass

    real_write = checkpoints.atomic_write_text

    def dies_before_the_third_json(path, text):   # saves of steps 1 and 2 complete, step 3's json not
        if path.name == "last.json" and json.loads(text)["step"] == 3:
            raise Killed
        real_write(path, text)
    monkeypatch.setattr(checkpoints, "atomic_write_text", dies_before_the_third_json)
    with pytest.raises(Killed):
        train(cfg, items(4), items(2, prefix="val"), tmp_path / "part", **kw)
    monkeypatch.setattr(checkpoints, "atomic_write_text", real_write)
    assert json.loads((tmp_path / "part" / "last.json").read_text())["step"] == 2   # stale
    summary = train(cfg, items(4), items(2, prefix="val"), tmp_path / "part", resume=True, **kw)
    assert summary["steps"] == 4
    a, b = (load_file(str(tmp_path / run / "last.safetensors")) for run in ("full", "part"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
