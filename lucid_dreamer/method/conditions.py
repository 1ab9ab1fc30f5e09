"""The world's conditions: how large the cube is and how fast it moves, in pixels and in latent cells.

A verdict about a world model is a verdict about the world it was measured in. The paper never
says how large its cube is or how fast it moves; here both are measured (`measure`) and become
the axes of a conditions map (`CONDITIONS`): the cube's size through its half side, its speed
through the largest initial speed, everything else (camera, arena, lighting) the same. What the
map says (its rows and findings) is the book's `conditions_report`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .errors import UserError
from .track import CubeTrackerConfig, expected_cube_area, track_cube
from .world import WorldConfig


@dataclass(frozen=True)
class Condition:
    """One world of the conditions map."""

    cube_cells: float
    """The cube's side in latent cells it aims at (`measure` gives what the world shows)."""
    speed_cells: float
    """The median speed in latent cells per frame it aims at."""
    cube_half_size: float
    """Half the cube's side, in metres, at 128 px frames (0.06 m is about 1.3 latent cells of 8 px);
    `world` scales it with the frame size, so a condition spans the same cells at any resolution."""
    max_speed: float
    """Largest initial speed, in m/s, at 128 px frames (2.5 m/s gives a median near 0.5 cells per
    frame); scaled like the cube."""

    @property
    def name(self) -> str:
        return f"cube{self.cube_cells:g}_speed{self.speed_cells:g}"

    def world(self, base: WorldConfig) -> WorldConfig:
        """`base` with this condition's cube and speed, scaled to its frame size (the camera and
        arena stay, so at 4x the pixels a quarter of the cube spans the same latent cells)."""
        scale = 128 / base.resolution
        return replace(base, cube_half_size=self.cube_half_size * scale, max_speed=self.max_speed * scale)


CONDITIONS = tuple(
    Condition(cells, pace, half, speed)
    for cells, half in ((1.3, 0.06), (2.7, 0.12), (5, 0.21))
    for pace, speed in ((0.25, 1.1), (0.5, 2.5))
)
"""Cube sizes of about 1.3, 2.7 and 5 latent cells (the last is our scene at the paper's 512 px),
each at about 0.25 and 0.5 cells per frame (median); `measure` says what each world really gives."""

HARD = "cube1.3_speed0.5"
"""Our scene's own 12 cm cube at 128 px (about 1.3 latent cells, half a cell a frame): the world
this project first measured in, where every model lost the cube; the map keeps it by name."""


TRAININGS = {"recipe": "the paper's recipe (R = 4)", "one_step": "one step ahead (R = 1)"}
"""The map's two trainings of the same network: grid variant suffix -> label."""


def condition(name: str) -> Condition:
    """The map's condition called `name`."""
    for c in CONDITIONS:
        if c.name == name:
            return c
    raise UserError(f"no condition is called {name!r}; choose one of {', '.join(c.name for c in CONDITIONS)}")


def condition_of(variant: str) -> Condition | None:
    """The condition a map row's variant (`<condition>_<training>`) belongs to."""
    return next((c for c in CONDITIONS if variant.startswith(f"{c.name}_")), None)


def _near(centres: np.ndarray, radius: float, rows: int, cols: int) -> np.ndarray:
    """Boolean [..., rows, cols]: latent cells whose centre lies within `radius` cells of
    `centres` [..., 2] (x, y in cell units; NaN: no cell)."""
    dx = (np.arange(cols) + 0.5)[None, :] - centres[..., 0, None, None]
    dy = (np.arange(rows) + 0.5)[:, None] - centres[..., 1, None, None]
    with np.errstate(invalid="ignore"):
        return np.hypot(dx, dy) <= radius


def measure(
    frames: np.ndarray,
    centres: np.ndarray | None = None,
    latents: torch.Tensor | None = None,
    cell_px: int = 8,
    motion_threshold: float = 0.1,
) -> dict:
    """The conditions of a world, from its frames [E, T, H, W, 3]: the cube's side (the square root
    of its median blob area by our tracker) and speed (frame-to-frame steps of its centre), in
    pixels and in latent cells of `cell_px` pixels; the share of frames with the cube in view. The
    centres [E, T, 2] are the projected ones where known (NaN out of view), else our tracker's.
    With the raw latents [E, T, C, h, w], also the share of latent elements the paper's motion mask
    flags (|z_t - z_(t-1)| > `motion_threshold`, as its loss weights them) within one cube side of
    the cube, and elsewhere."""
    resolution = frames.shape[-2]
    area = expected_cube_area(frames, CubeTrackerConfig())
    side = float(np.sqrt(area))
    if centres is None:
        centres = track_cube(frames, area)
    in_view = ~np.isnan(centres).any(axis=-1)
    steps = np.linalg.norm(np.diff(centres, axis=1), axis=-1)[in_view[:, 1:] & in_view[:, :-1]]
    median, p90 = (float(np.quantile(steps, q)) if len(steps) else float("nan") for q in (0.5, 0.9))
    out = {
        "resolution": int(resolution),
        "latent_cells": int(resolution // cell_px),
        "cube_area_px": area,
        "cube_px": side,
        "cube_cells": side / cell_px,
        "speed_px": {"median": median, "p90": p90},
        "speed_cells": {"median": median / cell_px, "p90": p90 / cell_px},
        "in_view": float(in_view.mean()),
    }
    if latents is not None:
        moved = ((latents[:, 1:] - latents[:, :-1]).abs() > motion_threshold).float().mean(dim=2).numpy()
        near = _near(centres[:, 1:] / cell_px, side / cell_px, *latents.shape[-2:])
        out["motion_mask"] = {
            "near_cube": float(moved[near].mean()) if near.any() else float("nan"),
            "elsewhere": float(moved[~near].mean()),
        }
    return out


def describe(conditions: dict) -> str:
    """One line for a user: the cube's size and speed in pixels and latent cells."""
    c = conditions
    if c["cube_px"] != c["cube_px"]:
        return "no red cube found by our tracker, so no size or speed to report"
    line = (
        f"cube {c['cube_px']:.1f} px across in {c['resolution']} px frames ({c['cube_cells']:.2f} latent cells), "
        f"moving a median {c['speed_px']['median']:.1f} px ({c['speed_cells']['median']:.2f} cells) per frame "
        f"(p90 {c['speed_cells']['p90']:.2f} cells), in view in {c['in_view']:.0%} of frames"
    )
    if "motion_mask" in c:
        mask = c["motion_mask"]
        line += f"; the motion mask flags {mask['near_cube']:.0%} of latent elements near the cube, "
        line += f"{mask['elsewhere']:.1%} elsewhere"
    return line


def describe_short(conditions: dict) -> str:
    """The world in a few words: cube size and median speed in latent cells."""
    c = conditions
    return f"cube {c['cube_cells']:.1f} latent cells, {c['speed_cells']['median']:.2f} cells/frame"
