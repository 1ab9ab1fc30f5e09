"""The three presets: `smoke` (CI, every code path), `cpu` (real results on a laptop), `paper` (GPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from .data import DataConfig
from .errors import UserError
from .models import ModelConfig
from .tokenizer import TokenizerConfig
from .train import TrainConfig
from .world import WorldConfig


@dataclass(frozen=True)
class Experiment:
    """A model and how it is trained."""

    name: str
    """Identifier used in file names and tables."""
    label: str
    """How tables and figures name it."""
    model: ModelConfig
    """The network."""
    train: TrainConfig
    """Its training."""


@dataclass(frozen=True)
class Preset:
    """One consistent scale of the whole pipeline."""

    name: str
    """Also the folder under `artifacts/` that holds this preset's products."""
    world: WorldConfig
    """Scene, resolution and episode counts."""
    tokenizer: TokenizerConfig
    """The built-in tokenizer and its training budget."""
    data: DataConfig
    """Splits and normalisation."""
    experiments: tuple[Experiment, ...]
    """The models this preset trains; the first is the main one."""
    sweep_steps: int
    """Optimizer steps of each one-step (R = 1) model of the context sweep (02_posterior_collapse)."""


def paper_and_tuned(model: ModelConfig, train: TrainConfig) -> tuple[Experiment, Experiment]:
    """The paper's hyper-parameters and budget, and our tuned run beside it (labelled as ours)."""
    return (
        Experiment("resnet_rollout", "ResNet-Rollout (paper's settings)", model, train),
        Experiment("resnet_rollout_tuned", "ResNet-Rollout (ours: lr 1e-3)", model, replace(train, lr=1e-3)),
    )


PRESETS = {
    "smoke": Preset(
        "smoke",
        WorldConfig(resolution=64, frames_per_episode=24, episodes=10),
        TokenizerConfig(widths=(16, 32, 48), steps=1000, crop=32, lr=3e-3),
        DataConfig(val_episodes=2, test_episodes=2),
        paper_and_tuned(
            ModelConfig(width=16, blocks=1), TrainConfig(steps=30, batch_size=8, eval_every=10, val_windows=16)
        ),
        sweep_steps=10,
    ),
    "cpu": Preset(
        "cpu",
        WorldConfig(resolution=128, frames_per_episode=64, episodes=64),
        TokenizerConfig(steps=1500),
        DataConfig(val_episodes=8, test_episodes=16),
        paper_and_tuned(ModelConfig(), TrainConfig()),
        sweep_steps=1450,
    ),
    "paper": Preset(
        "paper",
        WorldConfig(resolution=512, frames_per_episode=101, episodes=64),
        TokenizerConfig(steps=6000, crop=128),
        DataConfig(val_episodes=8, test_episodes=16),
        paper_and_tuned(ModelConfig(), TrainConfig()),
        sweep_steps=1450,
    ),
}

DEFAULT_PRESET = "cpu"
CONTEXT_SWEEP = (1, 2, 4, 8)


def context_sweep_experiments(preset: Preset) -> list[Experiment]:
    """The tuned model with 1, 2, 4 and 8 context frames, trained as one-step predictors (R = 1).

    Posterior collapse is a property of one-step prediction, and R = 1 costs a quarter of a
    4-step rollout, so the sweep can afford the paper's whole step budget.
    """
    base = preset.experiments[-1]
    train = replace(base.train, steps=preset.sweep_steps, rollout_steps=1,
                    eval_every=max(1, min(base.train.eval_every, preset.sweep_steps)))  # fmt: skip
    return [
        Experiment(f"context_{k}", f"context {k}", replace(base.model, context_frames=k), train) for k in CONTEXT_SWEEP
    ]


def one_step_experiment(preset: Preset) -> Experiment:
    """The context sweep's K = 4 model (the main network trained as a one-step predictor, R = 1),
    dreamed like the rollout-trained models to show what the rollout objective changes."""
    sweep = context_sweep_experiments(preset)[CONTEXT_SWEEP.index(4)]
    return replace(sweep, name="one_step", label="ResNet one-step (ours: R = 1, lr 1e-3)")


def get_preset(name: str | None = None) -> Preset:
    """The preset called `name` (default: $LUCID_DREAMER_PRESET, else `cpu`)."""
    name = name or os.environ.get("LUCID_DREAMER_PRESET") or DEFAULT_PRESET
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
