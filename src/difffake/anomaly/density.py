"""Density models fitted on real samples only; `score` is higher = more anomalous.

Kinds: "gmm" (paper: 3 components, full covariance, k-means init, 250
iterations), "ocsvm" (RBF one-class SVM), "knn" (mean distance to the k nearest
training samples; copes with a few hundred samples in high dimension).
An optional PCA comes first; its explained variance is recorded because
untrained pair features are mostly noise (see FINDINGS: PCA 32 kept 48 %).

The GMM log-likelihood and the OC-SVM decision value are negated here, once,
so that every caller sees higher = more fake.

Saved as one .npz (allow_pickle=False) holding arrays plus a JSON `meta`
string (parameters, fit info, library versions). Scoring needs numpy/scipy
only (anomaly.density_score, tested equal to sklearn's score_samples,
decision_function and kneighbors): scikit-learn is imported for fitting alone,
so a scan never loads it.
"""
from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .density_score import gmm_log_likelihood, knn_mean_distance, ocsvm_decision

KINDS = ("gmm", "ocsvm", "knn")
FORMAT = "difffake-density-1"
META_KEYS = ("format", "params", "info", "versions")   # to_arrays' meta; anything else is `extra`


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    def of(dist):   # without importing it (sklearn is absent from the base install)
        try:
            return version(dist)
        except PackageNotFoundError:
            return None
    return {"difffake": __version__, "numpy": np.__version__, "sklearn": of("scikit-learn"),
            "scipy": of("scipy"), "python": platform.python_version()}


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
    def from_config(cls, cfg) -> DensityParams:
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

    @property
    def fitted(self) -> bool:
        return bool(self.arrays)

    # ---------------------------------------------------------------- fit
    def fit(self, X: np.ndarray) -> DensityModel:
        X = _as_2d(X)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"a density model needs at least 2 real samples, got {n}")
        p = self.params
        self.info = {"n_train": int(n), "dim_in": int(d)}
        if p.pca_dims and p.pca_dims < d:
            from sklearn.decomposition import PCA

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
        from sklearn.mixture import GaussianMixture

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

    def _fit_ocsvm(self, X):
        from sklearn.svm import OneClassSVM

        p = self.params
        svm = OneClassSVM(kernel="rbf", nu=p.ocsvm_nu, gamma=p.ocsvm_gamma).fit(X)
        self.arrays = {"support_vectors": svm.support_vectors_, "dual_coef": svm.dual_coef_[0],
                       "intercept": np.asarray(svm.intercept_, np.float64),
                       "gamma": np.asarray([svm._gamma], np.float64)}
        self.info.update(n_support=len(svm.support_vectors_), gamma=float(svm._gamma))

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
        a = self.arrays
        if kind == "gmm":
            return -gmm_log_likelihood(X, a["weights"], a["means"], a["precisions_cholesky"],
                                       self.params.gmm_covariance)
        if kind == "ocsvm":
            return -ocsvm_decision(X, a["support_vectors"], a["dual_coef"],
                                   float(a["intercept"][0]), float(a["gamma"][0]))
        return knn_mean_distance(X, a["train"], self.info["knn_k"])

    def _project(self, X):
        if self.pca is None:
            return X
        return (X - self.pca["mean"]) @ self.pca["components"].T

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
    def from_arrays(cls, arrays: dict, meta: dict) -> DensityModel:
        """ValueError when the arrays or meta cannot be a fitted model (a file may be hand-made)."""
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
            raise ValueError(f"not a difffake density model (format {found!r})")
        if not isinstance(meta.get("params"), dict) or not isinstance(meta.get("info"), dict):
            raise ValueError("meta needs 'params' and 'info' objects")
        unknown = set(meta["params"]) - set(DensityParams.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown density parameters {sorted(unknown)}")
        model = cls(DensityParams(**meta["params"]))
        model.info = dict(meta["info"])
        model.arrays = {k[4:]: np.asarray(v) for k, v in arrays.items() if k.startswith("est_")}
        pca = {k[4:]: np.asarray(v) for k, v in arrays.items() if k.startswith("pca_")}
        model.pca = pca or None
        _check_fitted(model)
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
        _check_unpacked_size(path)
        with np.load(path, allow_pickle=False) as data:
            if "meta" not in data.files or data["meta"].dtype.kind != "U" or data["meta"].ndim != 0:
                raise ValueError("no 'meta' string (the model's parameters)")
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in data.files if k != "meta"}
        model = cls.from_arrays(arrays, meta)
        if not with_extra:
            return model
        return model, {k: v for k, v in meta.items() if k not in META_KEYS}


MAX_UNPACKED_BYTES = 1 << 30   # a saved density is ~0.5 MB; a compressed member could unpack to far more


def _check_unpacked_size(path) -> None:
    """Refuse an .npz whose members would unpack beyond MAX_UNPACKED_BYTES (a zip bomb) before reading them."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        total = sum(info.file_size for info in zf.infolist())
    if total > MAX_UNPACKED_BYTES:
        raise ValueError(f"its arrays would unpack to {total} bytes (more than {MAX_UNPACKED_BYTES})")


# The arrays each kind's score reads (anomaly.density_score); the rest is kept for the record.
NEEDED = {"gmm": ("weights", "means", "precisions_cholesky"),
          "ocsvm": ("support_vectors", "dual_coef", "intercept", "gamma"), "knn": ("train",)}
PCA_NEEDED = ("mean", "components")


def _check_fitted(model: DensityModel) -> None:
    """Every array a score needs is there, real-valued and finite; info says the input width."""
    kind = model.params.kind
    missing = [f"est_{k}" for k in NEEDED[kind] if k not in model.arrays]
    if model.pca is not None:
        missing += [f"pca_{k}" for k in PCA_NEEDED if k not in model.pca]
    if missing:
        raise ValueError(f"a {kind} model needs arrays {missing}")
    for prefix, group in (("est_", model.arrays), ("pca_", model.pca or {})):
        for name, a in group.items():
            if a.dtype.kind not in "fiu" or not np.all(np.isfinite(a)):
                raise ValueError(f"array {prefix}{name} must hold finite real numbers "
                                 f"(dtype {a.dtype}, shape {a.shape})")
    dim = model.info.get("dim_in")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"info.dim_in must be a positive integer, got {dim!r}")
    if kind == "knn" and not (isinstance(model.info.get("knn_k"), int) and model.info["knn_k"] >= 1):
        raise ValueError(f"info.knn_k must be a positive integer, got {model.info.get('knn_k')!r}")


def _as_2d(X) -> np.ndarray:
    X = np.asarray(X, np.float64)
    if X.ndim != 2:
        raise ValueError(f"samples must be a 2-D array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("samples contain NaN or infinity")
    return X
