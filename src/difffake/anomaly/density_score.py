"""Scoring fitted densities from their stored arrays with numpy alone (no scikit-learn).

Each function reproduces the scikit-learn call the arrays came from (tests check
equality to 1e-9 relative): GaussianMixture.score_samples from its
precisions_cholesky_, OneClassSVM.decision_function (RBF) from its support
vectors, and NearestNeighbors.kneighbors (euclidean) as a mean distance.
numpy only, on purpose: importing scipy.special / scipy.spatial costs 0.3-0.4 s
of a cold scan, more than the scoring itself; the few lines they would save
are the textbook max-shifted logsumexp and a broadcast distance.
"""
from __future__ import annotations

import numpy as np

COVARIANCES = ("full", "tied", "diag", "spherical")


def gmm_log_likelihood(X, weights, means, precisions_cholesky, covariance: str) -> np.ndarray:
    """(N,) log p(x) under a Gaussian mixture (= GaussianMixture.score_samples)."""
    X = np.asarray(X, np.float64)
    means = np.asarray(means, np.float64)
    pc = np.asarray(precisions_cholesky, np.float64)
    _, d = X.shape
    k = len(means)
    if covariance == "full":        # pc: (k, d, d)
        log_det = np.sum(np.log(np.diagonal(pc, axis1=1, axis2=2)), axis=1)
        maha = np.stack([np.sum(np.square(X @ pc[j] - means[j] @ pc[j]), axis=1) for j in range(k)], 1)
    elif covariance == "tied":      # pc: (d, d), one for all components
        log_det = np.full(k, np.sum(np.log(np.diag(pc))))
        y = X @ pc
        maha = np.stack([np.sum(np.square(y - means[j] @ pc), axis=1) for j in range(k)], 1)
    elif covariance == "diag":      # pc: (k, d) = 1 / sigma
        log_det = np.sum(np.log(pc), axis=1)
        maha = np.stack([np.sum(np.square((X - means[j]) * pc[j]), axis=1) for j in range(k)], 1)
    elif covariance == "spherical":  # pc: (k,)
        log_det = d * np.log(pc)
        maha = np.stack([np.sum(np.square(X - means[j]), axis=1) * pc[j] ** 2 for j in range(k)], 1)
    else:
        raise ValueError(f"unknown covariance type {covariance!r}: choose one of {COVARIANCES}")
    log_gauss = -0.5 * (d * np.log(2 * np.pi) + maha) + log_det
    return _logsumexp(log_gauss + np.log(np.asarray(weights, np.float64)))


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """log(sum(exp(a), axis=1)), shifted by the row maximum so nothing overflows."""
    top = np.max(a, axis=1, keepdims=True)
    return (top + np.log(np.sum(np.exp(a - top), axis=1, keepdims=True)))[:, 0]


def _sq_distances(X: np.ndarray, Y: np.ndarray, chunk: int = 64) -> np.ndarray:
    """(N, M) squared euclidean distances, from differences (exact, unlike |x|^2 + |y|^2 - 2xy)."""
    X, Y = np.asarray(X, np.float64), np.asarray(Y, np.float64)
    out = np.empty((len(X), len(Y)), np.float64)
    for i in range(0, len(X), chunk):
        diff = X[i:i + chunk, None, :] - Y[None, :, :]
        out[i:i + chunk] = np.einsum("nmd,nmd->nm", diff, diff)
    return out


def ocsvm_decision(X, support_vectors, dual_coef, intercept: float, gamma: float) -> np.ndarray:
    """sum_i alpha_i exp(-gamma |x - sv_i|^2) + intercept (= OneClassSVM.decision_function, RBF)."""
    sq = _sq_distances(X, support_vectors)
    return np.exp(-gamma * sq) @ np.asarray(dual_coef, np.float64) + intercept


def knn_mean_distance(X, train, k: int) -> np.ndarray:
    """(N,) mean euclidean distance to the k nearest training samples."""
    dist = np.sqrt(_sq_distances(X, train))
    k = int(min(k, dist.shape[1]))
    return np.partition(dist, k - 1, axis=1)[:, :k].mean(axis=1)
