"""Scorer: the fitted scoring chain (densities, fusion, calibrations, basis) as one object."""
import json

import numpy as np
import pytest

from difffake.anomaly.calibrate import calibrate
from difffake.anomaly.fusion import COMPONENTS, Fusion
from difffake.anomaly.model import AnomalyModel
from difffake.anomaly.scorer import BASES, SINGLE_DENSITY_FILE, BasisUnavailable, Scorer
from difffake.config import AnomalyConfig
from difffake.fileio import json_default, sha256_file

CFG = AnomalyConfig(pca_dims=None, gmm_components=1, gmm_covariance="diag", max_pairs=16)


def _videos(rng, n, noise=0.1, dims=8, frames=10):
    return [rng.normal(size=dims) + noise * rng.normal(size=(frames, dims)) for _ in range(n)]


def _probs(rng, n, mean, frames=10):
    return [np.clip(rng.normal(mean, 0.1, frames), 0, 1) for _ in range(n)]


@pytest.fixture(scope="module")
def fused_scorer():
    """A fused scorer fitted on synthetic reals (fusion on reals vs flickering pseudo-fakes)."""
    rng = np.random.default_rng(0)
    real, fake = _videos(rng, 30), _videos(rng, 12, noise=0.6)
    real_p, fake_p = _probs(rng, 30, 0.2), _probs(rng, 12, 0.7)
    diff = AnomalyModel(CFG).fit(real[:20])
    single = AnomalyModel(AnomalyConfig(**{**CFG.__dict__, "combine": "single"})).fit(real[:20])
    plain = Scorer(diff, single=single)
    real_s = [plain.scores(e, p) for e, p in zip(real[20:], real_p[20:])]
    fake_s = [plain.scores(e, p) for e, p in zip(fake, fake_p)]
    fusion = Fusion.fit(real_s, fake_s, COMPONENTS)
    for d in real_s:
        d["fused"] = fusion.score(d)
    cals = {name: calibrate([d[name] for d in real_s], 0.1) for name in (*COMPONENTS, "fused")}
    scorer = Scorer(diff, cals["differential"], single=single, fusion=fusion, calibrations=cals)
    return scorer, real[20:] + fake, real_p[20:] + fake_p   # calibration reals, then pseudo-fakes


def _save(scorer, directory):
    """The scorer's part of a detector folder: its files and model.json as Detector.save writes it."""
    files, sections = scorer.save(directory)
    model = {**sections, "checksums": {name: sha256_file(directory / name) for name in files}}
    text = json.dumps(model, indent=2, sort_keys=True, default=json_default)
    (directory / "model.json").write_text(text)
    return json.loads(text)


def test_round_trip_through_save_and_load_gives_identical_scores(fused_scorer, tmp_path):
    scorer, videos, probs = fused_scorer
    model = _save(scorer, tmp_path)
    assert sorted(model["checksums"]) == ["density.npz", SINGLE_DENSITY_FILE]
    loaded = Scorer.load(tmp_path, model)
    assert loaded.basis == scorer.basis == "fused"
    assert loaded.available_bases() == scorer.available_bases() == ["fused", "differential", "classifier"]
    for emb, p in zip(videos, probs):
        a, b = scorer.scores(emb, p), loaded.scores(emb, p)
        assert a.keys() == b.keys() == {*COMPONENTS, "fused"}
        assert all(a[k] == b[k] for k in a)   # exactly: the same arrays, the same arithmetic
        assert scorer.judge(a) == loaded.judge(b)
    (tmp_path / "again").mkdir()
    again = _save(loaded, tmp_path / "again")   # saving what was loaded writes the same sections
    assert {k: v for k, v in again.items() if k != "checksums"} == {k: v for k, v in model.items()
                                                                     if k != "checksums"}


def test_a_plain_scorer_saves_only_the_differential_density(fused_scorer, tmp_path):
    scorer, videos, probs = fused_scorer
    plain = Scorer(scorer.differential, scorer.calibration)
    model = _save(plain, tmp_path)
    assert list(model["checksums"]) == ["density.npz"] and model["scorer"]["fusion"] is None
    assert model["calibration"] == model["scorer"]["calibrations"]["differential"]
    loaded = Scorer.load(tmp_path, model)
    assert loaded.single is None and loaded.fusion is None and loaded.basis == "differential"
    assert loaded.scores(videos[0], None) == plain.scores(videos[0], None) == {
        "differential": scorer.differential.score_video(videos[0]).score}


def test_with_basis_is_a_copy_and_leaves_the_original(fused_scorer):
    scorer, videos, probs = fused_scorer
    view = scorer.with_basis("classifier")
    assert view is not scorer and view.basis == "classifier" and scorer.basis == "fused"
    assert view.differential is scorer.differential and view.calibrations is scorer.calibrations
    scores = scorer.scores(videos[0], probs[0])
    assert scorer.judge(scores).components[0]["name"] == "fused"
    judged = view.judge(scores)
    assert judged.basis == "classifier" and judged.components[0]["name"] == "classifier_mean"
    assert judged.score == scores["classifier_mean"]
    assert judged.threshold == scorer.calibrations["classifier_mean"].threshold


def test_the_verdict_follows_the_stored_threshold(fused_scorer):
    scorer, videos, probs = fused_scorer
    cal = scorer.calibrations["fused"]
    seen = set()
    for emb, p in zip(videos, probs):
        judged = scorer.judge(scorer.scores(emb, p))
        assert judged.threshold == cal.threshold
        assert judged.verdict == ("fake" if judged.score >= cal.threshold else "real")
        assert judged.p_value_real == cal.p_value_real(judged.score)
        seen.add(judged.verdict)
    assert seen == {"fake", "real"}   # reals and pseudo-fakes: both branches ran
    # a fused score just below / at the threshold flips the verdict
    for value, want in ((np.nextafter(cal.threshold, -np.inf), "real"), (cal.threshold, "fake")):
        fixed = Scorer(scorer.differential, scorer.calibration, single=scorer.single,
                       fusion=_constant_fusion(value), calibrations=scorer.calibrations)
        assert fixed.judge(fixed.scores(videos[0], probs[0])).verdict == want


def _constant_fusion(value):
    """A fusion that ignores its components (zero weights) and returns `value`."""
    n = len(COMPONENTS)
    return Fusion(COMPONENTS, np.zeros(n), np.ones(n), np.zeros(n), float(value))


def test_a_video_without_a_basis_score_gets_no_verdict(fused_scorer):
    scorer, videos, _ = fused_scorer
    judged = scorer.judge(scorer.scores(videos[0], None))   # no P(fake): no classifier, no fused score
    assert judged.score is None and judged.verdict == "unknown" and judged.threshold is None
    assert [(c["name"], c["score"] is None) for c in judged.components] == [
        ("fused", True), ("differential", False), ("single", False)]   # NaN fused: listed, no score


def test_an_unknown_basis_is_refused_naming_the_known_ones(fused_scorer):
    scorer, _, _ = fused_scorer
    with pytest.raises(ValueError, match="unknown score basis 'median'.*" + ", ".join(BASES)):
        scorer.with_basis("median")
    plain = Scorer(scorer.differential, scorer.calibration)
    with pytest.raises(BasisUnavailable, match="cannot give a 'fused' verdict.*it has differential"):
        plain.with_basis("fused")
    assert scorer.basis == "fused" and plain.basis == "differential"


def test_the_shipped_detectors_scorer_writes_its_model_json_sections_unchanged(tmp_path):
    from difffake.detector_folder import DEFAULT_DIR, read_model_json

    if not (DEFAULT_DIR / "model.json").is_file():
        pytest.skip("no default detector in this installation")
    shipped = read_model_json(DEFAULT_DIR)
    scorer = Scorer.load(DEFAULT_DIR, shipped)
    written = _save(scorer, tmp_path)
    for section in ("anomaly_config", "calibration", "scorer", "fit"):
        assert written[section] == shipped[section], section
    for name in written["checksums"]:   # the densities read back as they were
        a = np.load(DEFAULT_DIR / name, allow_pickle=False)
        b = np.load(tmp_path / name, allow_pickle=False)
        assert sorted(a.files) == sorted(b.files)
        assert all(np.array_equal(a[k], b[k]) for k in a.files if k != "meta")
        old, new = json.loads(str(a["meta"])), json.loads(str(b["meta"]))
        # since the densities registry a density writes its own parameters only (a gmm no knn_k)
        assert new["params"] == {k: v for k, v in old["params"].items() if k in new["params"]}
        assert {k: v for k, v in new.items() if k != "params"} == {k: v for k, v in old.items() if k != "params"}
