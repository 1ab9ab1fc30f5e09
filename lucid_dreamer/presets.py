"""The three presets: `smoke` (CI, every code path), `cpu` (real results on a laptop), `paper` (GPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .data import DataConfig
from .errors import UserError
from .tokenizer import TokenizerConfig
from .world import WorldConfig


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
    """Windows, splits and normalisation."""


PRESETS = {
    "smoke": Preset(
        "smoke",
        WorldConfig(resolution=64, frames_per_episode=24, episodes=10),
        TokenizerConfig(widths=(16, 32, 48), steps=1000, crop=32, lr=3e-3),
        DataConfig(val_episodes=2, test_episodes=2),
    ),
    "cpu": Preset(
        "cpu",
        WorldConfig(resolution=128, frames_per_episode=64, episodes=64),
        TokenizerConfig(steps=1500),
        DataConfig(val_episodes=8, test_episodes=16),
    ),
    "paper": Preset(
        "paper",
        WorldConfig(resolution=512, frames_per_episode=101, episodes=64),
        TokenizerConfig(steps=6000, crop=128),
        DataConfig(val_episodes=8, test_episodes=16),
    ),
}

DEFAULT_PRESET = "cpu"


def get_preset(name: str | None = None) -> Preset:
    """The preset called `name` (default: $LUCID_DREAMER_PRESET, else `cpu`)."""
    name = name or os.environ.get("LUCID_DREAMER_PRESET") or DEFAULT_PRESET
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
