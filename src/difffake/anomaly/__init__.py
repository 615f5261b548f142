"""Differential anomaly detection: pairs -> combine -> density -> calibrate."""
from .calibrate import Calibration, calibrate
from .combine import COMBINES
from .density import KINDS as DENSITIES
from .density import DensityModel, DensityParams
from .model import AnomalyModel, VideoScore
from .pairs import STRATEGIES, make_pairs

__all__ = [
           "COMBINES",
           "DENSITIES",
           "STRATEGIES",
           "AnomalyModel",
           "Calibration",
           "DensityModel",
           "DensityParams",
           "VideoScore",
           "calibrate",
           "make_pairs",
]
