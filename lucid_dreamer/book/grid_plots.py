"""Figures of the comparison grid and the conditions map (chapters 7 and 8): intervals over seeds beside
the references, the inverted U, the learning curve, the map, and dreams against the trivial predictors.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.ticker import PercentFormatter

from .figure_style import SMALL, WIDTH, figure_legend, fit_layout, legend_above, plain_log_ticks

SHARES = {"detection"}
"""Metrics that are shares of frames, drawn in percent as the tables print them."""


def reference_lines(ax, references: dict[str, dict[str, float]], metric: str, line, scale: float = 1.0) -> None:
    """The reference predictors' `metric` (times `scale`) as grey lines of their own dash, labelled for
    the legend; `line` is `ax.axhline` or `ax.axvline`."""
    for j, (label, values) in enumerate(references.items()):
        if metric in values:
            line(scale * values[metric], color="0.3", lw=1, ls=("--", ":", "-.", (0, (5, 1)))[j % 4], label=label)


def _legend_entries(axes) -> tuple[list, list[str]]:
    """Every labelled line of any panel, once (a reference may be drawn only in some panels)."""
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    return list(handles.values()), list(handles)


def interval_bars(
    rows: dict[str, dict[str, dict]],
    panels: list[tuple[str, str]],
    paper: dict[str, dict[str, float]] | None = None,
    source: str = "",
    references: dict[str, dict[str, float]] | None = None,
) -> plt.Figure:
    """One panel per metric, stacked: a bar per row at the mean over seeds, its 95% interval, and each
    seed as a dot. Shares (`SHARES`) are drawn in percent.

    `rows` maps a label to {metric: {"mean", "low", "high", "values"}}; `panels` lists (metric, axis label);
    `paper` maps a label to {metric: the paper's value}, drawn as a star; `references` maps a
    reference predictor's label (copy-last, ...) to {metric: value}, drawn as a line across the rows.
    """
    labels = list(rows)
    n = len(labels)
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH, len(panels) * (0.27 * n + 0.85) + 0.9), squeeze=False)
    y = np.arange(n)
    for ax, (metric, xlabel) in zip(axes[:, 0], panels):
        scale = 100.0 if metric in SHARES else 1.0
        cells = [rows[k].get(metric) for k in labels]
        means = [np.nan if c is None else scale * c["mean"] for c in cells]
        ax.barh(y, means, 0.6, color="C0", alpha=0.6)
        for i, c in enumerate(cells):
            if c is None:
                ax.text(0, i, "  not run yet", va="center", fontsize=SMALL, color="0.4")
                continue
            if np.isfinite(c["low"]):
                ax.plot([scale * c["low"], scale * c["high"]], [i, i], color="k", lw=1.5, clip_on=False)
            ax.plot(scale * np.asarray(c["values"]), np.full(len(c["values"]), i), "o", ms=3, color="C3")
            if paper and metric in paper.get(labels[i], {}):
                ax.plot(scale * paper[labels[i]][metric], i, "k*", ms=10)
        reference_lines(ax, references or {}, metric, ax.axvline, scale)
        ax.set_yticks(y, labels, fontsize=SMALL)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(left=-0.03 * ax.get_xlim()[1])  # a star or a dot at 0 stays whole, clear of the labels
        ax.set_xlabel(xlabel, fontsize=9)
        ax.tick_params(axis="x", labelsize=SMALL)
    first = axes[0, 0]
    first.plot([], [], "o", ms=3, color="C3", label="one seed")
    first.plot([], [], color="k", label="95% interval of the mean")
    if paper:
        first.plot([], [], "k*", label="the paper's reported value")
    legend = figure_legend(fig, *_legend_entries(axes.flat), ncol=3)
    fit_layout(fig, source, legend, h_pad=1.0)
    return fig


def inverted_u(series: dict[str, list[tuple[int, dict]]], ylabel: str, source: str = "") -> plt.Figure:
    """Error against parameter count, one line per model family; `series` maps a family to
    [(parameters, {"mean", "low", "high"}), ...]. The paper's claim is a U turned upside down in
    performance: error falls, then rises as models grow."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2))
    for i, (family, points) in enumerate(series.items()):
        points = sorted(points, key=lambda p: p[0])
        x = [p for p, _ in points]
        mean = np.array([c["mean"] for _, c in points])
        low = np.array([c["low"] for _, c in points])
        high = np.array([c["high"] for _, c in points])
        ax.plot(x, mean, "o-", color=f"C{i}", label=family)
        ax.fill_between(x, low, high, color=f"C{i}", alpha=0.2)
    ax.set_xscale("log")
    ax.set(xlabel="parameters", ylabel=ylabel)
    if series:
        plain_log_ticks(ax.xaxis)
        legend_above(ax, ncol=len(series))
    else:
        ax.text(0.5, 0.5, "not run yet", transform=ax.transAxes, ha="center", color="0.4")
    fit_layout(fig, source)
    return fig


def learning_curve(
    curves: dict[str, dict[int, dict]],
    references: dict[str, dict[str, float]],
    panels: list[tuple[str, str]],
    source: str = "",
) -> plt.Figure:
    """One panel per metric against the training budget (log steps): per training a line through the
    means over seeds, its 95% interval as a band, each seed a dot; the trivial predictors as
    horizontal lines where a panel has them.

    `curves` maps a training's label to {steps: {metric: {"mean", "low", "high", "values"}}};
    `references` maps a predictor's label to {metric: value}; `panels` lists (metric, title).
    """
    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 2.3 * rows + 0.9), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (metric, title) in zip(axes.flat, panels):
        for i, (label, by_steps) in enumerate(curves.items()):
            steps = sorted(s for s in by_steps if metric in by_steps[s])
            cells = [by_steps[s][metric] for s in steps]
            ax.plot(steps, [c["mean"] for c in cells], "-o", ms=3, color=f"C{i}", label=label)
            ax.fill_between(steps, [c["low"] for c in cells], [c["high"] for c in cells], color=f"C{i}", alpha=0.2)
            for s, c in zip(steps, cells):
                ax.plot([s] * len(c["values"]), c["values"], ".", ms=3, color=f"C{i}")
        reference_lines(ax, references, metric, ax.axhline)
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis, sorted({s for by_steps in curves.values() for s in by_steps}))
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("optimizer steps", fontsize=SMALL)
        ax.tick_params(labelsize=SMALL)
    legend = figure_legend(fig, *_legend_entries(axes.flat), ncol=3)
    fit_layout(fig, source, legend)
    return fig


def conditions_map(rows: list[dict], source: str = "") -> plt.Figure:
    """The conditions map at a glance: for each training (rows of panels), where the dreamed cube is
    still detected at horizon 4 and how the whole dream's strict RMSE compares with copying the last
    frame (below 1: better), over cube size (panel rows) and speed (panel columns) in latent cells.
    `rows` are `conditions.map_rows` dicts."""
    trainings = list(dict.fromkeys(r["training"] for r in rows))
    sizes = sorted({r["cube_cells"] for r in rows})
    speeds = sorted({r["speed_cells"] for r in rows})
    # a ratio of 1 is copy-last's error: below it green, above it red, up to 3.5x
    ratio_colours = TwoSlopeNorm(vcenter=1.0, vmin=0.25, vmax=3.5)
    panels = [
        ("detection_h4", "detected at horizon 4", "RdYlGn", Normalize(0, 1), "{:.0%}"),
        ("strict_vs_copy_last", "strict RMSE / copy-last's", "RdYlGn_r", ratio_colours, "{:.2f}"),
    ]
    fig, axes = plt.subplots(len(trainings), 2, figsize=(WIDTH, 2.5 * len(trainings) + 0.9), squeeze=False)
    for i, training in enumerate(trainings):
        for j, (key, title, cmap, norm, text) in enumerate(panels):
            grid = np.full((len(sizes), len(speeds)), np.nan)
            for r in rows:
                if r["training"] == training:
                    grid[sizes.index(r["cube_cells"]), speeds.index(r["speed_cells"])] = r[key]
            ax = axes[i, j]
            image = ax.imshow(grid, cmap=cmap, norm=norm, origin="lower", aspect="auto")
            bar = fig.colorbar(image, ax=ax, fraction=0.08, pad=0.03, format=PercentFormatter(1.0) if j == 0 else None)
            bar.ax.tick_params(labelsize=SMALL)
            for (y, x), value in np.ndenumerate(grid):
                ax.text(x, y, "-" if value != value else text.format(value), ha="center", va="center", fontsize=10)
            ax.set_xticks(range(len(speeds)), [f"{s:.2f}" for s in speeds])
            ax.set_yticks(range(len(sizes)), [f"{s:.1f}" for s in sizes])
            if i == len(trainings) - 1:
                ax.set_xlabel("speed (latent cells per frame, median)", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{training}\ncube (latent cells)", fontsize=9)
            if i == 0:
                ax.set_title(title, fontsize=9)
    fit_layout(fig, source)
    return fig


def relative_to_trivial(ratios: dict[str, dict], source: str = "") -> plt.Figure:
    """Each model's strict RMSE within the first h dreamed frames over the best trivial predictor's
    (`analyze.horizon_ratios`), against h on a log axis: a line through the ratio, its paired 95%
    interval as a band, and a line at 1 (below it the model beats all the trivial predictors).

    `ratios` maps a model's label to {"ratio", "low", "high"} arrays indexed by horizon - 1."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    for i, (label, r) in enumerate(ratios.items()):
        h = np.arange(1, len(r["ratio"]) + 1)
        ax.plot(h, r["ratio"], color=f"C{i}", label=label)
        ax.fill_between(h, r["low"], r["high"], color=f"C{i}", alpha=0.2)
    ax.axhline(1, color="0.3", lw=1, ls="--", label="the best trivial predictor")
    ax.set_xscale("log")
    ax.set_xlim(1, max(len(r["ratio"]) for r in ratios.values()))
    plain_log_ticks(ax.xaxis, [1, 2, 4, 8, 16, 32, 60])
    ax.set_xlabel("horizon h: the first h dreamed frames", fontsize=SMALL)
    ax.set_ylabel("strict RMSE / the best trivial predictor's", fontsize=SMALL)
    ax.tick_params(labelsize=SMALL)
    legend = figure_legend(fig, *ax.get_legend_handles_labels(), ncol=2)
    fit_layout(fig, source, legend)
    return fig
