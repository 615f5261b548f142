"""Mean distance to the k nearest training samples (copes with a few hundred samples in high dimension)."""
from __future__ import annotations

import re

import numpy as np

from ..density_score import knn_mean_distance
from .base import Density


class KNNDensity(Density):
    name = "knn"
    PARAMS = ("knn_k",)
    NEEDED = ("train",)

    @classmethod
    def variant_option(cls, token):
        return {"knn_k": int(token[1:])} if re.fullmatch(r"k\d+", token) else None

    @classmethod
    def variant_suffix(cls, cfg):
        return f":k{cfg.knn_k}"

    def _fit(self, X):
        self.arrays = {"train": np.asarray(X, np.float64)}
        self.info["knn_k"] = int(min(self.params["knn_k"], len(X)))

    def _score(self, X):
        return knn_mean_distance(X, self.arrays["train"], self.info["knn_k"])

    def _check_arrays(self) -> None:
        super()._check_arrays()
        k = self.info.get("knn_k")
        if not (isinstance(k, int) and not isinstance(k, bool) and k >= 1):
            raise ValueError(f"info.knn_k must be a positive integer, got {k!r}")
