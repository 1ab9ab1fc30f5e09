"""What a training step costs and what the machine can give: FLOPs and bytes of a function (counted, not
timed), the useful work per training sample, and the machine's measured FLOP/s and copy bandwidth. The
benchmark (`bench`) and the paper-scale estimate (`paper_estimate`) share them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..method.data import Normalizer
from ..method.models import ModelConfig, ResNetRollout3d
from ..method.tokenizer import LATENT_CHANNELS
from ..method.train import TrainConfig, rollout_loss


def sample_cost(model_cfg: ModelConfig, cfg: TrainConfig, latent_size: int, conv3d: bool) -> dict:
    """FLOPs (forward + backward) and bytes of tensors read and written by one rollout sample.

    Bytes count every operator's inputs and outputs once: an upper bound on memory traffic
    that ignores caches, so the fraction of bandwidth it gives is a ceiling.
    """
    init = ResNetRollout3d(replace(model_cfg, name="resnet_rollout_3d"))
    model = init if conv3d else init.to_conv2d()
    shape = (1, model_cfg.context_frames + cfg.rollout_steps, LATENT_CHANNELS, latent_size, latent_size)
    span = torch.randn(shape)
    norm = Normalizer(torch.zeros(1), torch.ones(1))
    k = model_cfg.context_frames
    flops, moved = flops_and_bytes(lambda: rollout_loss(model, span[:, :k], span[:, k:], norm, cfg).backward())
    return {"flops": flops, "bytes": moved}


def flops_and_bytes(fn) -> tuple[float, float]:
    """FLOPs of `fn()` and the bytes of tensors its operators read and write (each operator once)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Bytes(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in torch.utils._pytree.tree_leaves((args, kwargs, out)):
                if isinstance(t, torch.Tensor):
                    Bytes.total += t.numel() * t.element_size()
            return out

    counter = FlopCounterMode(display=False)
    with counter, Bytes():
        fn()
    return float(counter.get_total_flops()), float(Bytes.total)


def machine_limits(device: torch.device, repeats: int = 5, bf16: bool = True) -> dict:
    """Measured float32 (and, with `bf16`, bf16) matmul FLOP/s and copy bandwidth (bytes/s): the rates
    we compare against (the best of `repeats`, since a rate can only be slowed by the machine, not sped up)."""
    n = 2048 if device.type == "cpu" else 8192
    flops, runs = 2 * n**3, 2 if device.type == "cpu" else 20

    def matmul_rate(dtype: torch.dtype) -> float:
        a = torch.randn(n, n, device=device).to(dtype)
        a @ a
        return max(runs * flops / timed(lambda: [a @ a for _ in range(runs)], device) for _ in range(repeats))

    # into a buffer already written once, so page faults are not counted as memory traffic
    src = torch.ones((64 if device.type == "cpu" else 512) * 2**20, dtype=torch.uint8, device=device)
    dst = torch.zeros_like(src)
    dst.copy_(src)
    return {
        "fp32_flops_per_s": matmul_rate(torch.float32),
        **({"bf16_flops_per_s": matmul_rate(torch.bfloat16)} if bf16 else {}),
        "copy_bytes_per_s": max(2 * src.numel() / timed(lambda: dst.copy_(src), device) for _ in range(repeats)),
    }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start
