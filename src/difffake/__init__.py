"""difffake: deepfake video detection by differential anomaly detection.

    import difffake
    result = difffake.Detector.load().scan("video.mp4")
    fitted = difffake.fit("runs/r1", ["stores/real"], "detectors/d1")   # a FitResult

Higher scores always mean "more likely fake". The use cases (prepare, train, fit, scan)
are in difffake.workflows.
"""
__version__ = "0.1.0"

__all__ = ["Detector", "ScanResult", "__version__", "fit"]


def __getattr__(name):
    # Lazy: `import difffake` (and `difffake --help`) must not pay for torch.
    if name in ("Detector", "ScanResult"):
        from . import detector
        return getattr(detector, name)
    if name == "fit":
        from .workflows.fit import fit
        return fit
    raise AttributeError(f"module 'difffake' has no attribute {name!r}")
