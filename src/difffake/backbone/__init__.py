"""Backbone: timm CNN trained on real faces vs pseudo-fakes; gives per-frame embeddings.

`Backbone` is imported lazily so that `difffake.backbone.malloc` (used by the
CLI before anything heavy) does not pull in torch.
"""
__all__ = ["Backbone"]


def __getattr__(name):
    if name == "Backbone":
        from .model import Backbone
        return Backbone
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
