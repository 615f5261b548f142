"""AnomalyModel: per-video embeddings -> pairs -> features -> density -> video score.

Pairs for scoring use a generator seeded by cfg.seed alone, so a video's score
does not depend on which other videos are scored or in what order. Fitting
draws each video's pairs from (cfg.seed, video position).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import AnomalyConfig, section_from_dict
from . import combine as _combine
from .densities import density_from_config
from .densities.npz import load_density, save_density
from .pairs import make_pairs

REDUCES = ("mean", "median", "trimmed")
DENSITY_FILE = "density.npz"


@dataclass
class VideoScore:
    """score: higher = more fake; NaN when status is not 'ok'.

    status: 'ok' | 'no_face' (no frame with a face) | 'too_few_faces' (one face
    frame: a differential model needs two).
    pairs index the face frames given to score_video; (i, i) for combine='single'.
    """
    score: float
    pair_scores: np.ndarray
    pairs: np.ndarray
    n_frames_with_face: int
    status: str = "ok"

    def to_dict(self) -> dict:
        return {"score": None if not np.isfinite(self.score) else float(self.score),
                "pair_scores": [float(v) for v in self.pair_scores],
                "pairs": [[int(a), int(b)] for a, b in self.pairs],
                "n_frames_with_face": int(self.n_frames_with_face), "status": self.status}


class AnomalyModel:
    def __init__(self, cfg: AnomalyConfig | None = None):
        self.cfg = cfg or AnomalyConfig()
        if self.cfg.combine not in _combine.COMBINES:
            raise ValueError(f"unknown combine {self.cfg.combine!r}: choose one of {_combine.COMBINES}")
        if self.cfg.video_reduce not in REDUCES:
            raise ValueError(f"unknown video_reduce {self.cfg.video_reduce!r}: choose one of {REDUCES}")
        self.density = density_from_config(self.cfg)
        self.info: dict = {}

    @property
    def min_faces(self) -> int:
        return 1 if self.cfg.combine == "single" else 2

    # ------------------------------------------------------------ samples
    def pairs_for(self, n: int, rng=None) -> np.ndarray:
        if self.cfg.combine == "single":
            i = np.arange(n, dtype=np.int64)
            return np.stack([i, i], axis=1)
        c = self.cfg
        return make_pairs(n, c.pairing, c.num_partners, c.max_pairs,
                          rng=c.seed if rng is None else rng)

    def features(self, emb: np.ndarray, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """(samples (P, D), pairs (P, 2)) of one video's face-frame embeddings (F, D)."""
        emb = _check_emb(emb)
        pairs = self.pairs_for(len(emb), rng)
        return _combine.features(emb, pairs, self.cfg.combine), pairs

    # ---------------------------------------------------------------- fit
    def fit(self, videos: list, ids=None) -> AnomalyModel:
        """Fit the density on the samples of REAL videos: list of (F, D) embeddings."""
        feats, used = [], 0
        for k, emb in enumerate(videos):
            emb = _check_emb(emb)
            if len(emb) < self.min_faces:
                continue
            f, _ = self.features(emb, rng=np.random.default_rng([self.cfg.seed, k]))
            feats.append(f)
            used += 1
        if not feats:
            raise ValueError(f"no fit video has the {self.min_faces} face frame(s) needed")
        X = np.concatenate(feats)
        self.density.fit(X)
        self.info = {"n_videos": used, "n_videos_skipped": len(videos) - used,
                     "n_samples": len(X), "density": self.density.info,
                     "ids": list(ids) if ids is not None else []}
        return self

    # -------------------------------------------------------------- score
    def score_video(self, emb: np.ndarray) -> VideoScore:
        emb = _check_emb(emb)
        n = len(emb)
        if n < self.min_faces:
            status = "no_face" if n == 0 else "too_few_faces"
            return VideoScore(float("nan"), np.zeros(0), np.zeros((0, 2), np.int64), n, status)
        f, pairs = self.features(emb)
        pair_scores = self.density.score(f)
        return VideoScore(self.reduce(pair_scores), pair_scores, pairs, n, "ok")

    def score_videos(self, videos: list) -> np.ndarray:
        """Video scores (NaN where a video cannot be scored)."""
        return np.array([self.score_video(e).score for e in videos], np.float64)

    def reduce(self, pair_scores: np.ndarray) -> float:
        r = self.cfg.video_reduce
        if r == "mean":
            return float(np.mean(pair_scores))
        if r == "median":
            return float(np.median(pair_scores))
        from scipy.stats import (
            trim_mean,  # here: importing scipy.stats costs ~0.5 s of a cold scan
        )
        return float(trim_mean(pair_scores, self.cfg.trim_fraction))

    # -------------------------------------------------------- save / load
    def save(self, directory, name: str = DENSITY_FILE) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        extra = {"anomaly_config": dataclasses.asdict(self.cfg), "fit": self.info}
        return save_density(self.density, directory / name, extra=extra)

    @classmethod
    def load(cls, directory) -> AnomalyModel:
        path = Path(directory)
        if path.is_dir():
            path = path / DENSITY_FILE
        density, extra = load_density(path, with_extra=True)
        if not isinstance(extra.get("anomaly_config"), dict) or not isinstance(extra.get("fit", {}), dict):
            raise ValueError("meta needs 'anomaly_config' and 'fit' objects")
        cfg = section_from_dict(AnomalyConfig, extra["anomaly_config"], f"{path.name} anomaly_config")
        model = cls(cfg)
        model.density = density
        model.info = extra.get("fit", {})
        return model


def _check_emb(emb) -> np.ndarray:
    emb = np.asarray(emb, np.float64)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be (frames, dims), got shape {emb.shape}")
    return emb
