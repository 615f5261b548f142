"""RBF one-class SVM; the decision value (positive inside the support) is negated once, here."""
from __future__ import annotations

import numpy as np

from ..density_score import ocsvm_decision
from .base import Density


def scale_gamma(X: np.ndarray) -> float:
    """sklearn's gamma='scale': 1 / (n_features * X.var()) (its documented rule)."""
    X = np.asarray(X, np.float64)
    var = float(X.var())
    return 1.0 / (X.shape[1] * var) if var != 0 else 1.0


def resolve_gamma(gamma, X: np.ndarray) -> float:
    """The number sklearn uses for `gamma` ('scale', 'auto' = 1 / n_features, or a float)."""
    if gamma == "scale":
        return scale_gamma(X)
    if gamma == "auto":
        return 1.0 / X.shape[1]
    return float(gamma)


class OneClassSVMDensity(Density):
    name = "ocsvm"
    PARAMS = ("ocsvm_nu", "ocsvm_gamma")
    NEEDED = ("support_vectors", "dual_coef", "intercept", "gamma")

    def _fit(self, X):
        from sklearn.svm import OneClassSVM

        gamma = resolve_gamma(self.params["ocsvm_gamma"], X)
        svm = OneClassSVM(kernel="rbf", nu=self.params["ocsvm_nu"], gamma=gamma).fit(X)
        self.arrays = {"support_vectors": svm.support_vectors_, "dual_coef": svm.dual_coef_[0],
                       "intercept": np.asarray(svm.intercept_, np.float64),
                       "gamma": np.asarray([gamma], np.float64)}
        self.info.update(n_support=len(svm.support_vectors_), gamma=gamma)

    def _score(self, X):
        a = self.arrays
        return -ocsvm_decision(X, a["support_vectors"], a["dual_coef"], float(a["intercept"][0]),
                               float(a["gamma"][0]))
