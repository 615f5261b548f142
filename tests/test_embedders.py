"""The embedder registry (difffake.engines): one contract for torch and ONNX Runtime, one P(fake)."""
import json

import numpy as np
import pytest

from difffake.detector import DEFAULT_DIR
from difffake.engines import EMBEDDERS, embedder_class, load_backbone


@pytest.fixture(scope="module")
def card():
    return json.loads((DEFAULT_DIR / "model.json").read_text())


def _crops(rgb):
    return [rgb[40:240, 120:320], rgb[20:260, 100:340], np.ascontiguousarray(rgb[::2, ::2])]


def test_unknown_engine_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown engine 'tensorrt'") as info:
        embedder_class("tensorrt")
    for name in EMBEDDERS:
        assert name in str(info.value)


@pytest.mark.parametrize("name", sorted(EMBEDDERS))
def test_every_engine_keeps_the_contract(name, card, astronaut_rgb):
    embedder = load_backbone(DEFAULT_DIR, card, engine=name)
    assert isinstance(embedder, embedder_class(name)) and embedder.engine == name
    assert embedder.input_size == card["backbone_config"]["input_size"]
    emb, p = embedder.embed_and_classify(_crops(astronaut_rgb), batch_size=2)
    assert emb.shape == (3, 1280) and emb.dtype == np.float32 and np.all(np.isfinite(emb))
    assert p.shape == (3,) and np.all((p >= 0) & (p <= 1))
    empty_emb, empty_p = embedder.embed_and_classify([])
    assert empty_emb.shape == (0, 1280) and empty_p.shape == (0,)


def test_engines_agree(card, astronaut_rgb):
    crops = _crops(astronaut_rgb)
    e_t, p_t = load_backbone(DEFAULT_DIR, card, engine="torch").embed_and_classify(crops)
    e_o, p_o = load_backbone(DEFAULT_DIR, card, engine="onnx").embed_and_classify(crops)
    assert np.abs(e_t - e_o).max() < 1e-4 and np.abs(p_t - p_o).max() < 1e-5


def test_one_fake_probability(card, astronaut_rgb):
    from difffake.embeddings import frame_fake_prob

    torch_bb = load_backbone(DEFAULT_DIR, card, engine="torch")
    crops = _crops(astronaut_rgb)
    emb, p = torch_bb.embed_and_classify(crops)
    np.testing.assert_allclose(torch_bb.fake_probability(crops), p, rtol=0, atol=1e-6)
    np.testing.assert_allclose(frame_fake_prob(torch_bb, emb), p, rtol=0, atol=1e-6)


def test_backbone_file_hashed_once_on_a_verified_load(card, monkeypatch):
    import difffake.backbone.model as model_mod
    from difffake.backbone.export import BackboneFileError

    calls = []
    real = model_mod.sha256_file
    monkeypatch.setattr(model_mod, "sha256_file", lambda p: calls.append(p) or real(p))
    load_backbone(DEFAULT_DIR, card, engine="torch")          # model.json's checksum was just checked
    assert calls == []
    model_mod.Backbone.load(DEFAULT_DIR)                       # a bare folder: hashed here
    assert len(calls) == 1
    with pytest.raises(BackboneFileError, match="checksum"):  # a wrong digest is still refused
        model_mod.Backbone.load(DEFAULT_DIR, known_sha256="0" * 64)
