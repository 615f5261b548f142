"""Pair features from two frame embeddings, then L2 normalisation.

`single` is the paper's non-differential baseline: each frame's own
L2-normalised embedding is a sample (pairs are then (i, i), one per frame).
"""
from __future__ import annotations

import numpy as np

COMBINES = ("abs", "sub", "sq", "cube", "single")

_OPS = {
    "abs": np.abs,
    "sub": lambda d: d,
    "sq": np.square,
    "cube": lambda d: d * d * d,
}


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero (no NaN)."""
    x = np.asarray(x, np.float64)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, eps)


def combine(a: np.ndarray, b: np.ndarray, op: str) -> np.ndarray:
    """op(a - b) row-wise, L2-normalised. a, b: (P, D)."""
    if op not in _OPS:
        raise ValueError(f"unknown pair combination {op!r}: choose one of {tuple(_OPS)}")
    return l2_normalize(_OPS[op](np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def features(emb: np.ndarray, pairs: np.ndarray, op: str) -> np.ndarray:
    """Samples of one video: combined pairs, or normalised frames for `single`.

    Pairs are (earlier, later); the difference is emb[earlier] - emb[later].
    """
    emb = np.asarray(emb)
    if op == "single":
        return l2_normalize(emb)
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    return combine(emb[pairs[:, 0]], emb[pairs[:, 1]], op)
