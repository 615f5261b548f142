"""Pseudo-fake videos, re-captured copies, and the shared domain degradation."""
import dataclasses

import numpy as np
import pytest

from difffake.config import SynthConfig
from difffake.synthesis.domain import apply_ops, degrade_pair, draw_degradation
from difffake.synthesis.donor import donor_video_sources
from difffake.synthesis.video import degraded_record, pseudo_fake_record

ON = SynthConfig(p_domain=1.0, p_resample=1.0, p_jpeg=1.0, p_color=1.0, p_overlay=1.0)


def test_degradation_is_shared_by_real_and_fake_and_seeded(astronaut_rgb):
    crop = np.ascontiguousarray(astronaut_rgb[40:240, 120:320])
    real, fake = degrade_pair(crop, crop.copy(), np.random.default_rng(5), ON)
    assert np.array_equal(real, fake)                       # same input -> same output: shared draw
    assert real.shape == crop.shape and np.abs(real.astype(int) - crop).mean() > 2
    again, _ = degrade_pair(crop, crop, np.random.default_rng(5), ON)
    assert np.array_equal(again, real)
    other, _ = degrade_pair(crop, crop, np.random.default_rng(6), ON)
    assert not np.array_equal(other, real)
    assert draw_degradation(np.random.default_rng(0), SynthConfig()) == []   # paper recipe: off


def test_resample_keeps_size_and_loses_detail(astronaut_rgb):
    crop = np.ascontiguousarray(astronaut_rgb[:256, :256])
    cfg = dataclasses.replace(ON, p_jpeg=0.0, p_color=0.0, p_overlay=0.0, resample_side=(48.0, 48.0))
    out = apply_ops(draw_degradation(np.random.default_rng(1), cfg), crop)
    assert out.shape == crop.shape
    lap = lambda im: np.abs(np.diff(im.astype(float), axis=0)).mean()
    assert lap(out) < 0.6 * lap(crop)                       # a 48 px capture has lost fine detail


def test_pseudo_fake_video_keeps_one_look_and_only_the_blend_differs(tiny_store):
    rec = tiny_store.load(tiny_store.ids()[0])
    twin = pseudo_fake_record(rec, seed=3, mask_type="hull")
    assert twin.video_id == "pseudo/" + rec.video_id
    assert twin.meta["pseudo_fake"]["mask_type"] == "hull"
    again = pseudo_fake_record(rec, seed=3, mask_type="hull")
    faces = rec.face_positions()
    changed = []
    for i in faces:
        assert np.array_equal(twin.crops[i], again.crops[i])          # seeded
        diff = np.abs(twin.crops[i].astype(int) - rec.crops[i]).sum(axis=2)
        assert diff[0, 0] == 0 and diff[-1, -1] == 0                   # corners: the real's pixels
        changed.append((diff > 0).mean())
    assert min(changed) > 0.02                                          # every frame is blended
    np.testing.assert_array_equal(twin.landmarks, rec.landmarks)
    auto = pseudo_fake_record(rec, seed=3)
    assert auto.meta["pseudo_fake"]["mask_type"] == pseudo_fake_record(rec, seed=3).meta["pseudo_fake"]["mask_type"]
    with pytest.raises(ValueError, match="unknown mask type"):
        pseudo_fake_record(rec, mask_type="nose")


def test_donor_twin_blends_the_donor_face_and_keeps_the_real_outside(tiny_store):
    target, donor = (tiny_store.load(v) for v in sorted(tiny_store.ids())[:2])
    own = pseudo_fake_record(target, seed=3, mask_type="hull")
    swap = pseudo_fake_record(target, seed=3, mask_type="hull", donor=donor)
    assert own.meta["pseudo_fake"]["donor"] is None and swap.meta["pseudo_fake"]["donor"] == donor.video_id
    again = pseudo_fake_record(target, seed=3, mask_type="hull", donor=donor)
    sources = donor_video_sources(target, donor)
    assert sorted(sources) == target.face_positions().tolist()
    for i in target.face_positions():
        assert np.array_equal(swap.crops[i], again.crops[i])                     # seeded
        diff = np.abs(swap.crops[i].astype(int) - target.crops[i]).sum(axis=2)
        assert diff[0, 0] == 0 and diff[-1, -1] == 0                             # outside: the real's pixels
        assert np.abs(swap.crops[i].astype(int) - own.crops[i]).mean() > 0.5     # another source inside
    faceless = dataclasses.replace(donor, has_face=np.zeros_like(donor.has_face))
    plain = pseudo_fake_record(target, seed=3, mask_type="hull", donor=faceless)   # nothing to take: a self-blend
    assert plain.meta["pseudo_fake"]["donor"] is None
    assert all(np.array_equal(a, b) for a, b in zip(plain.crops, own.crops) if a is not None)


def test_real_and_twin_are_recaptured_alike(tiny_store):
    rec = tiny_store.load(tiny_store.ids()[0])
    twin = pseudo_fake_record(rec, seed=0)
    a = degraded_record(rec, seed=0, salt=rec.video_id)
    b = degraded_record(twin, seed=0, salt=rec.video_id)
    i = rec.face_positions()[0]
    assert a.video_id == "degraded/" + rec.video_id and b.video_id.startswith("degraded/pseudo/")
    # the same ops on both: where the twin equals its real, the degraded copies agree too
    same = np.all(twin.crops[i] == rec.crops[i], axis=2)
    assert same.mean() > 0.3
    assert not np.array_equal(a.crops[i], rec.crops[i])
    c = degraded_record(rec, seed=0, salt=rec.video_id)
    assert np.array_equal(c.crops[i], a.crops[i])
