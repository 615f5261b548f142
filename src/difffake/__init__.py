"""difffake: deepfake video detection by differential anomaly detection.

    import difffake
    result = difffake.Detector.load().scan("video.mp4")

Higher scores always mean "more likely fake".
"""
__version__ = "0.1.0"

__all__ = ["Detector", "ScanResult", "__version__"]


def __getattr__(name):
    # Lazy: `import difffake` (and `difffake --help`) must not pay for torch.
    if name in ("Detector", "ScanResult"):
        from . import detector
        return getattr(detector, name)
    raise AttributeError(f"module 'difffake' has no attribute {name!r}")
