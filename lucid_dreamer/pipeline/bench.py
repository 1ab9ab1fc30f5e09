"""Benchmarks: the paper's implementation (the reference) against ours, timed side by side.

Both compute the same function (the ResNet of the paper, the motion-weighted L1 of a 4-step
teacher-less rollout). They differ only in how:

- reference: the literal Conv3d layout, a `Dataset` that builds every window with per-sample
  `torch.cat` behind a shuffling `DataLoader`, pure-bf16 weights on CUDA (float32 on CPU, where
  the paper has no bf16 path), dreaming one episode at a time;
- ours: the Conv2d form, windows gathered by indexing tensors already on the device, all
  episodes dreamed at once, in the device's best precision (bf16 autocast with float32 weights
  where the device computes bf16 natively, float32 elsewhere: `precision`), channels_last on CUDA.

Both use the paper's scalar normalisation: per-channel statistics (our pipeline's default) are a
modelling choice, not a speed-up, so they stay out of this comparison.

Between them sit single-change variants, so each optimisation's share is measured, not guessed.
Timings alternate variants inside each repeat, so a slow spell of the machine hits all of them.
"""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import asdict, dataclass, replace

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..method.data import Normalizer, Windows
from ..method.dream import dream
from ..method.models import ModelConfig, ResNetRollout3d
from ..method.precision import Hardware, detect, use_bf16
from ..method.precision import name as precision_name
from ..method.recipe import PAPER_BATCH, PAPER_STEPS
from ..method.tokenizer import LATENT_CHANNELS
from ..method.train import TrainConfig, channels_last, rollout_loss
from .costs import machine_limits, sample_cost, timed


@dataclass(frozen=True)
class Variant:
    """One way of running the same training and dreaming computation."""

    name: str
    """How tables name it."""
    conv3d: bool
    """The paper's literal Conv3d layout (a 3-deep kernel over a time axis of 1)."""
    dataloader: bool
    """The paper's `Dataset` (per-sample `torch.cat`) and shuffling `DataLoader`."""
    pure_bf16: bool = False
    """The paper's CUDA path: weights and data cast to bfloat16."""
    autocast: bool = False
    """bf16 autocast with float32 weights."""
    channels_last: bool = False
    """channels_last memory format (CUDA)."""
    batched_dream: bool = False
    """Dream all episodes at once rather than one at a time."""
    compiled: bool = False
    """The model wrapped in `torch.compile` (CUDA; `with_compile` adds this step)."""


def ladder(device: torch.device, hardware: Hardware | None = None) -> list[Variant]:
    """Reference first, ours last, one change per step in between.

    Ours computes in the device's best precision (`precision.use_bf16`): the bf16 autocast step
    is on the ladder only where the device computes bf16 natively, so on a CPU without it ours
    is the last float32 step.
    """
    cuda = device.type == "cuda"
    reference = Variant("reference (the paper's code)", conv3d=True, dataloader=True, pure_bf16=cuda)
    conv2d = replace(reference, name="+ Conv2d form", conv3d=False)
    indexed = replace(conv2d, name="+ indexed windows", dataloader=False)
    batched = replace(indexed, name="+ batched dreaming", batched_dream=True)
    if not use_bf16("auto", device.type, hardware):
        return [reference, conv2d, indexed, replace(batched, name="ours (+ batched dreaming; no native bf16)")]
    autocast = replace(batched, name="+ bf16 autocast", pure_bf16=False, autocast=True)
    if not cuda:  # channels_last measured no faster on CPU
        return [reference, conv2d, indexed, batched, replace(autocast, name="ours (+ bf16 autocast)")]
    ours = replace(autocast, name="ours (+ channels_last)", channels_last=True)
    return [reference, conv2d, indexed, batched, autocast, ours]


def with_compile(variants: list[Variant], device: torch.device) -> list[Variant]:
    """The ladder with a last step that compiles ours (`torch.compile`), on CUDA only: compiling
    for the CPU was not measured faster, and its first call costs minutes on 2 cores."""
    if device.type != "cuda":
        return variants
    return [*variants, replace(variants[-1], name="ours (+ torch.compile)", compiled=True)]


@dataclass(frozen=True)
class BenchConfig:
    """What the benchmark measures and how long it may take."""

    latent_sizes: tuple[int, ...] = (16, 64)
    """Latent side lengths timed: the `cpu` preset's (128 px frames) and the paper's (512 px)."""
    batch_size: dict | None = None
    """Windows per timed step by latent size (default: 32, or 4 for 64x64 latents on CPU)."""
    timed_steps: int = 2
    """Optimizer steps per timing, after one warm-up step."""
    repeats: int = 5
    """Timings per variant (median and spread are reported)."""
    dream_episodes: int = 16
    """Episodes dreamed in the dreaming benchmark (the `cpu` preset's test split)."""
    dream_horizon: int = 60
    """Frames dreamed per episode."""
    quality_steps: int = 50
    """Optimizer steps of the equal-quality check (reference and ours, same seed and data)."""
    budget_samples: int = PAPER_STEPS * PAPER_BATCH
    """Rollout samples of the paper's whole training budget (1,500 steps of 32)."""


QUICK = BenchConfig(latent_sizes=(16,), timed_steps=1, repeats=2, dream_episodes=16, dream_horizon=12, quality_steps=8)


class PaperWindows(Dataset):
    """The paper's dataset: each window's frames concatenated one by one, per sample."""

    def __init__(self, latents: torch.Tensor, context_frames: int, rollout_steps: int):
        self.videos = [episode.transpose(0, 1) for episode in latents]  # the paper's [16, T, h, w]
        self.k, self.r = context_frames, rollout_steps
        self.per_video = latents.shape[1] - context_frames - rollout_steps + 1

    def __len__(self) -> int:
        return len(self.videos) * self.per_video

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        video, t = self.videos[i // self.per_video], i % self.per_video
        context = torch.cat([video[:, t + j] for j in range(self.k)], dim=0)  # [16K, h, w]
        targets = torch.stack([video[:, t + self.k + j] for j in range(self.r)])  # [R, 16, h, w]
        return context.view(self.k, LATENT_CHANNELS, *context.shape[1:]), targets


def _endless(loader: DataLoader):
    while True:
        yield from loader


class Runner:
    """A model, its data path and its optimizer for one variant: `step()` trains one batch."""

    def __init__(
        self,
        variant: Variant,
        model_cfg: ModelConfig,
        cfg: TrainConfig,
        latents: torch.Tensor,
        device: torch.device,
        init: ResNetRollout3d,
    ):
        self.variant, self.cfg, self.device = variant, cfg, device
        self.norm = Normalizer.fit(latents, "scalar")
        self.norm = Normalizer(self.norm.mean.to(device), self.norm.std.to(device))
        model = init if variant.conv3d else init.to_conv2d()
        model = model.to(device)
        self.dtype = torch.bfloat16 if variant.pure_bf16 else torch.float32
        model = model.to(self.dtype)
        if variant.channels_last:
            model = channels_last(model)
        self.model = (torch.compile(model) if variant.compiled else model).train()
        self.opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        z = self.norm.normalize(latents.to(device))
        generator = torch.Generator().manual_seed(cfg.seed)
        if variant.dataloader:
            data = PaperWindows(z.cpu(), model_cfg.context_frames, cfg.rollout_steps)
            self._batches = _endless(DataLoader(data, cfg.batch_size, shuffle=True, generator=generator))
        else:
            windows = Windows(z, model_cfg.context_frames, cfg.rollout_steps)
            self._batches = (
                windows[torch.randint(len(windows), (cfg.batch_size,), generator=generator)] for _ in iter(int, 1)
            )

    def step(self) -> float:
        context, targets = (t.to(self.device, self.dtype, non_blocking=True) for t in next(self._batches))
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.variant.autocast):
            loss = rollout_loss(self.model, context, targets, self.norm, self.cfg)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        return loss.item()

    @torch.no_grad()
    def val_loss(self, latents: torch.Tensor, windows: int = 256) -> float:
        """Rollout loss on de-normalised latents (comparable across normalisations)."""
        self.model.eval()
        val = Windows(
            self.norm.normalize(latents.to(self.device)), self.model.cfg.context_frames, self.cfg.rollout_steps
        )
        total, index = 0.0, torch.linspace(0, len(val) - 1, min(windows, len(val))).long()
        for chunk in index.split(self.cfg.batch_size):
            context, targets = (t.to(self.dtype) for t in val[chunk])
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.variant.autocast):
                total += rollout_loss(self.model, context, targets, self.norm, self.cfg).float().item() * len(chunk)
        self.model.train()
        return total / len(index)

    @torch.no_grad()
    def dream(self, context: torch.Tensor, horizon: int) -> torch.Tensor:
        """Normalised context [E, K, 16, h, w] -> [E, horizon, 16, h, w]."""
        if self.variant.batched_dream:
            return dream(self.model, context.to(self.dtype), horizon, bf16=self.variant.autocast)
        return torch.cat(
            [
                dream(self.model, episode[None].to(self.dtype), horizon, bf16=self.variant.autocast)
                for episode in context
            ]
        )


def _summary(rates: list[float]) -> dict:
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates), "runs": rates}


def bench(
    latents: torch.Tensor,
    val_latents: torch.Tensor,
    cfg: BenchConfig = BenchConfig(),
    device: torch.device | None = None,
    progress: bool = True,
    hardware: Hardware | None = None,
    compile: bool = False,
) -> dict:
    """Time every variant of `ladder(device, hardware)` (and, with `compile`, `with_compile`'s last
    step); compare reference and ours on quality.

    `latents` and `val_latents` are raw latents [E, T, 16, h, w] of training and validation
    episodes (the equal-quality check learns from them); timings at other latent sizes use
    random latents of the same episode count and length, since speed does not depend on values.
    """
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    hardware = hardware or detect(device.type)
    variants = ladder(device, hardware)
    if compile:
        variants = with_compile(variants, device)
    model_cfg, train_cfg = ModelConfig(name="resnet_rollout_3d"), TrainConfig()
    result: dict = {
        "device": str(device),
        "hardware": asdict(hardware),
        "config": asdict(cfg),
        "variants": [v.name for v in variants],
        "conv3d": {v.name: v.conv3d for v in variants},
        "bf16": {v.name: v.autocast or v.pure_bf16 for v in variants},
        "load": {"cores": os.cpu_count(), "before": _load()},
    }
    bar = tqdm(total=len(cfg.latent_sizes) * cfg.repeats + cfg.repeats + 2, desc="bench", disable=not progress)

    result["train"] = {}
    for size in cfg.latent_sizes:
        batch = (cfg.batch_size or {}).get(size, 4 if size > 32 and device.type == "cpu" else 32)
        data = latents if latents.shape[-1] == size else torch.randn(*latents.shape[:3], size, size)
        tcfg = replace(train_cfg, batch_size=batch)
        torch.manual_seed(0)
        init = ResNetRollout3d(model_cfg)
        runners = [Runner(v, model_cfg, tcfg, data, device, _copy(init)) for v in variants]
        for r in runners:
            r.step()  # warm-up: allocator, kernels, autotuning
        rates: list[list[float]] = [[] for _ in runners]
        for _ in range(cfg.repeats):
            for r, out in zip(runners, rates):
                seconds = timed(lambda r=r: [r.step() for _ in range(cfg.timed_steps)], device)
                out.append(cfg.timed_steps * batch / seconds)
            bar.update()
        cost = sample_cost(model_cfg, tcfg, size, conv3d=False)
        result["train"][str(size)] = {
            "batch_size": batch,
            "samples_per_s": {v.name: _summary(x) for v, x in zip(variants, rates)},
            "speedup": statistics.median(rates[-1]) / statistics.median(rates[0]),
            "budget_seconds": {v.name: cfg.budget_samples / statistics.median(x) for v, x in zip(variants, rates)},
            "cost_per_sample": {"conv2d": cost, "conv3d": sample_cost(model_cfg, tcfg, size, conv3d=True)},
        }

    # Dreaming: latent frames per second, all test episodes from their first K frames.
    size = latents.shape[-1]
    context = torch.randn(cfg.dream_episodes, model_cfg.context_frames, LATENT_CHANNELS, size, size)
    torch.manual_seed(0)
    init = ResNetRollout3d(model_cfg)
    runners = [Runner(v, model_cfg, train_cfg, latents, device, _copy(init)) for v in variants]
    for r in runners:
        r.dream(context[:1], 1)
    frames = cfg.dream_episodes * cfg.dream_horizon
    dream_rates: list[list[float]] = [[] for _ in runners]
    for _ in range(cfg.repeats):
        for r, out in zip(runners, dream_rates):
            out.append(frames / timed(lambda r=r: r.dream(context, cfg.dream_horizon), device))
        bar.update()
    result["dream"] = {
        "latent_size": size,
        "frames_per_s": {v.name: _summary(x) for v, x in zip(variants, dream_rates)},
        "speedup": statistics.median(dream_rates[-1]) / statistics.median(dream_rates[0]),
    }

    # Equal quality: reference and ours from the same initial function, seed and budget.
    torch.manual_seed(0)
    init = ResNetRollout3d(model_cfg)
    quality = {}
    for v in (variants[0], variants[-1]):
        torch.manual_seed(train_cfg.seed)
        runner = Runner(v, model_cfg, train_cfg, latents, device, _copy(init))
        for _ in range(cfg.quality_steps):
            runner.step()
        quality[v.name] = runner.val_loss(val_latents)
        bar.update()
    bar.close()
    ref_loss, our_loss = quality[variants[0].name], quality[variants[-1].name]
    result["quality"] = {"steps": cfg.quality_steps, "val_loss": quality}
    # the bf16 rate only where a variant computes in bf16: emulated, it would take long to measure
    result["limits"] = machine_limits(device, bf16=any(result["bf16"].values()))
    main = result["train"][str(cfg.latent_sizes[0])]
    result |= {
        "train_speedup": main["speedup"],
        "dream_speedup": result["dream"]["speedup"],
        "val_loss_ratio": our_loss / ref_loss if ref_loss else math.nan,
        "precision": precision_name(result["bf16"][variants[-1].name]),
    }
    # Float32 against float32 (ours as on a CPU without bf16), where the reference computes in
    # float32: on CPU. On CUDA the paper's own code casts to bf16.
    if not result["bf16"][variants[0].name]:
        fast = [v.name for v in variants if not result["bf16"][v.name]][-1]
        result["float32"] = {
            "variant": fast,
            "train_speedup": {
                s: _speedup(t["samples_per_s"], fast, variants[0].name) for s, t in result["train"].items()
            },
            "dream_speedup": _speedup(result["dream"]["frames_per_s"], fast, variants[0].name),
        }
    result["load"]["after"] = _load()
    return result


def _load() -> float | None:
    """The machine's load (1-minute average; None where the platform has none): timings taken while
    other work runs are slower, and the chapter says so."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _speedup(rates: dict[str, dict], fast: str, slow: str) -> float:
    """Ratio of two variants' median rates."""
    return rates[fast]["median"] / rates[slow]["median"]


def _copy(model: torch.nn.Module) -> torch.nn.Module:
    clone = type(model)(model.cfg)
    clone.load_state_dict(model.state_dict())
    return clone
