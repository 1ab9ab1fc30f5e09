"""Dreaming: batched autoregressive rollout from K context frames."""

from __future__ import annotations

import torch
from torch import nn

from .errors import UserError


@torch.no_grad()
def dream(model: nn.Module, context: torch.Tensor, horizon: int, batch: int = 64) -> torch.Tensor:
    """Roll `model` out for `horizon` frames from normalised context [E, K, 16, h, w].

    All episodes advance together (in chunks of `batch`); returns [E, horizon, 16, h, w].
    """
    if horizon < 1:
        raise UserError(f"the dream horizon must be at least 1 frame, got {horizon}")
    model.eval()
    device = next(model.parameters()).device
    out = []
    for chunk in context.split(batch):
        window = chunk.to(device)
        frames = []
        for _ in range(horizon):
            with torch.autocast("cuda", torch.bfloat16, enabled=device.type == "cuda"):
                nxt = model(window).float()
            frames.append(nxt)
            window = torch.cat([window[:, 1:], nxt[:, None]], dim=1)
        out.append(torch.stack(frames, dim=1).cpu())
    return torch.cat(out)


def copy_last(context: torch.Tensor, horizon: int) -> torch.Tensor:
    """The copy-last-frame reference: the last context frame, repeated."""
    return context[:, -1:].expand(-1, horizon, *context.shape[2:]).clone()
