"""The reference points every dream is scored beside: three trivial predictors and the tokenizer's floor.

Copying the last context frame, constant velocity bouncing off the arena's walls (`bouncing_velocity`),
and the training episodes' mean cube position (`position_prior`): what a world model must beat to
have learned anything; the oracle (true latents through the tokenizer) is the floor. The references
stage computes them (`stages.references_stage`); `analyze` scores them like any dream.
"""

from __future__ import annotations

import warnings

import numpy as np

REFERENCES = {
    "copy_last": "copy last frame",
    "bouncing_velocity": "constant velocity, bouncing off the walls",
    "position_prior": "position prior (training episodes' mean)",
    "oracle": "oracle (tokenizer floor)",
}
"""The reference points every dream is scored beside (the references stage's, and the committed
reference tracks'), as the tables name them: three trivial predictors (`TRIVIAL`) and the floor."""
TRIVIAL = ("copy_last", "bouncing_velocity", "position_prior")
"""The trivial predictors: copying the last context frame (through the tokenizer, as a latent model
that copies would), constant velocity from the last two context frames' tracks bouncing off the
arena's walls (`bouncing_velocity`), and the training episodes' mean cube position per dreamed frame
(`position_prior`). The oracle (true latents through the tokenizer) is the floor, not a predictor."""
REFERENCES_VERSION = 2
"""Raised whenever the reference set or a reference's rule changes (in the references stage's cache key,
so its products are remade; 2: bouncing constant velocity and the position prior)."""


def reflect(x: np.ndarray, bound: float) -> np.ndarray:
    """Positions `x` of a point moving freely, folded into [-bound, bound] as if it bounced
    elastically off walls at +-bound (any number of times)."""
    period = 4 * bound
    y = np.mod(np.asarray(x, dtype=float) + bound, period)
    return bound - np.abs(y - 2 * bound)


def bouncing_velocity(context_xy: np.ndarray, horizon: int, camera, bound: float) -> np.ndarray:
    """Constant velocity that bounces off the arena's walls: tracked context centroids [E, K, 2]
    (px) are unprojected by `camera` (`world.Camera`) onto the plane of the cube's centre, the cube
    moves on at the velocity between the last two context frames, reflecting wherever its centre
    reaches +-`bound` (the arena's half-size less the cube's), and each of the `horizon` frames is
    projected back to pixels [E, horizon, 2].

    One context frame (or a missed last-but-one) gives no velocity: the cube stays where it was last
    seen. A context without any detection starts at the arena's centre."""
    world = camera.unproject(context_xy)  # [E, K, 2] metres
    last = world[:, -1]
    velocity = world[:, -1] - world[:, -2] if world.shape[1] > 1 else np.zeros_like(last)
    velocity = np.where(np.isnan(velocity), 0.0, velocity)
    # where the last context frame has no detection, start from the latest one that has
    for k in range(world.shape[1] - 2, -1, -1):
        last = np.where(np.isnan(last), world[:, k], last)
    last = np.where(np.isnan(last), 0.0, last)
    steps = np.arange(1, horizon + 1)[None, :, None]
    path = reflect(last[:, None, :] + steps * velocity[:, None, :], bound)
    return camera.project(path)


def position_prior(tracks: np.ndarray, splits: dict[str, np.ndarray], first: int, horizon: int) -> np.ndarray:
    """The position prior: for each test episode the same guess [E_test, horizon, 2], the mean tracked
    cube position over the TRAINING episodes (`splits["train"]`) at each of the frames `first` ..
    `first + horizon - 1`, from every episode's tracks [E, T, 2] (NaN where the tracker found none):
    what the training data says about where the cube is that long after a dream starts, without
    looking at the episode (nor at any test episode)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a frame no training episode shows stays NaN
        mean = np.nanmean(tracks[splits["train"], first : first + horizon], axis=0)
    return np.repeat(mean[None], len(splits["test"]), axis=0)
