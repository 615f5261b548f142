"""Gaussian mixture (the paper's: 3 components, full covariance, k-means init, 250 iterations)."""
from __future__ import annotations

from ..density_score import COVARIANCES, gmm_log_likelihood
from .base import Density


class GaussianMixtureDensity(Density):
    name = "gmm"
    PARAMS = ("gmm_components", "gmm_covariance", "gmm_reg", "gmm_max_iter")
    NEEDED = ("weights", "means", "precisions_cholesky")

    @classmethod
    def variant_option(cls, token):
        return {"gmm_covariance": token} if token in COVARIANCES else None

    @classmethod
    def variant_suffix(cls, cfg):
        return f":{cfg.gmm_covariance}"

    def _fit(self, X):
        from sklearn.mixture import GaussianMixture

        p = self.params
        k = int(min(p["gmm_components"], len(X)))
        gm = GaussianMixture(n_components=k, covariance_type=p["gmm_covariance"], reg_covar=p["gmm_reg"],
                             max_iter=p["gmm_max_iter"], init_params="kmeans", random_state=self.seed)
        gm.fit(X)
        self.arrays = {"weights": gm.weights_, "means": gm.means_, "covariances": gm.covariances_,
                       "precisions_cholesky": gm.precisions_cholesky_, "precisions": gm.precisions_}
        self.info.update(gmm_components=k, converged=bool(gm.converged_), n_iter=int(gm.n_iter_),
                         lower_bound=float(gm.lower_bound_))

    def _score(self, X):
        a = self.arrays   # negated once, here: a low log-likelihood is an anomaly
        return -gmm_log_likelihood(X, a["weights"], a["means"], a["precisions_cholesky"],
                                   self.params["gmm_covariance"])
