"""Differential anomaly detection: pairs -> combine -> density -> calibrate."""
from .calibrate import Calibration, calibrate
from .combine import COMBINES
from .densities import DENSITIES, Density, density_names, make_density
from .model import AnomalyModel, VideoScore
from .pairs import STRATEGIES, make_pairs

__all__ = [
           "COMBINES",
           "DENSITIES",
           "STRATEGIES",
           "AnomalyModel",
           "Calibration",
           "Density",
           "VideoScore",
           "calibrate",
           "density_names",
           "make_density",
           "make_pairs",
]
