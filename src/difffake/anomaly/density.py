"""Density models fitted on real samples only; `score` is higher = more anomalous.

Kinds: "gmm" (paper: 3 components, full covariance, k-means init, 250
iterations), "ocsvm" (RBF one-class SVM), "knn" (mean distance to the k nearest
training samples; copes with a few hundred samples in high dimension).
An optional PCA comes first; its explained variance is recorded because
untrained pair features are mostly noise (see FINDINGS: PCA 32 kept 48 %).

The GMM log-likelihood and the OC-SVM decision value are negated here, once,
so that every caller sees higher = more fake.

Saved as one .npz (allow_pickle=False) holding arrays plus a JSON `meta`
string (parameters, fit info, library versions). The GMM is rebuilt from its
public fitted arrays; the OC-SVM is scored by `_ocsvm_decision` from its support
vectors, dual coefficients, intercept and gamma (tested equal to sklearn's).
"""
from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import OneClassSVM

KINDS = ("gmm", "ocsvm", "knn")
FORMAT = "difffake-density-1"
META_KEYS = ("format", "params", "info", "versions")   # to_arrays' meta; anything else is `extra`


def versions() -> dict:
    import scipy

    from .. import __version__
    return {"difffake": __version__, "numpy": np.__version__, "sklearn": sklearn.__version__,
            "scipy": scipy.__version__, "python": platform.python_version()}


@dataclass
class DensityParams:
    kind: str = "gmm"
    pca_dims: int | None = None
    gmm_components: int = 3
    gmm_covariance: str = "full"      # "full" | "diag" | "tied" | "spherical"
    gmm_reg: float = 1e-4
    gmm_max_iter: int = 250
    knn_k: int = 5
    ocsvm_nu: float = 0.1
    ocsvm_gamma: str | float = "scale"
    seed: int = 0

    @classmethod
    def from_config(cls, cfg) -> "DensityParams":
        names = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in asdict(cfg).items() if k in names}
        values["kind"] = cfg.density
        return cls(**values)


class DensityModel:
    """PCA (optional) followed by one density estimator."""

    def __init__(self, params: DensityParams | None = None, **kwargs):
        self.params = params or DensityParams(**kwargs)
        if self.params.kind not in KINDS:
            raise ValueError(f"unknown density model {self.params.kind!r}: choose one of {KINDS}")
        self.pca: dict | None = None      # mean, components, explained_variance_ratio
        self.arrays: dict = {}            # the estimator's fitted arrays
        self.info: dict = {}
        self._gmm = None
        self._nn = None

    @property
    def fitted(self) -> bool:
        return bool(self.arrays)

    # ---------------------------------------------------------------- fit
    def fit(self, X: np.ndarray) -> "DensityModel":
        X = _as_2d(X)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"a density model needs at least 2 real samples, got {n}")
        p = self.params
        self.info = {"n_train": int(n), "dim_in": int(d)}
        if p.pca_dims and p.pca_dims < d:
            k = int(min(p.pca_dims, n, d))
            pca = PCA(n_components=k, random_state=p.seed).fit(X)
            self.pca = {"mean": pca.mean_, "components": pca.components_,
                        "evr": pca.explained_variance_ratio_}
            self.info["pca_dims"] = k
            self.info["pca_explained_variance"] = float(pca.explained_variance_ratio_.sum())
            X = self._project(X)
        else:
            self.pca = None
        self.info["dim_used"] = int(X.shape[1])
        getattr(self, f"_fit_{p.kind}")(X)
        return self

    def _fit_gmm(self, X):
        p = self.params
        k = int(min(p.gmm_components, len(X)))
        gm = GaussianMixture(n_components=k, covariance_type=p.gmm_covariance, reg_covar=p.gmm_reg,
                             max_iter=p.gmm_max_iter, init_params="kmeans", random_state=p.seed)
        gm.fit(X)
        self.arrays = {"weights": gm.weights_, "means": gm.means_, "covariances": gm.covariances_,
                       "precisions_cholesky": gm.precisions_cholesky_,
                       "precisions": gm.precisions_}
        self.info.update(gmm_components=k, converged=bool(gm.converged_), n_iter=int(gm.n_iter_),
                         lower_bound=float(gm.lower_bound_))
        self._gmm = gm

    def _fit_ocsvm(self, X):
        p = self.params
        svm = OneClassSVM(kernel="rbf", nu=p.ocsvm_nu, gamma=p.ocsvm_gamma).fit(X)
        self.arrays = {"support_vectors": svm.support_vectors_, "dual_coef": svm.dual_coef_[0],
                       "intercept": np.asarray(svm.intercept_, np.float64),
                       "gamma": np.asarray([svm._gamma], np.float64)}
        self.info.update(n_support=int(len(svm.support_vectors_)), gamma=float(svm._gamma))

    def _fit_knn(self, X):
        self.arrays = {"train": np.asarray(X, np.float64)}
        self.info["knn_k"] = int(min(self.params.knn_k, len(X)))

    # -------------------------------------------------------------- score
    def score(self, X: np.ndarray) -> np.ndarray:
        """(N,) anomaly scores, higher = further from the real training samples."""
        if not self.fitted:
            raise RuntimeError("density model is not fitted")
        X = _as_2d(X)
        if X.shape[1] != self.info["dim_in"]:
            raise ValueError(f"samples have {X.shape[1]} dims, the density model was fitted "
                             f"on {self.info['dim_in']}")
        if len(X) == 0:
            return np.zeros(0, np.float64)
        X = self._project(X)
        kind = self.params.kind
        if kind == "gmm":
            return -self._gmm_model().score_samples(X)
        if kind == "ocsvm":
            return -_ocsvm_decision(X, self.arrays["support_vectors"], self.arrays["dual_coef"],
                                    float(self.arrays["intercept"][0]), float(self.arrays["gamma"][0]))
        dist, _ = self._knn_model().kneighbors(X, n_neighbors=self.info["knn_k"])
        return dist.mean(axis=1)

    def _project(self, X):
        if self.pca is None:
            return X
        return (X - self.pca["mean"]) @ self.pca["components"].T

    def _gmm_model(self) -> GaussianMixture:
        if self._gmm is None:   # rebuilt from the saved arrays: public fitted attributes
            a, p = self.arrays, self.params
            gm = GaussianMixture(n_components=len(a["weights"]), covariance_type=p.gmm_covariance,
                                 reg_covar=p.gmm_reg, max_iter=p.gmm_max_iter, random_state=p.seed)
            gm.weights_ = a["weights"]
            gm.means_ = a["means"]
            gm.covariances_ = a["covariances"]
            gm.precisions_cholesky_ = a["precisions_cholesky"]
            gm.precisions_ = a["precisions"]
            gm.converged_ = self.info.get("converged", True)
            gm.n_iter_ = self.info.get("n_iter", 0)
            gm.lower_bound_ = self.info.get("lower_bound", 0.0)
            gm.n_features_in_ = a["means"].shape[1]
            self._gmm = gm
        return self._gmm

    def _knn_model(self) -> NearestNeighbors:
        if self._nn is None:
            self._nn = NearestNeighbors(n_neighbors=self.info["knn_k"]).fit(self.arrays["train"])
        return self._nn

    # -------------------------------------------------------- save / load
    def to_arrays(self) -> tuple[dict, dict]:
        """(arrays, meta): what save() writes; meta is JSON-serialisable."""
        arrays = {f"est_{k}": np.asarray(v) for k, v in self.arrays.items()}
        if self.pca is not None:
            arrays.update({f"pca_{k}": np.asarray(v) for k, v in self.pca.items()})
        meta = {"format": FORMAT, "params": asdict(self.params), "info": self.info,
                "versions": versions()}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict, meta: dict) -> "DensityModel":
        if meta.get("format") != FORMAT:
            raise ValueError(f"not a difffake density model (format {meta.get('format')!r})")
        model = cls(DensityParams(**meta["params"]))
        model.info = dict(meta["info"])
        model.arrays = {k[4:]: np.asarray(v) for k, v in arrays.items() if k.startswith("est_")}
        pca = {k[4:]: np.asarray(v) for k, v in arrays.items() if k.startswith("pca_")}
        model.pca = pca or None
        return model

    def save(self, path, extra: dict | None = None) -> Path:
        """One .npz (atomic); `extra`: more JSON metadata kept beside the model's own."""
        import io

        from ..fileio import atomic_write_bytes

        path = Path(path)
        arrays, meta = self.to_arrays()
        clash = set(extra or {}) & set(meta)
        if clash:
            raise ValueError(f"extra metadata keys {sorted(clash)} are the density model's own")
        meta.update(extra or {})
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path, with_extra: bool = False):
        """The model; with_extra=True: (model, the `extra` dict given to save)."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in data.files if k != "meta"}
        model = cls.from_arrays(arrays, meta)
        if not with_extra:
            return model
        return model, {k: v for k, v in meta.items() if k not in META_KEYS}


def _ocsvm_decision(X, support_vectors, dual_coef, intercept, gamma) -> np.ndarray:
    """sum_i alpha_i exp(-gamma |x - sv_i|^2) + intercept (= sklearn decision_function)."""
    sq = (np.sum(X * X, axis=1)[:, None] + np.sum(support_vectors ** 2, axis=1)[None, :]
          - 2.0 * X @ support_vectors.T)
    return np.exp(-gamma * np.maximum(sq, 0.0)) @ dual_coef + intercept


def _as_2d(X) -> np.ndarray:
    X = np.asarray(X, np.float64)
    if X.ndim != 2:
        raise ValueError(f"samples must be a 2-D array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("samples contain NaN or infinity")
    return X
