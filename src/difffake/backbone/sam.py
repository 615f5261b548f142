"""Sharpness-Aware Minimisation (Foret et al. 2021) over any base optimiser.

Usage per step: loss(model(x)).backward(); sam.first_step(); zero_grad;
with bypass_bn_stats(model): loss(model(x)).backward(); sam.second_step().
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn


class SAM:
    """Climbs to w + rho * g/|g|, takes the gradient there, steps the base optimiser from w."""

    def __init__(self, base: torch.optim.Optimizer, rho: float = 0.05):
        if rho <= 0:
            raise ValueError(f"SAM rho must be > 0, got {rho}")
        self.base = base
        self.rho = rho
        self._eps: dict[torch.Tensor, torch.Tensor] = {}

    @property
    def param_groups(self):
        return self.base.param_groups

    def _params(self):
        return [p for g in self.base.param_groups for p in g["params"] if p.grad is not None]

    @torch.no_grad()
    def first_step(self) -> None:
        params = self._params()
        if not params:
            raise RuntimeError("SAM.first_step: no gradients (call backward first)")
        norm = torch.norm(torch.stack([p.grad.norm(2) for p in params]), 2)
        scale = self.rho / (norm + 1e-12)
        for p in params:
            e = p.grad * scale
            p.add_(e)
            self._eps[p] = e

    @torch.no_grad()
    def second_step(self) -> None:
        for p, e in self._eps.items():
            p.sub_(e)           # back to w before the update
        self._eps.clear()
        self.base.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return self.base.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.base.load_state_dict(state)


@contextlib.contextmanager
def bypass_bn_stats(model: nn.Module):
    """The second SAM pass sees perturbed weights: keep it out of BN running stats."""
    saved = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            saved.append((m, m.momentum))
            m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in saved:
            m.momentum = momentum
