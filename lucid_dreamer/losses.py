"""Training losses, computed on de-normalised latents as the paper does."""

from __future__ import annotations

import torch


def motion_weighted_l1(
    prediction: torch.Tensor, target: torch.Tensor, previous: torch.Tensor, threshold: float = 0.1, weight: float = 10.0
) -> torch.Tensor:
    """Mean |prediction - target|, weighted `weight` where the target moved more than `threshold`
    from `previous` (the last frame of the current context) and 1 elsewhere."""
    moved = (target - previous).abs() > threshold
    w = torch.where(moved, weight, 1.0)
    return ((prediction - target).abs() * w).mean()
