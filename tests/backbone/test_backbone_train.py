"""Backbone training: both presets a few steps on CPU, checkpoints, resume, export, CLI."""
from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from difffake.backbone import Backbone
from difffake.backbone.train import train
from difffake.config import BackboneConfig, preset
from difffake.errors import SettingsMismatch


@dataclasses.dataclass
class Item:
    crop: np.ndarray
    landmarks: np.ndarray
    video_id: str


class StandInPairs(torch.utils.data.Dataset):
    """PseudoFakeDataset's interface; the 'fake' is the real with a bright square (learnable)."""

    def __init__(self, items, input_size, mean, std, seed=0, cfg=None, augment=True):
        self.items, self.size, self.seed, self.epoch = list(items), input_size, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        rng = np.random.default_rng([self.seed, self.epoch, i])
        real = torch.from_numpy(rng.normal(0, 0.5, (3, self.size, self.size)).astype(np.float32))
        fake = real.clone()
        s = self.size // 4
        fake[:, s:3 * s, s:3 * s] += 1.5
        return {"real": real, "fake": fake}


def collate(batch):
    reals = torch.stack([b["real"] for b in batch])
    fakes = torch.stack([b["fake"] for b in batch])
    return torch.cat([reals, fakes]), torch.cat([torch.zeros(len(batch)), torch.ones(len(batch))]).long()


def items(n_videos, per_video=3, prefix="v"):
    crop, lm = np.zeros((8, 8, 3), np.uint8), np.zeros((68, 2), np.float32)
    return [Item(crop, lm, f"{prefix}{k}.mp4") for k in range(n_videos) for _ in range(per_video)]


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny tensors: a second thread only adds sync cost on a shared 2-core machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_cfg(name, **train_kw):
    cfg = preset(name)
    bb = dataclasses.replace(cfg.backbone, input_size=32,
                             pretrained="none" if name == "paper" else cfg.backbone.pretrained)
    tr = dataclasses.replace(cfg.train, batch_size=4, steps_per_epoch=2, val_max_faces=6, keep_best=2,
                             save_every_steps=1, num_workers=0, **train_kw)
    return dataclasses.replace(cfg, backbone=bb, train=tr)


def run(cfg, out, resume=False):
    return train(cfg, items(4), items(2, prefix="val"), out, device="cpu", resume=resume,
                 dataset_factory=StandInPairs, collate_fn=collate)


def test_cpu_preset_trains_checkpoints_resumes_and_exports(tmp_path):
    out = tmp_path / "run"
    summary = run(tiny_cfg("cpu", epochs=3), out)
    assert summary["steps"] == 6 and summary["epochs"] == 3
    rows = list(csv.DictReader((out / "metrics.csv").read_text().splitlines()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert all(np.isfinite(float(r["train_loss"])) for r in rows)
    assert all(0 <= float(r["val_auc"]) <= 1 for r in rows)
    # 6 steps, decay from step int(0.75 * 6) = 4: the epochs' last steps (1, 3, 5) ran at 1e-3, 1e-3, 5e-4
    assert [float(r["lr"]) for r in rows] == [1e-3, 1e-3, 5e-4], "linear decay over the last quarter"
    kept = sorted(p.name for p in (out / "checkpoints").glob("*.safetensors"))
    assert len(kept) == 2, kept                                     # keep_best = 2
    for name in ("last.safetensors", "last.json", "config.json", "split.json",
                 "backbone.safetensors", "backbone.json"):
        assert (out / name).is_file(), name
    split = json.loads((out / "split.json").read_text())
    assert set(split["train"]).isdisjoint(split["val"])
    assert not list(out.rglob("*.pt*")), "no pickle files"

    meta = json.loads((out / "backbone.json").read_text())
    best = max(rows, key=lambda r: (float(r["val_auc"]), -int(r["epoch"])))
    assert meta["training"]["best_epoch"] == int(best["epoch"])
    loaded = Backbone.load(out)
    crops = [np.random.default_rng(i).integers(0, 255, (40, 30, 3), dtype=np.uint8) for i in range(3)]
    again = Backbone.load(out)
    np.testing.assert_array_equal(loaded.embed_crops(crops), again.embed_crops(crops))

    with pytest.raises(SettingsMismatch, match="--resume"):
        run(tiny_cfg("cpu", epochs=3), out)
    # Resume extends the run: continues at step 6, not from 0.
    summary = run(tiny_cfg("cpu", epochs=4), out, resume=True)
    assert summary["steps"] == 8
    rows = list(csv.DictReader((out / "metrics.csv").read_text().splitlines()))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8]
    other = dataclasses.replace(tiny_cfg("cpu", epochs=5),
                                backbone=BackboneConfig(pretrained="lite0-package", input_size=48))
    with pytest.raises(SettingsMismatch, match="backbone"):
        run(other, out, resume=True)


class Interrupted(RuntimeError):
    pass


class CrashingPairs(StandInPairs):
    """Raises on the first item of epoch 1 after `crash_after` items of that epoch were served."""

    crash_after = None

    def __getitem__(self, i):
        if self.epoch == 1 and self.crash_after is not None:
            if self.crash_after == 0:
                raise Interrupted("simulated kill")
            type(self).crash_after -= 1
        return super().__getitem__(i)


def test_resume_mid_epoch_matches_an_uninterrupted_run(tmp_path):
    cfg = tiny_cfg("cpu", epochs=2, use_sam=False)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, val_max_faces=2),
                              backbone=dataclasses.replace(cfg.backbone, pretrained="none"))
    kw = {"device": "cpu", "collate_fn": collate}
    train(cfg, items(4), items(2, prefix="val"), tmp_path / "full", dataset_factory=StandInPairs, **kw)
    CrashingPairs.crash_after = 2          # epoch 1: its first step (2 pairs) runs, the second dies
    with pytest.raises(Interrupted):
        train(cfg, items(4), items(2, prefix="val"), tmp_path / "part", dataset_factory=CrashingPairs, **kw)
    assert json.loads((tmp_path / "part" / "last.json").read_text())["step"] == 3
    CrashingPairs.crash_after = None
    summary = train(cfg, items(4), items(2, prefix="val"), tmp_path / "part", resume=True,
                    dataset_factory=CrashingPairs, **kw)
    assert summary["steps"] == 4
    # Compare the final weights (last.safetensors), not the exported best epoch.
    a, b = (load_file(str(tmp_path / run / "last.safetensors")) for run in ("full", "part"))
    assert a.keys() == b.keys() and any(k.startswith("opt.") for k in a)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)


def test_paper_preset_runs_two_steps_offline(tmp_path):
    cfg = tiny_cfg("paper", epochs=1)
    assert cfg.backbone.name.startswith("tf_efficientnet_b4") and cfg.train.use_sam
    summary = run(cfg, tmp_path / "paper")
    assert summary["steps"] == 2
    loaded = Backbone.load(tmp_path / "paper")
    assert loaded.embedding_size == 1792 and loaded.cfg.mean == (0.5, 0.5, 0.5)
    assert loaded.cfg.pretrained == "none"


def test_cli_train_on_a_face_store_and_resume(tiny_store, tmp_path):
    from difffake.cli import main

    out = tmp_path / "cli_run"
    args = ["train", "--store", str(tiny_store.root), "--out", str(out), "--epochs", "1",
            "--steps-per-epoch", "1", "--input-size", "32", "--batch-size", "4", "--device", "cpu",
            "--val-fraction", "0.34"]
    assert main(args) == 0
    assert Backbone.load(out).input_size == 32
    split = json.loads((out / "split.json").read_text())
    assert len(split["val"]) == 1 and len(split["train"]) == 2
    assert main(["train", "--store", str(tiny_store.root), "--out", str(out), "--resume",
                 "--epochs", "2"]) == 0
    assert json.loads((out / "last.json").read_text())["step"] == 2
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["backbone"]["input_size"] == 32 and cfg["train"]["epochs"] == 2


def test_cli_resume_keeps_the_saved_split(tiny_store, tmp_path):
    import shutil

    from difffake.cli import main
    from difffake.errors import FileError
    from difffake.workflows.train import saved_split

    root = tmp_path / "store"
    shutil.copytree(tiny_store.root, root)
    out = tmp_path / "run"
    args = ["train", "--store", str(root), "--out", str(out), "--epochs", "1", "--steps-per-epoch", "1",
            "--input-size", "32", "--batch-size", "4", "--device", "cpu", "--val-fraction", "0.34"]
    assert main(args) == 0
    before = (out / "split.json").read_bytes()
    # The store grows after the run started: a new split would differ (2 of 4 ids in validation).
    shutil.copy(root / "faces" / "astro_0.mp4.npz", root / "faces" / "astro_9.mp4.npz")
    assert main(["train", "--store", str(root), "--out", str(out), "--resume", "--epochs", "2"]) == 0
    assert json.loads((out / "last.json").read_text())["step"] == 2
    assert (out / "split.json").read_bytes() == before
    split = json.loads(before)
    assert saved_split(out / "split.json", ["astro_9.mp4", *split["train"], *split["val"]]) == \
        (split["train"], split["val"])
    # A listed id gone from the stores: an error naming split.json, not a silent new split.
    (root / "faces" / f"{split['val'][0]}.npz").unlink()
    with pytest.raises(FileError, match="split.json"):
        saved_split(out / "split.json", [v for v in split["train"]] + ["astro_9.mp4"])
    assert main(["train", "--store", str(root), "--out", str(out), "--resume", "--epochs", "3"]) != 0
    assert (out / "split.json").read_bytes() == before


def test_extend_split_keeps_old_ids_and_people_on_their_side():
    from difffake.splits import Groups, extend_split

    train = ["videos/a__r__1.mp4", "photos/obama_1.jpg"]
    val = ["videos/b__s__1.mp4", "videos/obama_speech.mp4"]
    new = train + val + ["videos/b__s__2.mp4", "videos/a__r__2.mp4", "photos/obama_2.jpg",
                         "videos/c__t__1.mp4", "videos/d__u__1.mp4", "videos/e__v__1.mp4"]
    obama = Groups({"obama_1.jpg": "obama", "obama_speech.mp4": "obama", "obama_2.jpg": "obama"})
    tr, va = extend_split(train, val, new, 0.4, 0, by=obama)
    assert set(train) <= set(tr) and set(val) <= set(va)
    assert "videos/b__s__2.mp4" in va and "videos/a__r__2.mp4" in tr
    # obama is in both old sides (the old split allowed it by folder): validation wins
    assert "photos/obama_2.jpg" in va
    assert not set(tr) & set(va) and set(tr) | set(va) == set(new)
    assert {"videos/c__t__1.mp4", "videos/d__u__1.mp4", "videos/e__v__1.mp4"} & set(va)


def _learning_cfg(seed=0, pretrained="none"):
    cfg = tiny_cfg("cpu", epochs=2, use_sam=False, lr=0.02, seed=seed)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps_per_epoch=4, batch_size=8,
                                                              val_max_faces=4),
                               backbone=dataclasses.replace(cfg.backbone, pretrained=pretrained))


def _tensors(path):
    return {k: v.numpy().tobytes() for k, v in load_file(str(path)).items()}


def test_training_is_seeded_and_leaves_torch_global_rng_alone(tmp_path):
    kw = {"device": "cpu", "dataset_factory": StandInPairs, "collate_fn": collate}
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train(_learning_cfg(), items(6), items(2, prefix="val"), tmp_path / "a", **kw)
    assert torch.equal(torch.get_rng_state(), before), "training changed torch's global RNG state"
    torch.manual_seed(999)   # another global state: the run must not depend on it
    train(_learning_cfg(), items(6), items(2, prefix="val"), tmp_path / "b", **kw)
    a, b = _tensors(tmp_path / "a" / "last.safetensors"), _tensors(tmp_path / "b" / "last.safetensors")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a), "same seed, different weights"
    assert _tensors(tmp_path / "a" / "backbone.safetensors") == _tensors(tmp_path / "b" / "backbone.safetensors")
    train(_learning_cfg(seed=1), items(6), items(2, prefix="val"), tmp_path / "c", **kw)
    c = _tensors(tmp_path / "c" / "last.safetensors")
    assert any(a[k] != c[k] for k in a if k.startswith("model.encoder.")), "the seed does not reach the init"


def test_training_learns_the_stand_in_task(tmp_path):
    train(_learning_cfg(pretrained="lite0-package"), items(6), items(4, prefix="val"), tmp_path / "r",
          device="cpu", dataset_factory=StandInPairs, collate_fn=collate)
    # the bright square is learnt: an untrained head sits at ln 2 = 0.693 (head weights ~ N(0, 0.01))
    rows = csv.DictReader((tmp_path / "r" / "metrics.csv").read_text().splitlines())
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[1] < losses[0] and losses[1] < 0.45, losses


def test_init_from_a_backbone_trained_at_another_input_size(tmp_path):
    first = tmp_path / "at32"
    run(tiny_cfg("cpu", epochs=1, use_sam=False), first)
    start = Backbone.load(first).state_dict()
    cfg = tiny_cfg("cpu", epochs=1, use_sam=False, lr=0.0)
    cfg = dataclasses.replace(cfg, backbone=dataclasses.replace(cfg.backbone, input_size=48))
    out = tmp_path / "at48"
    train(cfg, items(4), items(2, prefix="val"), out, device="cpu", init=first,
          dataset_factory=StandInPairs, collate_fn=collate)
    tuned = Backbone.load(out)
    assert tuned.cfg.input_size == 48
    # lr 0: the fine-tune's weights are the 32 px backbone's own (BatchNorm statistics move in train mode)
    for k, v in start.items():
        if "running" not in k and "num_batches" not in k:
            torch.testing.assert_close(tuned.state_dict()[k], v, msg=k)

    other = dataclasses.replace(cfg, backbone=dataclasses.replace(cfg.backbone, mean=(0.0, 0.0, 0.0)))
    with pytest.raises(SettingsMismatch, match="with its own normalisation"):
        train(other, items(4), items(2, prefix="val"), tmp_path / "other", device="cpu", init=first,
              dataset_factory=StandInPairs, collate_fn=collate)


def test_piped_training_progress_is_not_a_line_per_step(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DIFFFAKE_PROGRESS_SECONDS", "3600")
    cfg = tiny_cfg("cpu", epochs=1, use_sam=False)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps_per_epoch=6, save_every_steps=100))
    run(cfg, tmp_path / "run")
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("epoch 1/1")]
    # the start and the close, not one per step (set_postfix redraws would add 6)
    assert 1 <= len(lines) <= 3, lines
    assert "loss=" in lines[-1], "the piped line carries the running loss"
