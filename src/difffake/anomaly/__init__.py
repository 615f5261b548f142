"""Differential anomaly detection: pairs -> combine -> density -> calibrate."""
from .calibrate import Calibration, calibrate
from .combine import COMBINES
from .density import KINDS as DENSITIES, DensityModel, DensityParams
from .model import AnomalyModel, VideoScore
from .pairs import STRATEGIES, make_pairs

__all__ = ["AnomalyModel", "VideoScore", "Calibration", "calibrate", "DensityModel",
           "DensityParams", "make_pairs", "COMBINES", "DENSITIES", "STRATEGIES"]
