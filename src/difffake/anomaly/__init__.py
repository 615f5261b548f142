"""Differential anomaly detection: pairs -> combine -> density -> calibrate (Scorer: all of it, fitted)."""
from .calibrate import Calibration, calibrate
from .combine import COMBINES
from .densities import DENSITIES, Density, density_names, make_density
from .model import AnomalyModel, VideoScore
from .pairs import STRATEGIES, make_pairs
from .scorer import Scorer

__all__ = [
           "COMBINES",
           "DENSITIES",
           "STRATEGIES",
           "AnomalyModel",
           "Calibration",
           "Density",
           "Scorer",
           "VideoScore",
           "calibrate",
           "density_names",
           "make_density",
           "make_pairs",
]
