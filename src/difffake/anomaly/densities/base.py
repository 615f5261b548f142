"""The contract every density follows (pyod-style): fit on real samples, score = higher is more fake.

A density is PCA (optional) followed by one estimator. Subclasses set `name`,
`PARAMS` (the AnomalyConfig fields they read: the config is the one source of
parameters and defaults), `NEEDED` (the fitted arrays their score reads) and
implement `_fit(X)` / `_score(X)` on the projected samples. Any sign flip (a
log-likelihood, an SVM decision value) happens once, inside `_score`.

`to_arrays()` / `from_arrays()` give the npz content: arrays `est_*` (the
estimator's) and `pca_*`, plus a JSON meta {format, params, info, versions};
anomaly.densities.npz writes and reads the file. Scoring needs numpy only.
"""
from __future__ import annotations

import numpy as np

from ...config import AnomalyConfig
from ...versions import versions

FORMAT = "difffake-density-1"
COMMON = ("pca_dims", "seed")      # every density's parameters beside its own PARAMS
PCA_NEEDED = ("mean", "components")


class NotFittedError(RuntimeError):
    """score / to_arrays before fit."""


class Density:
    name: str = ""
    PARAMS: tuple[str, ...] = ()
    NEEDED: tuple[str, ...] = ()

    def __init__(self, pca_dims: int | None = None, seed: int = 0, **params):
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r} for density {self.name!r}: "
                             f"it takes {', '.join(COMMON + self.PARAMS)}")
        defaults = AnomalyConfig()
        self.pca_dims = pca_dims
        self.seed = int(seed)
        self.params = {n: params.get(n, getattr(defaults, n)) for n in self.PARAMS}
        self.pca: dict | None = None      # mean, components, evr (explained_variance_ratio)
        self.arrays: dict = {}            # the estimator's fitted arrays
        self.info: dict = {}

    @classmethod
    def from_config(cls, cfg: AnomalyConfig) -> Density:
        return cls(pca_dims=cfg.pca_dims, seed=cfg.seed, **{n: getattr(cfg, n) for n in cls.PARAMS})

    # ---- evaluate's variant mini-language ('sq:gmm:pca32:diag'): each density its own options
    @classmethod
    def variant_option(cls, token: str) -> dict | None:
        """AnomalyConfig fields a variant token sets for this density; None: not one of its options."""
        return None

    @classmethod
    def variant_suffix(cls, cfg: AnomalyConfig) -> str:
        """What a variant name adds for this density's parameters (e.g. ':full')."""
        return ""

    @property
    def fitted(self) -> bool:
        return bool(self.arrays)

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise NotFittedError(f"the {self.name} density is not fitted: call fit(X) first")

    # ---------------------------------------------------------------- fit
    def fit(self, X: np.ndarray) -> Density:
        X = as_samples(X)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"a density model needs at least 2 real samples, got {n}")
        self.info = {"n_train": int(n), "dim_in": int(d)}
        if self.pca_dims and self.pca_dims < d:
            from sklearn.decomposition import PCA

            k = int(min(self.pca_dims, n, d))
            pca = PCA(n_components=k, random_state=self.seed).fit(X)
            self.pca = {"mean": pca.mean_, "components": pca.components_,
                        "evr": pca.explained_variance_ratio_}
            self.info["pca_dims"] = k
            self.info["pca_explained_variance"] = float(pca.explained_variance_ratio_.sum())
            X = self._project(X)
        else:
            self.pca = None
        self.info["dim_used"] = int(X.shape[1])
        self._fit(X)
        return self

    def _fit(self, X: np.ndarray) -> None:   # sets self.arrays (and self.info entries)
        raise NotImplementedError

    # -------------------------------------------------------------- score
    def score(self, X: np.ndarray) -> np.ndarray:
        """(N,) anomaly scores, higher = further from the real training samples."""
        self._check_fitted()
        X = as_samples(X)
        if X.shape[1] != self.info["dim_in"]:
            raise ValueError(f"samples have {X.shape[1]} dims, the density model was fitted "
                             f"on {self.info['dim_in']}")
        if len(X) == 0:
            return np.zeros(0, np.float64)
        return self._score(self._project(X))

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _project(self, X):
        if self.pca is None:
            return X
        return (X - self.pca["mean"]) @ self.pca["components"].T

    # ------------------------------------------------------ arrays / meta
    def param_record(self) -> dict:
        return {"kind": self.name, "pca_dims": self.pca_dims, "seed": self.seed, **self.params}

    def to_arrays(self) -> tuple[dict, dict]:
        """(arrays, meta) of a fitted density; meta is JSON-serialisable."""
        self._check_fitted()
        arrays = {f"est_{k}": np.asarray(v) for k, v in self.arrays.items()}
        if self.pca is not None:
            arrays.update({f"pca_{k}": np.asarray(v) for k, v in self.pca.items()})
        meta = {"format": FORMAT, "params": self.param_record(), "info": self.info,
                "versions": versions("numpy", "sklearn", "scipy")}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict, meta: dict) -> Density:
        """The fitted density; ValueError when arrays or meta cannot be one (a file may be hand-made).

        `meta["params"]` may hold other densities' parameters too (files written before the
        registry kept every density's parameters): only this density's are read."""
        model = cls(**{k: v for k, v in meta["params"].items() if k in COMMON + cls.PARAMS})
        model.info = dict(meta["info"])
        model.arrays = {k[4:]: np.asarray(v) for k, v in arrays.items() if k.startswith("est_")}
        model.pca = {k[4:]: np.asarray(v) for k, v in arrays.items() if k.startswith("pca_")} or None
        model._check_arrays()
        return model

    def _check_arrays(self) -> None:
        """Every array a score needs is there, real-valued and finite; info says the input width."""
        missing = [f"est_{k}" for k in self.NEEDED if k not in self.arrays]
        if self.pca is not None:
            missing += [f"pca_{k}" for k in PCA_NEEDED if k not in self.pca]
        if missing:
            raise ValueError(f"a {self.name} model needs arrays {missing}")
        for prefix, group in (("est_", self.arrays), ("pca_", self.pca or {})):
            for name, a in group.items():
                if a.dtype.kind not in "fiu" or not np.all(np.isfinite(a)):
                    raise ValueError(f"array {prefix}{name} must hold finite real numbers "
                                     f"(dtype {a.dtype}, shape {a.shape})")
        dim = self.info.get("dim_in")
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"info.dim_in must be a positive integer, got {dim!r}")

    def __repr__(self) -> str:
        state = "fitted" if self.fitted else "not fitted"
        return f"{type(self).__name__}({self.param_record()}, {state})"


def as_samples(X) -> np.ndarray:
    X = np.asarray(X, np.float64)
    if X.ndim != 2:
        raise ValueError(f"samples must be a 2-D array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("samples contain NaN or infinity")
    return X
