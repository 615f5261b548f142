"""Cross-fitted calibration: group folds, out-of-fold scores, `fit --calibration`, evaluate variants."""
import csv
import json
import typing

import numpy as np
import pytest

from difffake.anomaly import crossfit as cfmod
from difffake.anomaly.crossfit import crossfit
from difffake.anomaly.model import AnomalyModel
from difffake.config import AnomalyConfig
from difffake.splits import assign_folds, group_videos
from difffake.splits import default_group as group_key

CFG = AnomalyConfig(density="knn", knn_k=2, pca_dims=None)


def _pool(seed=0):
    """11 synthetic videos in 5 source groups of uneven size (ids named like shared/data/real)."""
    rng = np.random.default_rng(seed)
    sizes = {"a__r": 4, "b__r": 2, "c__r": 2, "d__r": 2, "e__r": 1}
    ids = [f"{g}__clip{j}.mp4" for g, n in sizes.items() for j in range(n)]
    return sorted(ids), {v: rng.normal(size=(6, 8)) for v in ids}


def test_folds_hold_whole_groups_and_are_seeded():
    ids, _ = _pool()
    folds = assign_folds(ids, 3, seed=0)
    assert set(folds) == set(ids) and set(folds.values()) == {0, 1, 2}
    for members in group_videos(ids).values():                    # a group never spans two folds
        assert len({folds[v] for v in members}) == 1
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 2                          # balanced given the 4-video group
    assert assign_folds(ids, 3, seed=0) == folds                   # deterministic
    assert any(assign_folds(ids, 3, seed=s) != folds for s in range(1, 8))   # seed matters
    assert set(assign_folds(ids, 9, seed=0).values()) == set(range(5))      # K capped at #groups
    with pytest.raises(ValueError, match="group"):
        assign_folds(["a__r__1.mp4", "a__r__2.mp4"], 5, seed=0)


class _Spy(AnomalyModel):
    """Records, per model, which videos (by array identity) it was fitted on and scored."""
    log: typing.ClassVar[list] = []

    def fit(self, videos, ids=None):
        self._seen = [id(v) for v in videos]
        return super().fit(videos, ids)

    def score_videos(self, videos):
        _Spy.log.append((self._seen, [id(v) for v in videos]))
        return super().score_videos(videos)


def test_each_video_scored_once_by_a_model_blind_to_its_group(monkeypatch):
    ids, embs = _pool()
    folds = assign_folds(ids, 3, seed=1)
    videos = [embs[v] for v in ids]
    name = {id(e): v for v, e in zip(ids, videos)}
    _Spy.log = []
    monkeypatch.setattr(cfmod, "AnomalyModel", _Spy)
    cf = crossfit(CFG, videos, [folds[v] for v in ids], ids=ids)

    scored = [name[k] for _, batch in _Spy.log for k in batch]
    assert sorted(scored) == ids                                   # exactly one OOF score each
    for seen, batch in _Spy.log:
        seen_groups = {group_key(name[k]) for k in seen}
        assert not seen_groups & {group_key(name[k]) for k in batch}
    assert np.isfinite(cf.oof_scores).all() and len(cf.oof_scores) == len(ids)
    assert cf.model.info["n_videos"] == len(ids) and cf.model.info["ids"] == ids   # final: all videos
    assert cf.calibration.n == len(ids)
    assert np.array_equal(cf.calibration.scores, np.sort(cf.oof_scores))
    # the final model is not the one that produced the OOF scores: its in-sample scores differ
    assert not np.allclose(cf.model.score_videos(videos), cf.oof_scores)

    again = crossfit(CFG, videos, [folds[v] for v in ids], ids=ids)
    assert np.array_equal(again.oof_scores, cf.oof_scores)
    assert again.calibration.threshold == cf.calibration.threshold


def _fit(tmp_path, tiny_backbone, tiny_store, out, *extra, fusion=False):
    from difffake.cli import main

    run = tmp_path / "run"
    if not run.exists():
        tiny_backbone.save(run)
    code = main(["fit", "--backbone", str(run), "--store", str(tiny_store.root), "--out", str(out),
                 "--no-exclude", "--density", "knn", "--knn-k", "2", "--pca", "0",
                 "--cache", str(tmp_path / "c"), *([] if fusion else ["--no-fusion"]),
                 "--allow-small-calibration", *extra])
    return code, json.loads((out / "model.json").read_text()) if code == 0 else None


def test_fit_crossfit_default_records_folds_and_oof(tiny_backbone, tiny_store,
                                                    synthetic_folder_dataset, tmp_path, capsys,
                                                    monkeypatch):
    from difffake.cli import main
    from difffake.embeddings import embed_store

    code, card = _fit(tmp_path, tiny_backbone, tiny_store, tmp_path / "det")
    assert code == 0
    err = capsys.readouterr().err
    ids = sorted(tiny_store.ids())
    assert "3 folds" in err and "asked for 5" in err and f"fitted on all {len(ids)}" in err
    info, cal = card["info"], card["calibration"]
    assert info["calibration_method"] == "crossfit" and info["folds"] == 3
    assert sorted(info["fold_of"]) == ids and sorted(info["oof_scores"]) == ids
    assert card["fit"]["n_videos"] == len(ids) and card["fit"]["ids"] == ids   # final model: whole pool
    assert cal["n"] == len(ids) and cal["ids"] == ids
    assert cal["scores"] == sorted(info["oof_scores"].values())

    # each recorded OOF score = a model fitted on the other folds only (cached embeddings)
    embs = embed_store(tiny_backbone, tiny_store, ids, cache_dir=tmp_path / "c")
    for v in ids:
        others = [embs[u].emb for u in ids if info["fold_of"][u] != info["fold_of"][v]]
        want = AnomalyModel(AnomalyConfig(**card["anomaly_config"])).fit(others).score_video(embs[v].emb)
        assert info["oof_scores"][v] == pytest.approx(want.score, rel=1e-9)

    code, again = _fit(tmp_path, tiny_backbone, tiny_store, tmp_path / "det2")   # seeded: same result
    assert (again["info"]["fold_of"], again["info"]["oof_scores"], again["calibration"]) == (
        info["fold_of"], info["oof_scores"], cal)

    # evaluate --variants on a crossfit detector: variants cross-fitted over the same folds
    import difffake.evaluation.variants as ev  # where variant_scorers looks fit_variant up
    calls = []

    def spy(cfg, fit_embs, cal_embs, folds=None):
        model, c = real_fit_variant(cfg, fit_embs, cal_embs, folds)
        calls.append((folds, c.n))
        return model, c
    real_fit_variant = ev.fit_variant
    monkeypatch.setattr(ev, "fit_variant", spy)
    ds = synthetic_folder_dataset
    code = main(["evaluate", "--detector", str(tmp_path / "det"), "--dataset", f"auto:{ds}",
                 "--out", str(tmp_path / "rep"), "--variants", "sq:knn:nopca:k2,classifier",
                 "--bootstrap", "20", "--cache", str(tmp_path / "c")])
    assert code == 0
    assert calls == [([info["fold_of"][v] for v in info["fit_ids"]], len(ids))]
    with open(tmp_path / "rep" / "variants.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["variant"] for r in rows] == ["detector", "sq:knn:nopca:k2",
                                            "classifier (backbone mean P(fake))"]
    assert all(r["auc"] != "" for r in rows)


def test_fit_holdout_unchanged(tiny_backbone, tiny_store, tmp_path, capsys):
    from difffake.workflows.fit_methods import split_pool

    code, card = _fit(tmp_path, tiny_backbone, tiny_store, tmp_path / "det", "--calibration", "holdout")
    assert code == 0
    info = card["info"]
    fit_ids, cal_ids, _ = split_pool(tiny_store.ids(), 0.3, 0, "group")   # the pre-crossfit rule
    assert (info["calibration_method"], info["fit_ids"], info["cal_ids"]) == ("holdout", fit_ids, cal_ids)
    assert not set(fit_ids) & set(cal_ids) and "fold_of" not in info
    assert card["fit"]["ids"] == fit_ids and card["calibration"]["ids"] == cal_ids
    assert "held-out" in capsys.readouterr().err

    code, _ = _fit(tmp_path, tiny_backbone, tiny_store, tmp_path / "bad", "--calibration", "crossfit",
                   "--cal-ids-file", str(tmp_path / "none.txt"))
    assert code != 0 and "--calibration holdout" in capsys.readouterr().err


def test_fit_fused_default_writes_every_score_and_its_validation(tiny_backbone, tiny_store, tmp_path, capsys):
    """Default fit: densities + fusion cross-fitted on the pool and its pseudo-fake twins."""
    from difffake.detector import Detector

    run = tmp_path / "run"
    tiny_backbone.save(run)
    out = tmp_path / "det"
    from difffake.cli import main

    code = main(["fit", "--backbone", str(run), "--store", str(tiny_store.root), "--out", str(out),
                 "--no-exclude", "--density", "knn", "--knn-k", "2", "--pca", "0",
                 "--cache", str(tmp_path / "c"), "--split-by", "video", "--folds", "3"])
    assert code == 2          # a handful of videos cannot resolve a 5 % FPR: refused, exit 2
    assert "it needs at least 20" in capsys.readouterr().err
    code = main(["fit", "--backbone", str(run), "--store", str(tiny_store.root), "--out", str(out),
                 "--no-exclude", "--density", "knn", "--knn-k", "2", "--pca", "0",
                 "--cache", str(tmp_path / "c"), "--split-by", "video", "--folds", "3",
                 "--allow-small-calibration"])
    assert code == 0
    err = capsys.readouterr().err
    assert "pseudo-fake videos vs real pool (out-of-fold): fused" in err and "verdict basis: fused" in err
    card = json.loads((out / "model.json").read_text())
    ids = sorted(tiny_store.ids())
    entries = ids + [f"degraded/{v}" for v in ids]
    assert sorted(card["info"]["fit_entries"]) == sorted(entries)
    assert set(card["scorer"]["calibrations"]) == {"fused", "differential", "single",
                                                   "classifier_mean", "classifier_q90"}
    assert all(c["n"] == len(entries) for c in card["scorer"]["calibrations"].values())
    assert set(card["info"]["pseudo_fake_validation"]) >= {"fused", "differential"}
    from sklearn.metrics import roc_auc_score

    real, fake = card["info"]["oof_component_scores"], card["info"]["oof_pseudo_fake_scores"]
    for name, v in card["info"]["pseudo_fake_validation"].items():   # the twins' scores give its AUC again
        assert sorted(fake[name]) == sorted(entries)
        ok = [e for e in entries if real[name][e] is not None and fake[name][e] is not None]
        auc = roc_auc_score([0] * len(ok) + [1] * len(ok), [real[name][e] for e in ok] + [fake[name][e] for e in ok])
        assert auc == pytest.approx(v["auc"]) and len(ok) == v["n"]
    assert "differential" in card["info"]["calibration_warnings"]
    assert "density_single.npz" in card["checksums"]
    det = Detector.load(out)
    assert det.basis == "fused" and det.available_bases() == ["fused", "differential", "classifier"]
    rec = tiny_store.load(ids[0])
    res = det.result("x.mp4", "x", rec, det.anomaly.score_video(det.embed_record(rec)),
                     det.frame_fake_prob(det.embed_record(rec)), emb=det.embed_record(rec))
    names = [c["name"] for c in res.components]
    assert names[0] == "fused" and set(names) == set(card["scorer"]["calibrations"])
    fused = res.components[0]
    assert res.score == fused["score"] and res.threshold == fused["threshold"]
    assert res.verdict == ("fake" if res.score >= res.threshold else "real")
    assert res.differential_score == det.anomaly.score_video(det.embed_record(rec)).score


def test_fit_with_other_identity_twins_records_donors_of_the_same_fold(tiny_backbone, tiny_store, tmp_path, capsys):
    """--other-identity-twins 1: every twin whose fold holds another video carries that video's face."""
    code, card = _fit(tmp_path, tiny_backbone, tiny_store, tmp_path / "det", "--split-by", "video", "--folds", "2",
                      "--other-identity-twins", "1", fusion=True)
    assert code == 0
    assert "other identity twins only: fused AUC" in capsys.readouterr().err
    info = card["info"]
    donors, fold_of = info["pseudo_fake_recipe"]["donors"], info["fold_of"]
    shared = sorted(v for v in fold_of if list(fold_of.values()).count(fold_of[v]) > 1)
    assert sorted(donors) == sorted(shared + [f"degraded/{v}" for v in shared])   # re-captures keep the donor
    assert all(d != v.removeprefix("degraded/") and fold_of[d] == fold_of[v.removeprefix("degraded/")]
               for v, d in donors.items())
    assert info["pseudo_fake_recipe"]["other_identity_share"] == 1.0
    by_kind = info["pseudo_fake_validation_by_kind"]
    assert by_kind["other identity"]["fused"]["n"] == len(donors)
    assert by_kind["self-blend"]["fused"]["n"] == 2 * len(fold_of) - len(donors)   # the video alone in its fold
