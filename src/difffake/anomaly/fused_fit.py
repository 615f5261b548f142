"""Cross-fitted fit of the whole scorer: densities, fusion and every calibration.

Inputs are REAL pool videos (the backbone never trained on them) and one
pseudo-fake twin per real (synthesis.video), which shares its real's fold, so a
fold's densities and fusion never saw either twin. Per fold:
1. the differential and single-frame densities are fitted on the other folds'
   reals, and score the fold's reals and pseudo-fakes (out-of-fold components);
Then, over the out-of-fold components:
2. the fusion is cross-fitted the same way (scales from the other folds' reals,
   weights from their reals vs pseudo-fakes), giving out-of-fold fused scores;
3. the final densities are fitted on every real, the final fusion on every
   out-of-fold component, and each score's threshold and p-values come from the
   out-of-fold scores of the reals (anomaly.calibrate).
The out-of-fold tables also give the pseudo-fake-video validation numbers
(AUC, twin share) that choose between variants without any deepfake.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..config import AnomalyConfig
from .calibrate import Calibration, calibrate
from .fusion import COMPONENTS, Fusion, component_scores
from .model import AnomalyModel


@dataclass
class FusedFit:
    differential: AnomalyModel
    single: AnomalyModel
    fusion: Fusion | None                  # None without classifier probabilities
    calibrations: dict                     # name -> Calibration ("fused" and each component)
    oof_real: dict                         # name -> (n_real,) out-of-fold scores
    oof_fake: dict                         # name -> (n_real,) scores of each real's pseudo-fake twin
    folds: np.ndarray

    def validation(self, keep=None) -> dict:
        """{name: {auc, twin_share, n}} on the pseudo-fake videos vs the real pool (out-of-fold);
        `keep`: a boolean mask of the entries to count (e.g. one kind of twin), default all."""
        from sklearn.metrics import roc_auc_score as roc_auc

        out = {}
        for name, real in self.oof_real.items():
            fake = self.oof_fake[name]
            ok = np.isfinite(real) & np.isfinite(fake)
            if keep is not None:
                ok &= np.asarray(keep, bool)
            if ok.sum() < 2:
                continue
            y = np.r_[np.zeros(ok.sum()), np.ones(ok.sum())]
            out[name] = {"auc": float(roc_auc(y, np.r_[real[ok], fake[ok]])),
                         "twin_share": float(np.mean(fake[ok] > real[ok])), "n": int(ok.sum())}
        return out


def single_config(cfg: AnomalyConfig) -> AnomalyConfig:
    return dataclasses.replace(cfg, combine="single")


def _rows(scores: dict, idx) -> list[dict]:
    return [{k: float(v[i]) for k, v in scores.items()} for i in idx]


def fit_fused(cfg: AnomalyConfig, real_embs: list, real_probs: list, fake_embs: list,
              fake_probs: list, folds, ids=None, components=COMPONENTS, say=None) -> FusedFit:
    folds = np.asarray(folds)
    n = len(real_embs)
    if not (len(real_probs) == len(fake_embs) == len(fake_probs) == len(folds) == n):
        raise ValueError("every real video needs its probabilities, a pseudo-fake twin and a fold")
    if len(np.unique(folds)) < 2:
        raise ValueError("cross-fitting needs >= 2 folds")
    has_probs = all(p is not None and len(p) for p in real_probs + fake_probs if p is not None)
    names = [c for c in components if has_probs or not c.startswith("classifier")]
    oof_real = {c: np.full(n, np.nan) for c in names}
    oof_fake = {c: np.full(n, np.nan) for c in names}
    for f in np.unique(folds):
        held, train = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
        dm = AnomalyModel(cfg).fit([real_embs[i] for i in train])
        sm = AnomalyModel(single_config(cfg)).fit([real_embs[i] for i in train])
        for i in held:
            for table, emb, probs in ((oof_real, real_embs[i], real_probs[i]),
                                      (oof_fake, fake_embs[i], fake_probs[i])):
                for k, v in component_scores(emb, probs, dm, sm).items():
                    if k in table:
                        table[k][i] = v
        if say:
            say(f"fold {int(f) + 1}/{len(np.unique(folds))}: densities fitted on {len(train)} videos")
    fusion = None
    if has_probs and len(names) > 1:
        oof_real["fused"], oof_fake["fused"] = np.full(n, np.nan), np.full(n, np.nan)
        comp_r = {c: oof_real[c] for c in names}
        comp_f = {c: oof_fake[c] for c in names}
        for f in np.unique(folds):
            held, train = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
            fold_fusion = Fusion.fit(_rows(comp_r, train), _rows(comp_f, train), names)
            for i in held:
                oof_real["fused"][i] = fold_fusion.score(_rows(comp_r, [i])[0])
                oof_fake["fused"][i] = fold_fusion.score(_rows(comp_f, [i])[0])
        fusion = Fusion.fit(_rows(comp_r, range(n)), _rows(comp_f, range(n)), names)
    ids = list(ids) if ids is not None else [str(i) for i in range(n)]
    calibrations = {}
    for name, scores in oof_real.items():
        usable = [v for v, s in zip(ids, scores) if np.isfinite(s)]
        calibrations[name] = calibrate(scores, cfg.target_fpr, ids=usable)
    differential = AnomalyModel(cfg).fit(real_embs, ids=ids)
    single = AnomalyModel(single_config(cfg)).fit(real_embs, ids=ids)
    return FusedFit(differential, single, fusion, calibrations, oof_real, oof_fake, folds)


def calibrations_to_dict(calibrations: dict) -> dict:
    return {k: c.to_dict() for k, c in calibrations.items()}


def calibrations_from_dict(d: dict) -> dict:
    return {k: Calibration.from_dict(v) for k, v in d.items()}
