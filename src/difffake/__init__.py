"""difffake: deepfake video detection by differential anomaly detection.

Higher scores always mean "more likely fake".
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
