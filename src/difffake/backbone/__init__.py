"""Backbone: timm CNN trained on real faces vs pseudo-fakes; gives per-frame embeddings."""
from .model import Backbone

__all__ = ["Backbone"]
