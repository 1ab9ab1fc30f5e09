"""Figures: each a function of saved data that returns a matplotlib Figure."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np


def tracking_analysis(
    truth_xy: np.ndarray, dream_xy: np.ndarray, metrics: dict, resolution: int, title: str = "", source: str = ""
) -> plt.Figure:
    """The paper's tracking-analysis figure, for one or many episodes.

    Top: trajectories in image coordinates (y down), ground truth solid and dream dashed, one
    colour per episode. Bottom: error per frame after the context (mean over episodes where
    both detect, +-1 std band), with a box of the pooled metrics. `truth_xy` and `dream_xy`
    are [E, T, 2] or [T, 2]; `metrics` is a `trajectory_metrics` dict; `source` is a
    provenance line printed under the plot.
    """
    truth_xy = truth_xy.reshape(-1, truth_xy.shape[-2], 2)
    dream_xy = dream_xy.reshape(truth_xy.shape)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 9), gridspec_kw={"height_ratios": [3, 2]})
    colours = plt.cm.tab10(np.arange(len(truth_xy)) % 10)
    for truth, dream, colour in zip(truth_xy, dream_xy, colours):
        top.plot(truth[:, 0], truth[:, 1], "-", color=colour, lw=1.5)
        top.plot(dream[:, 0], dream[:, 1], "--", color=colour, lw=1.2)
        top.plot(*truth[0], "o", color=colour, ms=4)
    top.plot([], [], "k-", label="ground truth")
    top.plot([], [], "k--", label="dream")
    top.set(xlim=(0, resolution), ylim=(resolution, 0), aspect="equal", xlabel="x (px)", ylabel="y (px)")
    top.set_title(title or "Trajectories")
    top.legend(loc="upper right", fontsize=8)

    error = np.linalg.norm(dream_xy - truth_xy, axis=-1)  # NaN where either misses
    frames = np.arange(1, error.shape[1] + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a frame no episode detected: NaN, not a warning
        mean, std = np.nanmean(error, axis=0), np.nanstd(error, axis=0)
    bottom.plot(frames, mean, color="C3", label="mean error over episodes")
    bottom.fill_between(frames, mean - std, mean + std, color="C3", alpha=0.2, label="+-1 std")
    bottom.axhline(metrics["mean_error"], color="k", ls=":", lw=1, label=f"pooled mean {metrics['mean_error']:.1f} px")
    bottom.set(xlabel="frames after the context (horizon)", ylabel="centroid error (px)", xlim=(1, frames[-1]))
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize=8)
    box = "\n".join(
        [
            f"RMSE (paper's): {metrics['rmse']:.2f} px",
            f"strict RMSE: {metrics['strict_rmse']:.2f} px",
            f"max error: {metrics['max_error']:.2f} px",
            f"detection: {metrics['valid_frames']}/{metrics['total_frames']} ({metrics['detection_rate']:.0%})",
            f"frame size: {resolution} px",
        ]
    )
    bottom.text(0.99, 0.97, box, transform=bottom.transAxes, ha="right", va="top", fontsize=8,
                family="monospace", bbox=dict(boxstyle="round", fc="white", alpha=0.85))  # fmt: skip
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig
