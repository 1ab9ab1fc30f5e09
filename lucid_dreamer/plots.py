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


def frame_grid(frames: np.ndarray, titles: list[str] | None = None, row_labels: list[str] | None = None,
               source: str = "") -> plt.Figure:  # fmt: skip
    """uint8 frames [rows, cols, H, W, 3] as a grid of images, with optional column titles and row labels."""
    rows, cols = frames.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows + 0.3), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(frames[r, c])
            ax.set_xticks([])
            ax.set_yticks([])
            if titles and r == 0:
                ax.set_title(titles[c], fontsize=8)
            if row_labels and c == 0:
                ax.set_ylabel(row_labels[r], fontsize=8)
    if source:
        fig.text(0.01, 0.005, source, fontsize=6, color="0.4")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def latent_channels(latent: np.ndarray, source: str = "") -> plt.Figure:
    """The 16 channels of one latent frame [16, h, w], each on its own colour scale."""
    fig, axes = plt.subplots(2, 8, figsize=(12, 3.4))
    for i, ax in enumerate(axes.flat):
        ax.imshow(latent[i], cmap="RdBu_r")
        ax.set_title(f"channel {i}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    if source:
        fig.text(0.01, 0.005, source, fontsize=6, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def training_curves(logs: dict[str, list[dict]], source: str = "") -> plt.Figure:
    """Training loss (smoothed) and validation loss against step, for several runs' `log.jsonl` lines."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (label, lines) in enumerate(logs.items()):
        train = [(x["step"], x["loss"]) for x in lines if "loss" in x]
        val = [(x["step"], x["val_loss"]) for x in lines if "val_loss" in x]
        steps, loss = np.array(train).T
        window = max(1, len(loss) // 50)
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, color=f"C{i}", alpha=0.6, label=f"{label}: train (running mean)")
        ax.plot(*np.array(val).T, "o-", color=f"C{i}", ms=3, label=f"{label}: validation")
    ax.set(xlabel="optimizer step", ylabel="motion-weighted L1 (rollout mean)", yscale="log")
    ax.legend(fontsize=8)
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def results_bars(rows: dict[str, dict], paper: dict[str, tuple] | None = None, source: str = "") -> plt.Figure:
    """Figure 3: RMSE (paper's and strict) and detection rate per model, with the paper's beside ours.

    `rows` maps a label to pooled metrics already scaled to 512 px; `paper` maps the paper's
    model names to (RMSE, detection, params) as reported by the paper.
    """
    labels = list(rows)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.45 * len(labels) + 2.2))
    y = np.arange(len(labels))
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
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
    left.set(xlabel="pixels at 512 px (lower is better)")
    right.set(xlabel="detection rate, % (higher is better)", xlim=(0, 105))
    left.legend(fontsize=8, loc="lower right")
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def error_by_horizon(reports: dict[str, dict], resolution: int, source: str = "") -> plt.Figure:
    """Strict RMSE and detection rate against horizon, one line per model (`horizon_report`s)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for label, r in reports.items():
        x = np.arange(1, len(r["by_horizon"]["strict_rmse"]) + 1)
        axes[0].plot(x, r["by_horizon"]["strict_rmse"], label=label)
        axes[1].plot(x, 100 * np.asarray(r["by_horizon"]["detection_rate"]), label=label)
    axes[0].set(xlabel="horizon (frames)", ylabel=f"strict RMSE (px at {resolution} px)")
    axes[1].set(xlabel="horizon (frames)", ylabel="cube detected (%)", ylim=(0, 105))
    axes[0].legend(fontsize=8)
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def context_sweep(rows: dict[int, dict], source: str = "") -> plt.Figure:
    """Latent error, sharpness and detection of one-step predictions against context size."""
    ks = sorted(rows)
    panels = [
        ([rows[k]["latent_l1"] for k in ks], "latent L1 of the next frame", None),
        ([rows[k]["sharpness_ratio"] for k in ks], "sharpness (1 = tokenizer's own)", None),
        ([100 * rows[k]["tracking"]["detection_rate"] for k in ks], "cube detected in prediction (%)", (0, 105)),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for i, (ax, (values, ylabel, ylim)) in enumerate(zip(axes, panels)):
        ax.plot(ks, values, "o-", color=f"C{i}")
        ax.set(xlabel="context frames K", ylabel=ylabel, xscale="log")
        ax.set_xticks(ks, [str(k) for k in ks])
        if ylim:
            ax.set_ylim(*ylim)
    axes[1].axhline(1, color="k", ls=":", lw=1)
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def architecture(rows: list[tuple[str, str, str]], title: str = "", source: str = "") -> plt.Figure:
    """Figure 2: the network as a column of boxes, one per (name, what it computes, output shape).

    Rows whose name starts with "block" get a residual arc, as they add their input back.
    """
    fig, ax = plt.subplots(figsize=(7, 0.75 * len(rows) + 1.2))
    for i, (name, what, shape) in enumerate(rows):
        y = len(rows) - i
        residual = name.startswith("block")
        ax.add_patch(plt.Rectangle((0.15, y - 0.3), 0.55, 0.6, fc="#dbe9f6" if residual else "#f3e3c3", ec="k"))
        ax.text(0.425, y + 0.08, name, ha="center", va="center", fontsize=9, weight="bold")
        ax.text(0.425, y - 0.15, what, ha="center", va="center", fontsize=7)
        ax.text(0.74, y, shape, ha="left", va="center", fontsize=8, family="monospace")
        if i < len(rows) - 1:
            ax.annotate("", (0.425, y - 0.7), (0.425, y - 0.3), arrowprops=dict(arrowstyle="->"))
        if residual:
            ax.annotate("", (0.15, y - 0.45), (0.15, y + 0.35),
                        arrowprops=dict(arrowstyle="->", connectionstyle="arc3,rad=0.6", color="C0"))  # fmt: skip
    ax.text(0.03, len(rows) / 2 + 0.5, "+ x", color="C0", fontsize=8, rotation=90, va="center")
    ax.set(xlim=(0, 1.05), ylim=(0.4, len(rows) + 0.6))
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    if source:
        fig.text(0.01, 0.005, source, fontsize=6, color="0.4")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return fig


def speedups(result: dict, source: str = "") -> plt.Figure:
    """The benchmark ladder: each variant's training and dreaming rate over the reference's (log scale)."""
    from .bench import table_rows

    header, rows = table_rows(result)
    ratio_columns = [i for i, h in enumerate(header) if h.startswith("x ref")]
    names = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) * len(ratio_columns) / 2 + 2))
    y, height = np.arange(len(names)), 0.8 / len(ratio_columns)
    for j, col in enumerate(ratio_columns):
        values = [r[col] for r in rows]
        bars = ax.barh(y + (j - (len(ratio_columns) - 1) / 2) * height, values, height,
                       label=header[col].removeprefix("x ref "))  # fmt: skip
        ax.bar_label(bars, [f"{v:.1f}x" for v in values], fontsize=7, padding=2)
    ax.set_xscale("log")
    ax.axvline(1, color="0.3", lw=0.8)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=f"speed over the paper's implementation (higher is better), {result['device']}")
    ax.legend(fontsize=8, loc="lower right")
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def interval_bars(rows: dict[str, dict[str, dict]], panels: list[tuple[str, str]],
                  paper: dict[str, dict[str, float]] | None = None, source: str = "") -> plt.Figure:  # fmt: skip
    """One panel per metric: a bar per row at the mean over seeds, its 95% interval, and each seed as a dot.

    `rows` maps a label to {metric: {"mean", "low", "high", "values"}}; `panels` lists (metric, axis label);
    `paper` maps a label to {metric: the paper's value}, drawn as a star.
    """
    labels = list(rows)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 0.45 * len(labels) + 2.2), squeeze=False)
    y = np.arange(len(labels))
    for ax, (metric, xlabel) in zip(axes[0], panels):
        cells = [rows[k].get(metric) for k in labels]
        means = [np.nan if c is None else c["mean"] for c in cells]
        ax.barh(y, means, 0.6, color="C0", alpha=0.6)
        for i, c in enumerate(cells):
            if c is None:
                ax.text(0, i, "  not run yet", va="center", fontsize=7, color="0.4")
                continue
            if np.isfinite(c["low"]):
                ax.plot([c["low"], c["high"]], [i, i], color="k", lw=1.5)
            ax.plot(c["values"], np.full(len(c["values"]), i), "o", ms=3, color="C3")
            if paper and metric in paper.get(labels[i], {}):
                ax.plot(paper[labels[i]][metric], i, "k*", ms=10)
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set(xlabel=xlabel)
    axes[0, 0].plot([], [], "o", ms=3, color="C3", label="one seed")
    axes[0, 0].plot([], [], color="k", label="95% interval of the mean")
    if paper:
        axes[0, 0].plot([], [], "k*", label="the paper's reported value")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), fontsize=7, loc="lower right", ncol=3)  # clear of the bars
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def inverted_u(series: dict[str, list[tuple[int, dict]]], ylabel: str, source: str = "") -> plt.Figure:
    """Error against parameter count, one line per model family; `series` maps a family to
    [(parameters, {"mean", "low", "high"}), ...]. The paper's claim is a U turned upside down in
    performance: error falls, then rises as models grow."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
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
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "not run yet", transform=ax.transAxes, ha="center", color="0.4")
    if source:
        fig.text(0.01, 0.005, source, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
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

    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.5), dpi=72)
    images = []
    for ax, (label, frames) in zip(np.atleast_1d(axes), panels.items()):
        images.append(ax.imshow(frames[0]))
        ax.set_title(label, fontsize=8)
        ax.axis("off")
    title = fig.suptitle("horizon 1", fontsize=9)
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


def foot(fig: plt.Figure, source: str) -> None:
    """The provenance line under a figure, readable at the book's width."""
    if source:
        fig.text(0.01, 0.005, source, fontsize=8, color="0.35")


def conditions_map(rows: list[dict], source: str = "") -> plt.Figure:
    """The conditions map at a glance: for each training (rows of panels), where the dreamed cube is
    still detected at horizon 4 and how the whole dream's strict RMSE compares with copying the last
    frame (below 1: better), over cube size (panel rows) and speed (panel columns) in latent cells.
    `rows` are `conditions.map_rows` dicts."""
    trainings = list(dict.fromkeys(r["training"] for r in rows))
    sizes = sorted({r["cube_cells"] for r in rows})
    speeds = sorted({r["speed_cells"] for r in rows})
    panels = [
        ("detection_h4", "detected at horizon 4", "RdYlGn", (0, 1), "{:.0%}"),
        ("strict_vs_copy_last", "strict RMSE / copy-last's", "RdYlGn_r", (0.5, 1.5), "{:.2f}"),
    ]
    fig, axes = plt.subplots(len(trainings), 2, figsize=(8.5, 2.6 * len(trainings) + 0.6), squeeze=False)
    for i, training in enumerate(trainings):
        for j, (key, title, cmap, (low, high), text) in enumerate(panels):
            grid = np.full((len(sizes), len(speeds)), np.nan)
            for r in rows:
                if r["training"] == training:
                    grid[sizes.index(r["cube_cells"]), speeds.index(r["speed_cells"])] = r[key]
            ax = axes[i, j]
            ax.imshow(grid, cmap=cmap, vmin=low, vmax=high, origin="lower", aspect="auto")
            for (y, x), value in np.ndenumerate(grid):
                ax.text(x, y, "-" if value != value else text.format(value), ha="center", va="center", fontsize=10)
            ax.set_xticks(range(len(speeds)), [f"{s:.2f}" for s in speeds])
            ax.set_yticks(range(len(sizes)), [f"{s:.1f}" for s in sizes])
            ax.set(xlabel="speed (latent cells per frame, median)", ylabel="cube (latent cells)")
            ax.set_title(f"{training}: {title}", fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    foot(fig, source)
    return fig
