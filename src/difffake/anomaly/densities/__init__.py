"""Registered densities, found by name: adding one is one new file plus a line in DENSITIES.

Each is a `Density` (anomaly.densities.base): fit(X) on real samples, score(X)
higher = more anomalous, to_arrays() / from_arrays() for the npz.
"""
from __future__ import annotations

from ...config import AnomalyConfig
from .base import FORMAT, Density, NotFittedError
from .gmm import GaussianMixtureDensity
from .knn import KNNDensity
from .ocsvm import OneClassSVMDensity

DENSITIES: dict[str, type[Density]] = {
    "gmm": GaussianMixtureDensity,
    "ocsvm": OneClassSVMDensity,
    "knn": KNNDensity,
}


def density_names() -> tuple[str, ...]:
    """The registered names (argparse choices, the evaluate variants)."""
    return tuple(DENSITIES)


def density_class(name: str) -> type[Density]:
    try:
        return DENSITIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown density model {name!r}: choose one of {', '.join(DENSITIES)}") from None


def make_density(name: str, **params) -> Density:
    """An unfitted density: make_density("gmm", pca_dims=32, gmm_components=3)."""
    return density_class(name)(**params)


def density_from_config(cfg: AnomalyConfig) -> Density:
    """The density `cfg.density` names, with the parameters of `cfg` it reads."""
    return density_class(cfg.density).from_config(cfg)


def all_params() -> set[str]:
    """Every parameter some registered density reads (a meta's params may hold any of them)."""
    from .base import COMMON

    return {"kind", *COMMON, *(p for cls in DENSITIES.values() for p in cls.PARAMS)}


__all__ = ["DENSITIES", "FORMAT", "Density", "NotFittedError", "all_params", "density_class",
           "density_from_config", "density_names", "make_density"]
