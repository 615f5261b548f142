"""Frame pairs within one video, as indices into that video's embeddings.

Embeddings are computed once per frame; pairs only index them. Every pair is
oriented (earlier, later) so that signed combinations (sub, cube) mean the
same thing in every video. Strategies:

- "paper": `num_partners` frames are partners; every other frame is paired
  with one random partner (40 frames, 8 partners -> 32 pairs in the paper).
- "all": every unordered pair, a random subset of `max_pairs` when more.
- "consecutive": (i, i+1), a random subset of `max_pairs` when more.

All strategies cap the count at `max_pairs` and never pair a frame with itself.
"""
from __future__ import annotations

import numpy as np

STRATEGIES = ("paper", "all", "consecutive")


def _rng(seed_or_rng) -> np.random.Generator:
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    return np.random.default_rng(seed_or_rng)


def make_pairs(n: int, strategy: str = "paper", num_partners: int = 8,
               max_pairs: int = 32, rng=0) -> np.ndarray:
    """(P, 2) int64 pairs (i < j) over `n` frames; empty (0, 2) when n < 2."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown pairing strategy {strategy!r}: choose one of {STRATEGIES}")
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be >= 1, got {max_pairs}")
    rng = _rng(rng)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    if strategy == "paper":
        pairs = _paper_pairs(n, num_partners, rng)
    elif strategy == "all":
        i, j = np.triu_indices(n, k=1)
        pairs = np.stack([i, j], axis=1)
    else:
        i = np.arange(n - 1)
        pairs = np.stack([i, i + 1], axis=1)
    if len(pairs) > max_pairs:
        keep = np.sort(rng.choice(len(pairs), size=max_pairs, replace=False))
        pairs = pairs[keep]
    return np.ascontiguousarray(pairs, dtype=np.int64)


def _paper_pairs(n: int, num_partners: int, rng: np.random.Generator) -> np.ndarray:
    # With few frames, keep at least as many non-partners as partners so that
    # short videos still give pairs (n=2 -> 1 partner, 1 pair).
    k = int(max(1, min(num_partners, n // 2)))
    partners = np.sort(rng.choice(n, size=k, replace=False))
    others = np.setdiff1d(np.arange(n), partners)
    chosen = partners[rng.integers(0, k, size=len(others))]
    pairs = np.stack([np.minimum(others, chosen), np.maximum(others, chosen)], axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def expected_pair_count(n: int, strategy: str, num_partners: int, max_pairs: int) -> int:
    """How many pairs make_pairs returns for `n` frames (for reports and tests)."""
    if n < 2:
        return 0
    if strategy == "paper":
        total = n - int(max(1, min(num_partners, n // 2)))
    elif strategy == "all":
        total = n * (n - 1) // 2
    else:
        total = n - 1
    return min(total, max_pairs)
