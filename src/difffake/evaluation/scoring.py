"""Scorers (video -> score, status) for the detector, its fused components and refitted
variants, and the scoring of every video by each into one row per protocol subset."""
from __future__ import annotations

import numpy as np

from ..anomaly.model import AnomalyModel
from ..progress import bar as progress_bar
from .protocols import Subset, VideoItem, average_rows, subset_row


def score_items(items: list[VideoItem], scorer, progress=None) -> tuple[np.ndarray, list[str]]:
    """(scores, statuses): scorer(item) -> (score, status); NaN where status != 'ok'.
    `progress`: a progress bar advanced by one per video."""
    scores, statuses = np.full(len(items), np.nan), []
    for k, it in enumerate(items):
        if progress is not None:
            progress.update()
        if it.status != "ok":
            statuses.append(it.status)
            continue
        s, st = scorer(it)
        statuses.append(st)
        if st == "ok":
            scores[k] = s
    return scores, statuses


def anomaly_scorer(model: AnomalyModel):
    def score(item: VideoItem):
        vs = model.score_video(item.emb)
        return vs.score, ("ok" if vs.status == "ok" else "no_face")
    return score


def detector_scorers(detector) -> dict:
    """{row name: (scorer, stored threshold)}: 'detector' is the verdict's basis score; a fused
    detector adds a row per component (scores computed once per video, then shared)."""
    from ..anomaly.scorer import BASIS_COMPONENT

    cache: dict = {}

    def scores_of(item):
        if id(item) not in cache:
            cache[id(item)] = detector.scores(item.emb, item.fake_prob)
        return cache[id(item)]

    def scorer_for(name):
        def score(item: VideoItem):
            v = scores_of(item).get(name, float("nan"))
            return v, ("ok" if np.isfinite(v) else "no_face")
        return score

    basis = BASIS_COMPONENT[detector.basis]
    cal = detector.calibrations.get(basis)
    out = {"detector": (scorer_for(basis), cal.threshold if cal else None)}
    if detector.fusion is not None:
        for name in ("fused", "differential", "single", "classifier_mean", "classifier_q90"):
            if name != basis and name in detector.calibrations:
                out[f"detector:{name}"] = (scorer_for(name), detector.calibrations[name].threshold)
    return out


def classifier_scorer(item: VideoItem):
    """The backbone's own mean per-frame fake probability (SBI-style baseline)."""
    if item.fake_prob is None or len(item.fake_prob) == 0:
        return float("nan"), "no_face"
    return float(np.mean(item.fake_prob)), "ok"


def evaluate_scorers(items: list[VideoItem], subsets: list[Subset], scorers: dict,
                     seed: int = 0, n_boot: int = 1000, desc: str = "") -> tuple[list[dict], dict]:
    """Rows for every (scorer, subset) + averages; scorers: name -> (scorer fn, threshold or None).

    Returns (rows, {name: (scores, statuses)}); `desc` names the progress bar.
    """
    rows, scored = [], {}
    # one bar for all scorers: a fused detector's first scorer computes every component
    # per video (minutes on a big set), the others reuse them
    progress = progress_bar(total=len(items) * len(scorers), desc=f"score {desc}".strip(), unit="score")
    for name, (fn, threshold) in scorers.items():
        scores, statuses = score_items(items, fn, progress)
        scored[name] = (scores, statuses)
        mine = [subset_row(s, items, scores, statuses, threshold, name, seed, n_boot) for s in subsets]
        rows += mine + average_rows(mine, subsets, statuses, [it.in_detector_fit for it in items])
    progress.close()
    return rows, scored
