"""The three presets: `smoke` (CI, every code path), `cpu` (real results on a laptop), `paper` (GPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from ..method.conditions import CONDITIONS, condition
from ..method.data import DataConfig
from ..method.errors import UserError
from ..method.models import ModelConfig
from ..method.recipe import PAPER_FRAMES, PAPER_STEPS
from ..method.tokenizer import TokenizerConfig
from ..method.train import TrainConfig
from ..method.world import WorldConfig


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
    data: DataConfig | None = None
    """Its own splits or protocol (None: the preset's)."""
    world: WorldConfig | None = None
    """Its own world, a condition of the conditions map (None: the preset's); the preset's
    tokenizer encodes it."""

    @property
    def budget(self) -> str:
        """Its training budget as the book names it: "1,500 steps, lr 1e-4"."""
        mantissa, exponent = f"{self.train.lr:e}".split("e")
        return f"{self.train.steps:,} steps, lr {mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


@dataclass(frozen=True)
class GridConfig:
    """Budget and sizes of the grid at one preset."""

    steps: int
    """Optimizer steps of every run (one budget for all, cut from the paper's 1,500 to fit the time)."""
    seeds: tuple[int, ...]
    """Seeds of every row (initialisation, dropout, batches; the data and splits stay fixed)."""
    lr: float = 1e-3
    """Learning rate of every run (the paper's 1e-4 underfits at these budgets: chapter 3)."""
    resnet_widths: tuple[int, ...] = (16, 32, 64, 128)
    """ResNet-Rollout widths of the inverted-U sweep."""
    unet_width: int = 64
    """Width of the U-Nets (Baseline U-Net, Rollout U-Net, Sharp-Shooter)."""
    unet_widths: tuple[int, ...] = (16, 32, 64, 96)
    """Rollout U-Net widths of the inverted-U sweep."""
    probabilistic_width: int = 128
    """Width of Probabilistic Plus (the paper's is ~10x ResNet-Rollout's parameters)."""
    transformer: tuple[int, int, int] = (256, 4, 4)
    """Hero's model size, layers and heads (the paper's failed model has 394M parameters)."""
    conditions: tuple[str, ...] = tuple(c.name for c in CONDITIONS)
    """Worlds of the conditions map (`conditions.CONDITIONS` names), each encoded by the main tokenizer."""
    one_trajectory_steps: int = PAPER_STEPS
    """Optimizer steps of the paper's one-trajectory protocol rows (the paper's budget)."""
    curve_steps: tuple[int, ...] = (1500, 6000)
    """Budgets of the learning curve beyond `steps` (the grid's runs at `steps` are its first point);
    the longest trains the recipe with every seed and the other two trainings with the first."""
    claim_steps: int | None = None
    """Budget at which every row a claim depends on is trained again (`grid.CLAIM_GROUPS`): the learning
    curve's choice by the budget rule (`grid_summaries.chosen_budget`), at most the paper's 1,500; None: the claims
    are judged at `steps` only."""


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
    grid: GridConfig
    """The comparison grid of rivals and ablations (chapter 7)."""
    tokenizer_world: WorldConfig | None = None
    """The world the tokenizer was trained on, where it differs from `world` (a condition of the
    map is encoded by the main world's tokenizer); None: `world`."""


def paper_and_tuned(model: ModelConfig, train: TrainConfig) -> tuple[Experiment, Experiment]:
    """The paper's hyper-parameters and budget, and our tuned run beside it (labelled as ours)."""
    return (
        Experiment("resnet_rollout", "ResNet-Rollout (paper's settings)", model, train),
        Experiment("resnet_rollout_tuned", "ResNet-Rollout (ours: lr 1e-3)", model, replace(train, lr=1e-3)),
    )


MAIN_CONDITION = condition("cube5_speed0.5")
"""The `cpu` preset's world: the map's condition where the cube spans as many latent cells as our
scene at the paper's 512 px (a cube of about 5 cells), at our scene's speed in cells per frame."""

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
        grid=GridConfig(
            steps=2,
            seeds=(0, 1),
            resnet_widths=(16, 64),
            unet_width=16,
            unet_widths=(16,),
            probabilistic_width=32,
            transformer=(32, 1, 2),
            one_trajectory_steps=2,
            curve_steps=(3, 4),
            conditions=("cube1.3_speed0.5", "cube2.7_speed0.5"),
        ),
    ),
    "cpu": Preset(
        "cpu",
        # the cube spans about 5 latent cells, as our scene would at the paper's 512 px (chapter 8)
        MAIN_CONDITION.world(WorldConfig(resolution=128, frames_per_episode=64, episodes=64)),
        TokenizerConfig(steps=1500),
        DataConfig(val_episodes=8, test_episodes=16),
        paper_and_tuned(ModelConfig(), TrainConfig()),
        sweep_steps=PAPER_STEPS,
        # 400 steps for every run fits the whole grid in about 4 hours on 2 cores; Probabilistic Plus at
        # width 96 (2x ResNet-Rollout's parameters) keeps the shipped weights under 10 MB
        # the budget rule asks for 6,000 steps (chapter 7's learning curve); the claim rows train the paper's
        # 1,500, the cap the rule states
        grid=GridConfig(steps=400, seeds=(0, 1, 2), probabilistic_width=96, claim_steps=PAPER_STEPS),
    ),
    "paper": Preset(
        "paper",
        WorldConfig(resolution=512, frames_per_episode=PAPER_FRAMES, episodes=64),
        TokenizerConfig(steps=6000, crop=128),
        DataConfig(val_episodes=8, test_episodes=16),
        paper_and_tuned(ModelConfig(), TrainConfig()),
        sweep_steps=PAPER_STEPS,
        grid=GridConfig(
            steps=PAPER_STEPS,
            seeds=(0, 1, 2, 3, 4),
            probabilistic_width=192,
            unet_width=128,
            unet_widths=(32, 64, 128, 192),
            resnet_widths=(16, 32, 64, 128, 256),
            transformer=(512, 8, 8),
            curve_steps=(6000,),
        ),
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
    train = replace(
        base.train,
        steps=preset.sweep_steps,
        rollout_steps=1,
        eval_every=max(1, min(base.train.eval_every, preset.sweep_steps)),
    )
    return [
        Experiment(f"context_{k}", f"context {k}", replace(base.model, context_frames=k), train) for k in CONTEXT_SWEEP
    ]


def one_step_experiment(preset: Preset) -> Experiment:
    """The context sweep's K = 4 model (the main network trained as a one-step predictor, R = 1),
    dreamed like the rollout-trained models to show what the rollout objective changes."""
    sweep = context_sweep_experiments(preset)[CONTEXT_SWEEP.index(4)]
    return replace(sweep, name="one_step", label="ResNet one-step (ours: R = 1, lr 1e-3)")


def seeds(preset: Preset) -> dict:
    """Every seed a preset's results depend on (the book's provenance records them)."""
    return {
        "world": preset.world.seed,
        "tokenizer": preset.tokenizer.seed,
        "split": preset.data.split_seed,
        "training": sorted({e.train.seed for e in preset.experiments}),
        "grid": list(preset.grid.seeds),
    }


def get_preset(name: str | None = None) -> Preset:
    """The preset called `name` (default: $LUCID_DREAMER_PRESET, else `cpu`)."""
    name = name or os.environ.get("LUCID_DREAMER_PRESET") or DEFAULT_PRESET
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
