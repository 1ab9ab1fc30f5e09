"""Training losses, computed on de-normalised latents as the paper does."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def motion_weighted_l1(
    prediction: torch.Tensor, target: torch.Tensor, previous: torch.Tensor, threshold: float = 0.1, weight: float = 10.0
) -> torch.Tensor:
    """Mean |prediction - target|, weighted `weight` where the target moved more than `threshold`
    from `previous` (the last frame of the current context) and 1 elsewhere."""
    moved = (target - previous).abs() > threshold
    w = torch.where(moved, weight, 1.0)
    return ((prediction - target).abs() * w).mean()


def gradient_difference(prediction: torch.Tensor, target: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """The gradient difference loss (Mathieu, Couprie & LeCun 2016) over the last two (spatial) axes:
    mean | |d target| - |d prediction| |^alpha for vertical and horizontal neighbour differences."""

    def steps(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (z[..., 1:, :] - z[..., :-1, :]).abs(), (z[..., :, 1:] - z[..., :, :-1]).abs()

    (pv, ph), (tv, th) = steps(prediction), steps(target)
    return ((tv - pv).abs() ** alpha).mean() + ((th - ph).abs() ** alpha).mean()


def gaussian_nll(mean: torch.Tensor, log_var: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of `target` under N(mean, exp(log_var)), with the 0.5 log 2 pi term."""
    return F.gaussian_nll_loss(mean, target, log_var.exp(), full=True, eps=1e-6)
