"""The world's conditions: how large the cube is and how fast it moves, in pixels and in latent cells.

A verdict about a world model is a verdict about the world it was measured in. The paper never
says how large its cube is or how fast it moves; here both are measured (`measure`) and become
the axes of a conditions map (`CONDITIONS`): the cube's size through its half side, its speed
through the largest initial speed, everything else (camera, arena, lighting) the same.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .track import CubeTrackerConfig, expected_cube_area
from .world import WorldConfig


@dataclass(frozen=True)
class Condition:
    """One world of the conditions map."""

    name: str
    """Identifier in run ids and file names."""
    cube_half_size: float
    """Half the cube's side, in metres (0.06 m is about 1.3 latent cells at 128 px, 8 px per cell)."""
    max_speed: float
    """Largest initial speed, in m/s (2.5 m/s gives a median near 0.5 cells per frame)."""

    def world(self, base: WorldConfig) -> WorldConfig:
        """`base` with this condition's cube and speed."""
        return replace(base, cube_half_size=self.cube_half_size, max_speed=self.max_speed)


CONDITIONS = tuple(
    Condition(f"cube{cells}_speed{pace}", half, speed)
    for cells, half in (("1.3", 0.06), ("2.7", 0.12), ("5", 0.21))
    for pace, speed in (("0.25", 1.1), ("0.5", 2.5))
)
"""Cube sizes of about 1.3, 2.7 and 5 latent cells (the last is our scene at the paper's 512 px),
each at about 0.25 and 0.5 cells per frame (median); `measure` says what each world really gives."""


def condition(name: str) -> Condition:
    """The map's condition called `name`."""
    return next(c for c in CONDITIONS if c.name == name)


def _near(centres: np.ndarray, radius: float, cells: int) -> np.ndarray:
    """Boolean [..., cells, cells]: latent cells whose centre lies within `radius` cells of
    `centres` [..., 2] (x, y in cell units; NaN: no cell)."""
    grid = np.arange(cells) + 0.5
    dx = grid[None, :] - centres[..., 0, None, None]
    dy = grid[:, None] - centres[..., 1, None, None]
    with np.errstate(invalid="ignore"):
        return np.hypot(dx, dy) <= radius


def measure(episodes: dict[str, np.ndarray], latents: torch.Tensor, motion_threshold: float = 0.1) -> dict:
    """The conditions of a world, from its episodes (frames, projected centres, in-view flags) and
    their raw latents [E, T, C, h, w]: the cube's side (the square root of its median blob area by
    our tracker) and speed (frame-to-frame steps of the projected centre, in view at both ends), in
    pixels and in latent cells; the share of frames with the cube in view; and the share of latent
    elements the paper's motion mask flags (|z_t - z_(t-1)| > `motion_threshold`, as the loss
    weights them) within one cube size of the cube, and elsewhere."""
    frames, resolution = episodes["frames"], episodes["frames"].shape[-2]
    cells = latents.shape[-1]
    cell_px = resolution / cells
    area = expected_cube_area(frames, CubeTrackerConfig())
    side = float(np.sqrt(area))
    pixel, in_view = episodes["pixel"], episodes["in_view"].astype(bool)
    steps = np.linalg.norm(np.diff(pixel, axis=1), axis=-1)[in_view[:, 1:] & in_view[:, :-1]]
    moved = ((latents[:, 1:] - latents[:, :-1]).abs() > motion_threshold).float().mean(dim=2).numpy()
    centres = np.where(in_view[:, 1:, None], pixel[:, 1:], np.nan) / cell_px
    near = _near(centres, side / cell_px, cells)
    median, p90 = (float(np.quantile(steps, q)) for q in (0.5, 0.9))
    return {
        "resolution": int(resolution),
        "latent_cells": int(cells),
        "cube_area_px": area,
        "cube_px": side,
        "cube_cells": side / cell_px,
        "speed_px": {"median": median, "p90": p90},
        "speed_cells": {"median": median / cell_px, "p90": p90 / cell_px},
        "in_view": float(in_view.mean()),
        "motion_mask": {
            "near_cube": float(moved[near].mean()) if near.any() else float("nan"),
            "elsewhere": float(moved[~near].mean()),
        },
    }


def describe(conditions: dict) -> str:
    """One line for a user: the cube's size and speed in pixels and latent cells."""
    c = conditions
    return (
        f"cube {c['cube_px']:.1f} px across ({c['cube_cells']:.2f} latent cells), moving a median "
        f"{c['speed_px']['median']:.1f} px ({c['speed_cells']['median']:.2f} cells) per frame "
        f"(p90 {c['speed_cells']['p90']:.2f} cells), in view in {c['in_view']:.0%} of frames; the motion mask "
        f"flags {c['motion_mask']['near_cube']:.0%} of latent elements near the cube, "
        f"{c['motion_mask']['elsewhere']:.1%} elsewhere"
    )
