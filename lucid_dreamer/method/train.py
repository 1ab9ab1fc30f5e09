"""The rollout trainer: R-step teacher-less rollout (or teacher forcing) with motion-weighted L1.

A run writes into its folder:
- `last.safetensors`: model, optimizer, RNG states and (as JSON metadata) configs and step,
  rewritten atomically every `eval_every` steps, so `resume=True` continues a killed run;
- `best.safetensors`: the weights with the lowest validation loss so far;
- `log.jsonl`: one line per step (loss, lr, samples/s) and per validation.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import ClassVar, Literal

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn
from tqdm.auto import tqdm

from .atomic import atomic_write
from .data import LATENT_CHANNELS, Normalizer, Windows
from .errors import AtLeast, UserError, Within, check_bounds
from .losses import gaussian_nll, gradient_difference, motion_weighted_l1
from .models import ModelConfig, build_model
from .precision import Setting, use_bf16
from .precision import record as precision_record
from .recipe import PAPER_STEPS

MAX_BATCH = 4096
"""The largest batch (128 times the paper's): a larger one would not fit in memory, or not usefully."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation of a latent dynamics model (defaults: the paper's hyper-parameters)."""

    steps: int = PAPER_STEPS
    """Optimizer steps (the paper's budget: 500 epochs of 94 windows in batches of 32 is 1,500)."""
    batch_size: int = 32
    """Windows per step."""
    lr: float = 1e-4
    """Peak AdamW learning rate."""
    weight_decay: float = 1e-5
    """AdamW weight decay."""
    final_lr_fraction: float = 0.01
    """The cosine schedule ends at lr * this (the paper's eta_min = lr / 100)."""
    grad_clip: float = 1.0
    """Gradient norm clip."""
    rollout_steps: int = 4
    """R: frames predicted per window, each fed back as context (the paper's 4)."""
    teacher_forcing: bool = False
    """Feed the true frame back instead of the prediction (an ablation; the paper rolls out)."""
    loss: Literal["motion_l1", "gaussian_nll"] = "motion_l1"
    """`motion_l1`: the paper's motion-weighted L1 on de-normalised latents. `gaussian_nll`: the
    negative log-likelihood of a model with a Gaussian head (Probabilistic Plus), on normalised latents."""
    gdl_weight: float = 0.0
    """Weight of the gradient difference loss added to the L1 (Sharp-Shooter); 0 leaves it out."""
    motion_threshold: float = 0.1
    """Latent change above which a target element counts as moving."""
    motion_weight: float = 10.0
    """Loss weight of moving elements (1 elsewhere)."""
    eval_every: int = 100
    """Steps between validations and checkpoints."""
    val_windows: int = 256
    """Validation windows (a fixed, evenly spaced subset of all validation windows)."""
    seed: int = 0
    """Seed of initialisation, dropout and batch sampling."""
    bf16: Setting = "auto"
    """bf16 autocast (weights stay float32, unlike the paper's pure-bf16 cast): `"auto"` uses it only
    where the device computes bf16 natively (`precision.use_bf16`: 1.6x the float32 speed on a 2-core
    CPU with AVX-512 BF16, 9x slower where bf16 is emulated); `True` forces it, `False` forces float32."""

    BOUNDS: ClassVar[dict[str, AtLeast]] = {
        "steps": AtLeast(1),
        "batch_size": Within(1, high=MAX_BATCH, why="; the paper uses 32"),
        "lr": AtLeast(0, strict=True),
        "rollout_steps": AtLeast(1),
        "eval_every": AtLeast(1),
        "val_windows": AtLeast(1),
    }
    """The smallest value of each numeric setting a run can work with (checked on creation and by the CLI)."""

    def __post_init__(self) -> None:
        check_bounds(self)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Cosine decay from `lr` to `lr * final_lr_fraction` over the run."""
    low = cfg.lr * cfg.final_lr_fraction
    return low + (cfg.lr - low) * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))


def rollout_loss(
    model: nn.Module, context: torch.Tensor, targets: torch.Tensor, norm: Normalizer, cfg: TrainConfig
) -> torch.Tensor:
    """Mean loss over R steps; each prediction (a Gaussian's mean) slides into the context (no detach)."""
    losses = []
    for r in range(targets.shape[1]):
        target = targets[:, r]
        if cfg.loss == "gaussian_nll":
            prediction, log_var = model.distribution(context)
            losses.append(gaussian_nll(prediction.float(), log_var.float(), target.float()))
        else:
            prediction = model(context)
            predicted, true = norm.denormalize(prediction), norm.denormalize(target)
            loss = motion_weighted_l1(
                predicted, true, norm.denormalize(context[:, -1]), cfg.motion_threshold, cfg.motion_weight
            )
            losses.append(loss + cfg.gdl_weight * gradient_difference(predicted, true) if cfg.gdl_weight else loss)
        fed_back = target if cfg.teacher_forcing else prediction
        context = torch.cat([context[:, 1:], fed_back[:, None].to(context.dtype)], dim=1)
    return torch.stack(losses).mean()


def channels_last(model: nn.Module) -> nn.Module:
    """The model with its convolution weights stored channels-last, the layout GPU convolutions run
    fastest in: `channels_last` for 4-D (Conv2d) weights, `channels_last_3d` for 5-D (Conv3d) ones."""
    ranks = {p.dim() for p in model.parameters()} & {4, 5}
    if len(ranks) != 1:  # no convolutions, or both kinds: keep the default layout
        return model
    return model.to(memory_format=torch.channels_last if ranks == {4} else torch.channels_last_3d)


def _autocast(device: torch.device, cfg: TrainConfig):
    return torch.autocast(device.type, torch.bfloat16, enabled=use_bf16(cfg.bf16, device.type))


@torch.no_grad()
def validate(model, windows: Windows, norm: Normalizer, cfg: TrainConfig, device) -> float:
    model.eval()
    index = torch.linspace(0, len(windows) - 1, min(cfg.val_windows, len(windows))).long()
    total = 0.0
    for chunk in index.split(cfg.batch_size):
        context, targets = (t.to(device) for t in windows[chunk])
        with _autocast(device, cfg):
            total += rollout_loss(model, context, targets, norm, cfg).item() * len(chunk)
    model.train()
    return total / len(index)


def _save(path: Path, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    with atomic_write(path) as tmp:
        tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        save_file(tensors, tmp, metadata={"json": json.dumps(meta)})


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of a checkpoint; a `UserError` if it is missing or damaged."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        with safe_open(path, "pt") as f:
            metadata = f.metadata() or {}
            if "json" not in metadata:
                raise UserError(f"{path} is a safetensors file but not a lucid-dreamer checkpoint (no settings in it)")
            tensors, meta = {k: f.get_tensor(k) for k in f.keys()}, json.loads(metadata["json"])
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"{path} is not a readable lucid-dreamer checkpoint ({e}); it may be truncated") from e
    if not isinstance(meta, dict):
        raise UserError(f"{path} has damaged settings: {type(meta).__name__}, not a dict of settings")
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise UserError(
            f"{path} holds NaN or Inf weights (in {bad[0]}{f' and {len(bad) - 1} more' if len(bad) > 1 else ''}); "
            "the run that wrote it diverged: "
            "use another checkpoint or train again"
        )
    return tensors, meta


SETTINGS = ("model", "train", "normalizer")
"""The settings every checkpoint holds (as JSON metadata): what `load_model` and a dream need."""


def _model_config(path: Path, meta: dict) -> ModelConfig:
    """The checkpoint's `ModelConfig`, once its settings are checked: a `UserError` if any is missing,
    misspelt or unreadable (hand-edited or foreign metadata)."""
    missing = [k for k in SETTINGS if not isinstance(meta.get(k), dict)]
    if missing:
        raise UserError(
            f"{path} has damaged settings: no {', '.join(map(repr, missing))}; write it with `lucid-dreamer train`"
        )
    unknown = sorted(set(meta["model"]) - {f.name for f in fields(ModelConfig)})
    if unknown:
        raise UserError(f"{path} has damaged settings: unknown model setting {', '.join(map(repr, unknown))}")
    try:
        Normalizer.from_json(meta["normalizer"]).check(LATENT_CHANNELS, f"the normalizer of {path}")
        return ModelConfig(**meta["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{path} has damaged settings: {type(e).__name__} {e}") from e


def load_model(path: str | Path, expected: ModelConfig | None = None) -> tuple[nn.Module, dict]:
    """The model stored in a checkpoint (in eval mode) and the checkpoint's metadata."""
    tensors, meta = read_checkpoint(path)
    cfg = _model_config(Path(path), meta)
    if expected is not None and cfg != expected:
        raise UserError(f"{path} holds a {cfg}, not the requested {expected}")
    model = build_model(cfg)
    state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(f"the weights in {path} do not fit its model config {cfg}") from e
    return model.eval(), meta


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    state = opt.state_dict()
    tensors = {f"optim.{i}.{k}": v for i, s in state["state"].items() for k, v in s.items()}
    return tensors, state["param_groups"]


def _restore_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, i, key = name.split(".", 2)
            state.setdefault(int(i), {})[key] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


def train(
    model_cfg: ModelConfig,
    cfg: TrainConfig,
    train_latents: torch.Tensor,
    val_latents: torch.Tensor,
    norm: Normalizer,
    out_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
) -> dict:
    """Train on normalised latents [E, T, 16, h, w]; returns a summary (also in `summary.json`).

    `stop_after` ends the run early after that many steps, with a checkpoint, as if it had been
    interrupted (for tests and for splitting a long run).
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    windows = Windows(train_latents, model_cfg.context_frames, cfg.rollout_steps)
    val = Windows(val_latents, model_cfg.context_frames, cfg.rollout_steps)
    out = Path(out_dir)
    fresh = not out.exists()  # a run that fails before its first checkpoint removes what it made
    if not (fresh or out.is_dir()):
        raise UserError(f"{out} is a file, not a folder; choose another --output_dir")
    out.mkdir(parents=True, exist_ok=True)
    norm = Normalizer(norm.mean.to(device), norm.std.to(device))

    torch.manual_seed(cfg.seed)
    sampler = torch.Generator().manual_seed(cfg.seed)
    model = build_model(model_cfg).to(device)
    if cfg.loss == "gaussian_nll" and not hasattr(model, "distribution"):
        raise UserError(f"the {model_cfg.name} model has no Gaussian head; the gaussian_nll loss needs one")
    if device.type == "cuda":
        model = channels_last(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, best, seconds = 0, math.inf, 0.0
    precision = precision_record(cfg.bf16, device.type)
    meta_base = {"model": asdict(model_cfg), "train": asdict(cfg), "normalizer": norm.to_json(), "precision": precision}

    last, log_path = out / "last.safetensors", out / "log.jsonl"
    if resume and last.is_file():
        tensors, meta = read_checkpoint(last)
        if meta.get("model") != meta_base["model"] or meta.get("train") != meta_base["train"]:
            raise UserError(f"{last} was written with other settings; use a new --output_dir or the same settings")
        model.load_state_dict({k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")})
        _restore_optimizer(opt, tensors, meta["param_groups"])
        torch.set_rng_state(tensors["rng.torch"])
        sampler.set_state(tensors["rng.sampler"])
        step, best, seconds = meta["step"], meta["best_val_loss"], meta["seconds"]
        # Drop log lines written after the checkpoint: those steps are redone.
        lines = log_path.read_text().splitlines() if log_path.exists() else []
        log_path.write_text("".join(f"{line}\n" for line in lines if json.loads(line)["step"] <= step))
    elif log_path.exists():
        log_path.unlink()

    def checkpoint(path: Path, with_state: bool, **extra) -> None:
        tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
        meta = {**meta_base, "step": step, "best_val_loss": best, "seconds": seconds, **extra}
        if with_state:
            optim, meta["param_groups"] = _optimizer_tensors(opt)
            tensors |= optim | {"rng.torch": torch.get_rng_state(), "rng.sampler": sampler.get_state()}
        _save(path, tensors, meta)

    model.train()
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step", disable=not progress)
    with log_path.open("a") as log:
        while step < end:
            tick = time.perf_counter()
            index = torch.randint(len(windows), (cfg.batch_size,), generator=sampler)
            context, targets = (t.to(device, non_blocking=True) for t in windows[index])
            for group in opt.param_groups:
                group["lr"] = lr_at(step, cfg)
            with _autocast(device, cfg):
                loss = rollout_loss(model, context, targets, norm, cfg)
            if not torch.isfinite(loss):
                if math.isfinite(best):
                    raise UserError(
                        f"the loss became {loss.item()} at step {step + 1}; stopped. The best checkpoint "
                        f"(validation loss {best:.4g}) is kept; try a lower learning rate"
                    )
                if not last.is_file():  # nothing to resume from: leave nothing behind
                    log_path.unlink(missing_ok=True)
                    if fresh:
                        shutil.rmtree(out, ignore_errors=True)
                raise UserError(
                    f"the loss became {loss.item()} at step {step + 1}, before the first validation; stopped, and "
                    "no checkpoint was kept; try a lower learning rate, or check the latents and their statistics"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            elapsed = time.perf_counter() - tick
            seconds += elapsed
            rate = cfg.batch_size / elapsed
            log.write(
                json.dumps({"step": step, "loss": loss.item(), "lr": lr_at(step - 1, cfg), "samples_per_s": rate})
                + "\n"
            )
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.4f}", samples_s=f"{rate:.0f}", refresh=False)
            if step % cfg.eval_every == 0 or step == end:
                val_loss = validate(model, val, norm, cfg, device)
                log.write(json.dumps({"step": step, "val_loss": val_loss}) + "\n")
                log.flush()
                if val_loss < best:
                    best = val_loss
                    checkpoint(out / "best.safetensors", with_state=False, val_loss=val_loss)
                checkpoint(last, with_state=True)
    bar.close()
    summary = {
        "steps": step,
        "finished": step >= cfg.steps,
        "best_val_loss": best,
        "train_seconds": seconds,
        "samples_per_s": step * cfg.batch_size / seconds if seconds else float("nan"),
        "device": str(device),
        "precision": precision,
    }
    with atomic_write(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    return summary
