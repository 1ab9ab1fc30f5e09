"""Figures of the pipeline's products: each a function of saved data that returns a matplotlib Figure.

The grid's and the map's figures are `grid_plots`, videos `videos`. Every figure is drawn at the
book's width (`figure_style.WIDTH`: the ~690 px text column at the 110 dpi the book saves at), so it
is shown at its natural size and its fonts stay at 8 pt or more. Legends sit outside the axes, where
they cannot cover data, and the provenance line (`figure_style.foot`) gets room of its own.
"""

from __future__ import annotations

import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np

from ..pipeline.bench_report import table_rows
from .figure_style import SMALL, WIDTH, figure_legend, fit_layout, legend_above, plain_log_ticks

PATHS_SHOWN = 4
"""How many episodes' paths the tracking-analysis figure draws (its error panel uses them all)."""


def tracking_analysis(
    truth_xy: np.ndarray, dream_xy: np.ndarray, metrics: dict, resolution: int, title: str = "", source: str = ""
) -> plt.Figure:
    """The paper's tracking-analysis figure, for one or many episodes.

    Top: trajectories in image coordinates (y down), ground truth solid and dream dashed, one
    colour per episode, for the first `PATHS_SHOWN` episodes (more cannot be told apart), with the
    legend and a box of the metrics pooled over all episodes beside it. Bottom: error
    per frame after the context (mean over episodes where both detect, +-1 std band). `truth_xy`
    and `dream_xy` are [E, T, 2] or [T, 2]; `metrics` is a `trajectory_metrics` dict; `source` is
    a provenance line printed under the plot.
    """
    truth_xy = truth_xy.reshape(-1, truth_xy.shape[-2], 2)
    dream_xy = dream_xy.reshape(truth_xy.shape)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 7.4), gridspec_kw={"height_ratios": [3, 2]})
    shown = min(len(truth_xy), PATHS_SHOWN)
    colours = plt.cm.tab10(np.arange(shown))
    for truth, dream, colour in zip(truth_xy[:shown], dream_xy[:shown], colours):
        top.plot(truth[:, 0], truth[:, 1], "-", color=colour, lw=1.5)
        top.plot(dream[:, 0], dream[:, 1], "--", color=colour, lw=1.2)
        top.plot(*truth[0], "o", color=colour, ms=4)
    top.plot([], [], "k-", label="ground truth")
    top.plot([], [], "k--", label="dream")
    top.plot([], [], "ko", ms=4, label="start")
    top.set(xlim=(0, resolution), ylim=(resolution, 0), aspect="equal", xlabel="x (px)", ylabel="y (px)")
    paths = f"paths of the first {shown} of {len(truth_xy)} episodes" if shown < len(truth_xy) else "paths"
    top.set_title(textwrap.fill(f"{title or 'Trajectories'}: {paths}", 60), fontsize=10)
    top.legend(loc="upper left", bbox_to_anchor=(1.04, 1), fontsize=SMALL, borderaxespad=0)
    box = "\n".join(
        [
            f"RMSE (paper's): {metrics['rmse']:.2f} px",
            f"strict RMSE: {metrics['strict_rmse']:.2f} px",
            f"max error: {metrics['max_error']:.2f} px",
            f"detection: {metrics['valid_frames']}/{metrics['total_frames']} ({metrics['detection_rate']:.0%})",
            f"frame size: {resolution} px",
        ]
    )
    top.text(
        1.04,
        0,
        box,
        transform=top.transAxes,
        ha="left",
        va="bottom",
        fontsize=SMALL,
        family="monospace",
        bbox=dict(boxstyle="round", fc="white", ec="0.7"),
    )

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
    legend_above(bottom, ncol=3)
    fit_layout(fig, source)
    return fig


def frame_grid(
    frames: np.ndarray, titles: list[str] | None = None, row_labels: list[str] | None = None, source: str = ""
) -> plt.Figure:
    """uint8 frames [rows, cols, H, W, 3] as a grid of images, with optional column titles and row labels."""
    rows, cols = frames.shape[:2]
    cell = min(1.6, (WIDTH - 0.4) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(WIDTH if cell < 1.6 else 1.6 * cols + 0.4, cell * rows + 0.5), squeeze=False
    )
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(frames[r, c])
            ax.set_xticks([])
            ax.set_yticks([])
            if titles and r == 0:
                ax.set_title(titles[c], fontsize=SMALL)
            if row_labels and c == 0:
                ax.set_ylabel(row_labels[r], fontsize=SMALL)
    fit_layout(fig, source)
    return fig


def latent_channels(latent: np.ndarray, source: str = "") -> plt.Figure:
    """The 16 channels of one latent frame [16, h, w], each on its own colour scale with its colour bar
    (four to a row, so titles and bars stay legible at the book's width)."""
    fig, axes = plt.subplots(4, 4, figsize=(WIDTH, 6.6))
    for i, ax in enumerate(axes.flat):
        image = ax.imshow(latent[i], cmap="RdBu_r")
        ax.set_title(f"channel {i}", fontsize=SMALL)
        ax.set_xticks([])
        ax.set_yticks([])
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=SMALL)
    fit_layout(fig, source, w_pad=0.4, h_pad=0.6)
    return fig


def training_curves(logs: dict[str, list[dict]], source: str = "") -> plt.Figure:
    """Training loss (smoothed) and validation loss against step, for several runs' `log.jsonl` lines."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.6))
    for i, (label, lines) in enumerate(logs.items()):
        train = [(x["step"], x["loss"]) for x in lines if "loss" in x]
        val = [(x["step"], x["val_loss"]) for x in lines if "val_loss" in x]
        steps, loss = np.array(train).T
        window = max(1, len(loss) // 50)
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, color=f"C{i}", alpha=0.6, label=f"{label}: train (running mean)")
        ax.plot(*np.array(val).T, "o-", color=f"C{i}", ms=3, label=f"{label}: validation")
    ax.set(xlabel="optimizer step", ylabel="motion-weighted L1 (rollout mean)", yscale="log")
    plain_log_ticks(ax.yaxis)
    legend_above(ax, ncol=1)
    fit_layout(fig, source)
    return fig


def results_bars(rows: dict[str, dict], paper: dict[str, tuple] | None = None, source: str = "") -> plt.Figure:
    """Figure 3: RMSE (paper's and strict) and detection rate per model, with the paper's beside ours.

    `rows` maps a label to pooled metrics already scaled to 512 px; `paper` maps the paper's
    model names to (RMSE, detection, params) as reported by the paper. The two panels are stacked,
    models on the y axis of each.
    """
    labels = list(rows)
    n = len(labels)
    fig, (left, right) = plt.subplots(
        2, 1, figsize=(WIDTH, 0.62 * n + 2.6), gridspec_kw={"height_ratios": [0.4 * n + 0.6, 0.25 * n + 0.6]}
    )
    y = np.arange(n)
    left.barh(y - 0.2, [rows[k]["rmse"] for k in labels], 0.4, color="C0", label="RMSE (detected frames, the paper's)")
    left.barh(y + 0.2, [rows[k]["strict_rmse"] for k in labels], 0.4, color="C3", label="strict RMSE (misses cost)")
    right.barh(y, [100 * rows[k]["detection_rate"] for k in labels], 0.6, color="C2")
    if paper:
        for name, (rmse, detection, _) in paper.items():
            if name in labels and rmse is not None:
                left.plot(rmse, labels.index(name), "k*", ms=10)
            if name in labels:
                right.plot(100 * detection, labels.index(name), "k*", ms=10)
        left.plot([], [], "k*", label="the paper's reported value")
    for ax in (left, right):
        ax.set_yticks(y, labels, fontsize=SMALL)
        ax.set_ylim(n - 0.5, -0.5)
    left.set(xlabel="pixels at 512 px (lower is better)")
    left.set_xlim(left=0)
    right.set(xlabel="detection rate, % (higher is better)", xlim=(0, 105))
    handles, texts = left.get_legend_handles_labels()
    order = sorted(range(len(texts)), key=lambda i: "paper's reported" in texts[i])  # the bars first, the star last
    legend = figure_legend(fig, [handles[i] for i in order], [texts[i] for i in order], ncol=2)
    fit_layout(fig, source, legend, h_pad=1.0)
    return fig


def error_by_horizon(reports: dict[str, dict], resolution: int, source: str = "") -> plt.Figure:
    """Strict RMSE and detection rate against horizon, one line per model (`horizon_report`s), stacked."""
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 6.4), sharex=True)
    for label, r in reports.items():
        x = np.arange(1, len(r["by_horizon"]["strict_rmse"]) + 1)
        axes[0].plot(x, r["by_horizon"]["strict_rmse"], label=label)
        axes[1].plot(x, 100 * np.asarray(r["by_horizon"]["detection_rate"]), label=label)
    axes[0].set(ylabel=f"strict RMSE (px at {resolution} px)")
    axes[1].set(xlabel="horizon (frames)", ylabel="cube detected (%)", ylim=(0, 105))
    legend = figure_legend(fig, *axes[0].get_legend_handles_labels(), ncol=2)
    fit_layout(fig, source, legend)
    return fig


def context_sweep(rows: dict[int, dict], source: str = "") -> plt.Figure:
    """Latent error, sharpness and detection of one-step predictions against context size."""
    ks = sorted(rows)
    panels = [
        ([rows[k]["latent_l1"] for k in ks], "latent L1 of the next frame", None),
        ([rows[k]["sharpness_ratio"] for k in ks], "sharpness (1 = tokenizer's own)", None),
        ([100 * rows[k]["tracking"]["detection_rate"] for k in ks], "cube detected in prediction (%)", (0, 105)),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 2.9))
    for i, (ax, (values, title, ylim)) in enumerate(zip(axes, panels)):
        ax.plot(ks, values, "o-", color=f"C{i}")
        ax.set(xlabel="context frames K", xscale="log")
        ax.set_title(textwrap.fill(title, 20), fontsize=9)
        plain_log_ticks(ax.xaxis, ks)
        ax.tick_params(labelsize=SMALL)
        if ylim:
            ax.set_ylim(*ylim)
    axes[1].axhline(1, color="k", ls=":", lw=1)
    fit_layout(fig, source)
    return fig


def architecture(rows: list[tuple[str, str, str]], title: str = "", source: str = "") -> plt.Figure:
    """Figure 2: the network as a column of boxes, one per (name, what it computes, output shape).

    Rows whose name starts with "block" get a residual arc, as they add their input back. Text is
    plain ASCII, which the default font draws.
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 0.62 * len(rows) + 1.3))
    left, right = 0.1, 0.72
    for i, (name, what, shape) in enumerate(rows):
        y = len(rows) - i
        residual = name.startswith("block")
        box = plt.Rectangle((left, y - 0.3), right - left, 0.6, fc="#dbe9f6" if residual else "#f3e3c3", ec="k")
        ax.add_patch(box)
        ax.text((left + right) / 2, y + 0.1, name, ha="center", va="center", fontsize=9, weight="bold")
        ax.text((left + right) / 2, y - 0.14, what, ha="center", va="center", fontsize=SMALL)
        ax.text(right + 0.03, y, shape, ha="left", va="center", fontsize=9, family="monospace")
        if i < len(rows) - 1:
            ax.annotate(
                "", ((left + right) / 2, y - 0.7), ((left + right) / 2, y - 0.3), arrowprops=dict(arrowstyle="->")
            )
        if residual:
            arc = dict(arrowstyle="->", connectionstyle="arc3,rad=0.6", color="C0")
            ax.annotate("", (left, y - 0.45), (left, y + 0.35), arrowprops=arc)
            ax.text(left - 0.045, y - 0.05, "+ x", ha="right", va="center", fontsize=SMALL, color="C0")
    ax.text(left, 0.3, "blue arcs: a block adds its input x to its output (residual)", fontsize=SMALL, color="C0")
    ax.text(right + 0.03, len(rows) + 0.55, "output shape", ha="left", va="center", fontsize=SMALL, color="0.35")
    ax.set(xlim=(0, 1), ylim=(0.1, len(rows) + 0.75))
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    fit_layout(fig, source)
    return fig


def speedups(result: dict, source: str = "") -> plt.Figure:
    """The benchmark ladder: each variant's training and dreaming rate over the reference's (log scale)."""
    header, rows = table_rows(result)
    ratio_columns = [i for i, h in enumerate(header) if h.startswith("x ref")]
    names = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.22 * len(names) * len(ratio_columns) + 2.2))
    y, height = np.arange(len(names)), 0.8 / len(ratio_columns)
    values = [[r[col] for r in rows] for col in ratio_columns]
    for j, col in enumerate(ratio_columns):
        offset = (j - (len(ratio_columns) - 1) / 2) * height
        bars = ax.barh(y + offset, values[j], height, label=header[col].removeprefix("x ref "))
        ax.bar_label(bars, [f"{v:.1f}x" for v in values[j]], fontsize=SMALL, padding=2)
    ax.set_xscale("log")
    low, high = min(map(min, values)), max(map(max, values))
    ax.set_xlim(min(low, 1) / 1.25, high * 1.6)  # room for the labels right of the longest bar
    plain_log_ticks(ax.xaxis)
    ax.axvline(1, color="0.3", lw=0.8)
    ax.set_yticks(y, names, fontsize=SMALL)
    ax.set_ylim(len(names) - 0.5, -0.5)
    xlabel = f"speed over the paper's implementation (higher is better), {result['device']}"
    ax.set_xlabel(textwrap.fill(xlabel, 80))
    legend_above(ax, ncol=len(ratio_columns))
    fit_layout(fig, source)
    return fig
