"""Figures: each a function of saved data that returns a matplotlib Figure.

Every figure is drawn at the book's width (`WIDTH`: the ~690 px text column at the 110 dpi the
book saves at), so it is shown at its natural size and its fonts stay at 8 pt or more. Legends
sit outside the axes, where they cannot cover data, and the provenance line (`foot`) gets room
of its own under the axes.
"""

from __future__ import annotations

import math
import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

from ..pipeline.bench import table_rows

WIDTH = 6.3  # inches: 693 px at dpi 110, the book's column
FOOT_PT = 8  # the provenance line's size
SMALL = 8  # the smallest font a figure uses


def tracking_analysis(
    truth_xy: np.ndarray, dream_xy: np.ndarray, metrics: dict, resolution: int, title: str = "", source: str = ""
) -> plt.Figure:
    """The paper's tracking-analysis figure, for one or many episodes.

    Top: trajectories in image coordinates (y down), ground truth solid and dream dashed, one
    colour per episode, with the legend and a box of the pooled metrics beside it. Bottom: error
    per frame after the context (mean over episodes where both detect, +-1 std band). `truth_xy`
    and `dream_xy` are [E, T, 2] or [T, 2]; `metrics` is a `trajectory_metrics` dict; `source` is
    a provenance line printed under the plot.
    """
    truth_xy = truth_xy.reshape(-1, truth_xy.shape[-2], 2)
    dream_xy = dream_xy.reshape(truth_xy.shape)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 7.4), gridspec_kw={"height_ratios": [3, 2]})
    colours = plt.cm.tab10(np.arange(len(truth_xy)) % 10)
    for truth, dream, colour in zip(truth_xy, dream_xy, colours):
        top.plot(truth[:, 0], truth[:, 1], "-", color=colour, lw=1.5)
        top.plot(dream[:, 0], dream[:, 1], "--", color=colour, lw=1.2)
        top.plot(*truth[0], "o", color=colour, ms=4)
    top.plot([], [], "k-", label="ground truth")
    top.plot([], [], "k--", label="dream")
    top.plot([], [], "ko", ms=4, label="start")
    top.set(xlim=(0, resolution), ylim=(resolution, 0), aspect="equal", xlabel="x (px)", ylabel="y (px)")
    top.set_title(textwrap.fill(title or "Trajectories", 60), fontsize=10)
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
    _legend_above(bottom, ncol=3)
    _layout(fig, source)
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
    _layout(fig, source)
    return fig


def latent_channels(latent: np.ndarray, source: str = "") -> plt.Figure:
    """The 16 channels of one latent frame [16, h, w], each on its own colour scale."""
    fig, axes = plt.subplots(2, 8, figsize=(WIDTH, 2.4))
    for i, ax in enumerate(axes.flat):
        ax.imshow(latent[i], cmap="RdBu_r")
        ax.set_title(f"channel {i}", fontsize=SMALL)
        ax.set_xticks([])
        ax.set_yticks([])
    _layout(fig, source, w_pad=0.2)
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
    _legend_above(ax, ncol=1)
    _layout(fig, source)
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
    legend = _figure_legend(fig, [handles[i] for i in order], [texts[i] for i in order], ncol=2)
    _layout(fig, source, legend, h_pad=1.0)
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
    legend = _figure_legend(fig, *axes[0].get_legend_handles_labels(), ncol=2)
    _layout(fig, source, legend)
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
    _layout(fig, source)
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
    _layout(fig, source)
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
    _legend_above(ax, ncol=len(ratio_columns))
    _layout(fig, source)
    return fig


def reference_lines(ax, references: dict[str, dict[str, float]], metric: str, line) -> None:
    """The reference predictors' `metric` as grey lines of their own dash, labelled for the legend;
    `line` is `ax.axhline` or `ax.axvline`."""
    for j, (label, values) in enumerate(references.items()):
        if metric in values:
            line(values[metric], color="0.3", lw=1, ls=("--", ":", "-.", (0, (5, 1)))[j % 4], label=label)


def interval_bars(
    rows: dict[str, dict[str, dict]],
    panels: list[tuple[str, str]],
    paper: dict[str, dict[str, float]] | None = None,
    source: str = "",
    references: dict[str, dict[str, float]] | None = None,
) -> plt.Figure:
    """One panel per metric, stacked: a bar per row at the mean over seeds, its 95% interval, and each
    seed as a dot.

    `rows` maps a label to {metric: {"mean", "low", "high", "values"}}; `panels` lists (metric, axis label);
    `paper` maps a label to {metric: the paper's value}, drawn as a star; `references` maps a
    reference predictor's label (copy-last, ...) to {metric: value}, drawn as a line across the rows.
    """
    labels = list(rows)
    n = len(labels)
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH, len(panels) * (0.27 * n + 0.85) + 0.9), squeeze=False)
    y = np.arange(n)
    for ax, (metric, xlabel) in zip(axes[:, 0], panels):
        cells = [rows[k].get(metric) for k in labels]
        means = [np.nan if c is None else c["mean"] for c in cells]
        ax.barh(y, means, 0.6, color="C0", alpha=0.6)
        for i, c in enumerate(cells):
            if c is None:
                ax.text(0, i, "  not run yet", va="center", fontsize=SMALL, color="0.4")
                continue
            if np.isfinite(c["low"]):
                ax.plot([c["low"], c["high"]], [i, i], color="k", lw=1.5, clip_on=False)
            ax.plot(c["values"], np.full(len(c["values"]), i), "o", ms=3, color="C3", clip_on=False)
            if paper and metric in paper.get(labels[i], {}):
                ax.plot(paper[labels[i]][metric], i, "k*", ms=10, clip_on=False)  # a star at 0 stays whole
        reference_lines(ax, references or {}, metric, ax.axvline)
        ax.set_yticks(y, labels, fontsize=SMALL)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(left=0)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.tick_params(axis="x", labelsize=SMALL)
    first = axes[0, 0]
    first.plot([], [], "o", ms=3, color="C3", label="one seed")
    first.plot([], [], color="k", label="95% interval of the mean")
    if paper:
        first.plot([], [], "k*", label="the paper's reported value")
    legend = _figure_legend(fig, *first.get_legend_handles_labels(), ncol=3)
    _layout(fig, source, legend, h_pad=1.0)
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
        _legend_above(ax, ncol=len(series))
    else:
        ax.text(0.5, 0.5, "not run yet", transform=ax.transAxes, ha="center", color="0.4")
    _layout(fig, source)
    return fig


def side_by_side(panels: dict[str, np.ndarray], scale: int = 2, header: int = 22) -> np.ndarray:
    """Frames [T, H, W, 3] of several sources, upscaled, each under a strip with its label, joined
    left to right with a white gutter (a video's panels say what they are)."""
    import cv2

    frames = [f.repeat(scale, axis=1).repeat(scale, axis=2) for f in panels.values()]
    count, height, width = frames[0].shape[:3]
    columns = []
    for label, panel in zip(panels, frames):
        strip = np.full((header, width, 3), 255, np.uint8)
        size = 0.5  # shrink the label until it fits its panel
        while size > 0.25 and cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, size, 1)[0][0] > width - 6:
            size -= 0.05
        cv2.putText(strip, label, (3, header - 7), cv2.FONT_HERSHEY_SIMPLEX, size, (0, 0, 0), 1, cv2.LINE_AA)
        columns.append(np.concatenate([np.broadcast_to(strip, (count, header, width, 3)), panel], axis=1))
    gutter = np.full((count, height + header, 6, 3), 255, np.uint8)
    return np.concatenate([part for column in columns for part in (column, gutter)][:-1], axis=2)


def write_video(path, frames: np.ndarray, fps: int = 10) -> None:
    """uint8 frames [T, H, W, 3] to an H.264 mp4 through imageio-ffmpeg.

    Sides are padded (white) to multiples of 16, the codec's block size, so nothing is resampled.
    """
    import imageio.v3 as iio

    pad = ((0, 0), (0, -frames.shape[1] % 16), (0, -frames.shape[2] % 16), (0, 0))
    iio.imwrite(path, np.pad(frames, pad, constant_values=255), fps=fps, codec="libx264", plugin="FFMPEG")


def animation_html(panels: dict[str, np.ndarray], fps: int = 10) -> str:
    """Several sources side by side as a self-playing JavaScript animation for a static page.

    Frames are embedded as JPEG at a modest size, so a notebook holding it stays small.
    """
    from matplotlib.animation import FuncAnimation

    # at most three panels a row, drawn at the size the book's column shows them, so titles stay legible
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.5 * rows + 0.3), dpi=96, squeeze=False)
    images = []
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, frames) in zip(axes.flat, panels.items()):
        images.append(ax.imshow(frames[0]))
        ax.set_title(label, fontsize=10, wrap=True)
    title = fig.suptitle("horizon 1", fontsize=11)
    fig.tight_layout()

    def update(t):
        for image, frames in zip(images, panels.values()):
            image.set_data(frames[t])
        title.set_text(f"horizon {t + 1}")
        return images

    anim = FuncAnimation(fig, update, frames=len(next(iter(panels.values()))), interval=1000 / fps)
    with plt.rc_context({"animation.frame_format": "jpeg"}):
        html = anim.to_jshtml(default_mode="loop")
    plt.close(fig)
    return html


def foot(fig: plt.Figure, source: str) -> float:
    """The provenance line under a figure, readable at the book's width: `FOOT_PT` points, wrapped
    onto more lines where it is wider than the figure, aligned to the figure's bottom edge.

    Returns the share of the figure's height it takes (0 without a source), the room `_layout`
    keeps free below the axes.
    """
    if not source:
        return 0.0
    pad = 3 / 72 / fig.get_figheight()  # 3 pt from the edge
    chars = max(20, int(fig.get_figwidth() * 72 / (0.5 * FOOT_PT)))
    text = fig.text(0.01, pad, "", fontsize=FOOT_PT, color="0.35", ha="left", va="bottom")
    while True:  # wrap at the estimate, then tighter until the measured lines fit
        text.set_text(_wrap(source, chars))
        if text.get_window_extent().width <= 0.98 * fig.bbox.width or chars <= 20:
            break
        chars = int(chars * 0.9)
    return (text.get_window_extent().height + 2 * pad * fig.bbox.height) / fig.bbox.height


def _wrap(source: str, chars: int) -> str:
    """Lines of at most `chars` characters; a short field of a provenance line (between " | ",
    such as the date) is never split, a long one (the device) may be."""
    keep = "\xa0"  # a space textwrap does not break at
    fields = [f.replace(" ", keep) if len(f) <= 25 else f for f in source.split(" | ")]
    lines = textwrap.wrap(f"{keep}| ".join(fields), chars, break_on_hyphens=False)
    return "\n".join(lines).replace(keep, " ")


def plain_log_ticks(axis, ticks=None, most: int = 6) -> None:
    """Few, plain labels on a log axis: `ticks` if given, else 1-2-5 steps (or 1-3, or decades)
    within the axis's limits; minor ticks stay unlabelled. A range too narrow for two such steps
    gets evenly spaced ones."""
    ax = axis.axes
    if ticks is None:
        low, high = sorted(ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())
        decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        for steps in ((1, 2, 5), (1, 3), (1,)):
            ticks = [m * 10.0**e for e in decades for m in steps if low <= m * 10.0**e <= high]
            if len(ticks) <= most:
                break
        ticks = ticks[:: math.ceil(len(ticks) / most)] if len(ticks) > most else ticks
    if len(ticks) >= 2:
        axis.set_major_locator(FixedLocator(ticks))
    else:
        axis.set_major_locator(MaxNLocator(4))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _plain(v)))
    axis.set_minor_formatter(NullFormatter())


def _plain(v: float) -> str:
    """A tick label without exponents: 0.05, 2, 10, 300k, 1.5M."""
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def _legend_above(ax, ncol: int = 1):
    """The axes' legend above its top edge, left-aligned, where it covers no data."""
    return ax.legend(
        loc="lower left", bbox_to_anchor=(0, 1.01), ncol=ncol, fontsize=SMALL, frameon=False, borderaxespad=0.2
    )


def _figure_legend(fig: plt.Figure, handles, labels, ncol: int = 1):
    """One legend for all panels, centred along the figure's top edge (`_layout` keeps room for it)."""
    return fig.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1), ncol=ncol, fontsize=SMALL, frameon=False
    )


def _layout(fig: plt.Figure, source: str = "", legend=None, **pads) -> None:
    """`tight_layout` with the foot below the axes and a figure legend above them, neither overlapping."""
    bottom = foot(fig, source)
    top = 1.0 if legend is None else 1 - (legend.get_window_extent().height + 4) / fig.bbox.height
    fig.tight_layout(rect=(0, bottom, 1, top), **pads)


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
    handles = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    legend = _figure_legend(fig, list(handles.values()), list(handles), ncol=3)
    _layout(fig, source, legend)
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
            ax.imshow(grid, cmap=cmap, norm=norm, origin="lower", aspect="auto")
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
    _layout(fig, source)
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
    legend = _figure_legend(fig, *ax.get_legend_handles_labels(), ncol=2)
    _layout(fig, source, legend)
    return fig
