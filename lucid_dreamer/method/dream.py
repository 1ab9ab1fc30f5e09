"""Dreaming: batched autoregressive rollout from K context frames."""

from __future__ import annotations

import torch
from torch import nn

from .errors import UserError
from .precision import Setting, use_bf16

MAX_HORIZON = 10_000
"""The longest dream, in frames: far beyond where any dream keeps the cube; a longer one would run
for hours and fill the memory, so it is refused before it starts."""


@torch.no_grad()
def dream(
    model: nn.Module,
    context: torch.Tensor,
    horizon: int,
    batch: int = 64,
    bf16: Setting = "auto",
    sample: bool = False,
) -> torch.Tensor:
    """Roll `model` out for `horizon` frames from normalised context [E, K, 16, h, w].

    All episodes advance together (in chunks of `batch`); returns float32 [E, horizon, 16, h, w].
    `bf16` chooses bf16 autocast or float32 by `precision.use_bf16` (`"auto"`: bf16 only where the
    device computes it natively); the fed-back frames keep the context's dtype. `sample` draws each
    frame from a probabilistic model's distribution (its `sample` method) instead of taking its mean.
    """
    if horizon < 1:
        raise UserError(f"the dream horizon must be at least 1 frame, got {horizon}")
    if horizon > MAX_HORIZON:
        raise UserError(f"the dream horizon must be at most {MAX_HORIZON} frames, got {horizon}")
    model.eval()
    step = model.sample if sample else model
    device = next(model.parameters()).device
    bf16 = use_bf16(bf16, device.type)
    out = []
    for chunk in context.split(batch):
        window = chunk.to(device)
        frames = []
        for _ in range(horizon):
            with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
                nxt = step(window)
            frames.append(nxt.float())
            window = torch.cat([window[:, 1:], nxt[:, None].to(window.dtype)], dim=1)
        out.append(torch.stack(frames, dim=1).cpu())
    return torch.cat(out)


def copy_last(context: torch.Tensor, horizon: int) -> torch.Tensor:
    """The copy-last-frame reference: the last context frame, repeated."""
    return context[:, -1:].expand(-1, horizon, *context.shape[2:]).clone()
