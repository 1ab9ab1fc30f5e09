"""Every figure as a reader sees it in the book: at the column's width, with fonts of 8 pt or more,
legends clear of the data, a provenance foot that is readable and not clipped, plain log ticks and
only glyphs the default font draws."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from lucid_dreamer.book import figure_style, grid_plots, plots  # noqa: E402
from lucid_dreamer.method.analyze import trajectory_metrics  # noqa: E402

DPI = 110  # what the book saves at
MOST_PX = 760  # the book's column is about 690 px: a wider figure is shown shrunk
SOURCE = (
    "07_comparison | preset cpu | commit e7b0b8a | CPU (x86_64, 2 threads), bf16 autocast "
    "(AVX512, bf16 instructions: AVX-512 BF16) | 2026-12-01 15:04 UTC"
)  # as long as the book's longest foot
LABELS = ["ResNet-Rollout (paper's settings)", "ResNet one-step (ours: R = 1, lr 1e-3)", "copy last frame", "oracle"]


def _cell(mean, spread=5.0):
    return {"mean": mean, "low": mean - spread, "high": mean + spread, "values": [mean - spread, mean, mean + spread]}


def _pooled(rmse, detection):
    return {"rmse": rmse, "strict_rmse": 2 * rmse, "detection_rate": detection}


def _tracking():
    t = np.linspace(0, 1, 40)[None, :, None]
    truth = np.clip(np.random.default_rng(0).uniform(10, 118, (4, 1, 2)) + np.array([60.0, -40.0]) * t, 0, 127)
    dream = truth + 8 * t
    dream[1, -10:] = np.nan
    return plots.tracking_analysis(truth, dream, trajectory_metrics(dream, truth, 128), 128, "four episodes", SOURCE)


def _training():
    logs = {}
    for i, label in enumerate(LABELS[:2]):
        steps = np.arange(1, 601)
        loss = 0.05 + 0.2 * np.exp(-steps / (100 + 50 * i))
        logs[label] = [{"step": int(s), "loss": float(v)} for s, v in zip(steps, loss)]
        logs[label] += [{"step": int(s), "val_loss": float(v)} for s, v in zip(steps[::50], loss[::50])]
    return plots.training_curves(logs, SOURCE)


def _horizon():
    x = np.arange(1, 31)
    reports = {
        label: {"by_horizon": {"strict_rmse": list(10 * i + x), "detection_rate": list(np.exp(-x / (5 + 5 * i)))}}
        for i, label in enumerate(LABELS)
    }
    return plots.error_by_horizon(reports, 128, SOURCE)


def _context():
    rows = {
        k: {"latent_l1": 0.05 - 0.001 * k, "sharpness_ratio": 0.6 + 0.03 * k, "tracking": {"detection_rate": 0.9}}
        for k in (1, 2, 4, 8)
    }
    return plots.context_sweep(rows, SOURCE)


def _architecture():
    rows = [("input", "K=4 latent frames stacked on channels", "(64, 16, 16)")]
    rows += [(f"block {i}", "conv 3x3, GN, SiLU, dropout 0.1, conv 3x3, GN, SiLU", "(64, 16, 16)") for i in (1, 2)]
    rows += [("head", "conv 3x3 64->16, no activation", "(16, 16, 16)")]
    return plots.architecture(rows, "ResNet-Rollout (Conv2d form, 342,736 parameters)", SOURCE)


def _speedups():
    names = ["reference (the paper's code)", "+ Conv2d form", "+ batched dreaming", "ours (+ bf16 autocast)"]
    train = {n: {"median": r} for n, r in zip(names, (10.0, 22.0, 23.0, 33.0))}
    result = {
        "device": "cpu",
        "variants": names,
        "train": {16: {"samples_per_s": train}, 64: {"samples_per_s": train}},
        "dream": {"frames_per_s": {n: {"median": r} for n, r in zip(names, (5.0, 6.0, 40.0, 62.0))}},
    }
    return plots.speedups(result, SOURCE)


def _intervals():
    rows = {
        label: {"rmse_512": _cell(100.0 + 60 * i), "detection": _cell(0.2 * i, 0.05)} for i, label in enumerate(LABELS)
    }
    rows["not run"] = {}
    paper = {LABELS[0]: {"rmse_512": 71.08, "detection": 0.99}, LABELS[1]: {"detection": 0.0}}
    panels = [("rmse_512", "RMSE, detected frames (px at 512)"), ("detection", "share of frames with a detected cube")]
    return grid_plots.interval_bars(rows, panels, paper, SOURCE)


def _conditions():
    rows = [
        {"training": t, "cube_cells": c, "speed_cells": s, "detection_h4": 0.5, "strict_vs_copy_last": 1.1}
        for t in ("recipe", "one-step")
        for c in (2.5, 5.0)
        for s in (0.25, 0.5)
    ]
    return grid_plots.conditions_map(rows, SOURCE)


FIGURES = {
    "tracking_analysis": _tracking,
    "frame_grid": lambda: plots.frame_grid(
        np.zeros((3, 6, 64, 64, 3), np.uint8), [f"frame {t}" for t in range(6)], ["a", "b", "c"], SOURCE
    ),
    "latent_channels": lambda: plots.latent_channels(np.random.default_rng(0).normal(size=(16, 16, 16)), SOURCE),
    "training_curves": _training,
    "results_bars": lambda: plots.results_bars(
        {label: _pooled(50.0 + 40 * i, 0.25 * i) for i, label in enumerate(LABELS)},
        paper={LABELS[0]: (71.08, 0.99, "~1M")},
        source=SOURCE,
    ),
    "error_by_horizon": _horizon,
    "context_sweep": _context,
    "architecture": _architecture,
    "speedups": _speedups,
    "interval_bars": _intervals,
    "inverted_u": lambda: grid_plots.inverted_u(
        {"ResNet-Rollout": [(p, _cell(600.0 - p / 1e4)) for p in (2e4, 1e5, 3e5, 1.2e6)]}, "strict RMSE", SOURCE
    ),
    "conditions_map": _conditions,
    "relative_to_trivial": lambda: grid_plots.relative_to_trivial(
        {
            f"the recipe, {steps:,} steps (3 seeds)": {
                "ratio": 1 + k / np.arange(1, 61),
                "low": 0.8 + k / np.arange(1, 61),
                "high": 1.3 + k / np.arange(1, 61),
            }
            for k, steps in ((1.0, 400), (0.5, 1500), (0.2, 6000))
        },
        SOURCE,
    ),
}


@pytest.fixture(scope="module", params=list(FIGURES))
def drawn(request):
    fig = FIGURES[request.param]()
    fig.set_dpi(DPI)
    fig.canvas.draw()
    yield fig
    plt.close(fig)


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _data_extents(ax):
    """Display boxes of what an axes shows (bars, bands, bar labels and boxes of text) and its drawn points,
    each cut to the axes where the artist is clipped to it."""
    boxes, points = [], []
    for artist in [*ax.patches, *ax.collections, *ax.texts]:
        if not artist.get_visible() or (isinstance(artist, Text) and not artist.get_text().strip()):
            continue
        box = artist.get_window_extent()
        if artist.get_clip_on():
            box = Bbox.intersection(box, ax.bbox)
        if box is not None and np.isfinite(box.extents).all() and box.width * box.height > 0:
            boxes.append(box)
    for line in ax.get_lines():
        xy = np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
        xy = line.get_transform().transform(xy[np.isfinite(xy).all(axis=1)]) if len(xy) else np.empty((0, 2))
        if line.get_clip_on():
            xy = xy[[ax.bbox.contains(x, y) for x, y in xy]]
        if len(xy) and line.get_visible():
            points.append(xy)
    return boxes, points


def _inside(box, xy):
    return (box.x0 <= xy[:, 0]) & (xy[:, 0] <= box.x1) & (box.y0 <= xy[:, 1]) & (xy[:, 1] <= box.y1)


def test_figure_fits_the_book_column(drawn):
    assert drawn.get_figwidth() * DPI <= MOST_PX


def test_every_text_is_at_least_8_points(drawn):
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(drawn) if t.get_fontsize() < 8]
    assert not small


def test_no_legend_covers_data(drawn):
    legends = [ax.get_legend() for ax in drawn.axes if ax.get_legend()] + list(drawn.legends)
    for legend in legends:
        box = legend.get_window_extent()
        for ax in drawn.axes:
            boxes, points = _data_extents(ax)
            assert not [b for b in boxes if box.overlaps(b)], f"a legend covers bars or text in {ax.get_title()!r}"
            for xy in points:
                assert not _inside(box, xy).any(), f"a legend covers points in {ax.get_title()!r}"


def test_foot_is_readable_and_clear_of_the_axes(drawn):
    (foot,) = [t for t in drawn.texts if "07_comparison" in t.get_text()]
    assert foot.get_fontsize() >= 8
    box, page = foot.get_window_extent(), drawn.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 + 1 and page.y0 <= box.y0, "the foot is clipped"
    assert " ".join(foot.get_text().split()) == " ".join(SOURCE.split())  # wrapped, nothing lost
    for ax in drawn.axes:
        assert not box.overlaps(ax.get_tightbbox()), "the foot overlaps an axes' labels"


def test_nothing_is_clipped(drawn):
    page = drawn.bbox.padded(1)
    boxes = [ax.get_tightbbox() for ax in drawn.axes] + [t.get_window_extent() for t in drawn.texts]
    boxes += [legend.get_window_extent() for legend in drawn.legends]
    for box in boxes:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1


def test_log_axes_have_few_plain_labels(drawn):
    for ax in drawn.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale != "log":
                continue
            low, high = sorted(axis.get_view_interval())
            labels = [t.get_text() for t in axis.get_majorticklabels() if t.get_text()]
            minor = [t.get_text() for t in axis.get_minorticklabels() if t.get_text()]
            shown = [v for v in axis.get_majorticklocs() if low <= v <= high]
            assert 2 <= len(shown) <= 8 and not minor, (labels, minor)
            assert not [s for s in labels if "$" in s or "^" in s or "times" in s], labels


def test_only_plain_glyphs(drawn):
    """Unicode arrows, dashes or symbols can render as boxes; the minus sign of tick labels is drawn by DejaVu Sans."""
    odd = [t.get_text() for t in _texts(drawn) if any(ord(c) > 127 and c != "\N{MINUS SIGN}" for c in t.get_text())]
    assert not odd


def test_plain_log_ticks_labels_without_exponents():
    fig, ax = plt.subplots()
    ax.plot([2e4, 3e6], [0.03, 0.2])
    ax.set(xscale="log", yscale="log")
    figure_style.plain_log_ticks(ax.xaxis)
    figure_style.plain_log_ticks(ax.yaxis)
    fig.canvas.draw()
    assert [t.get_text() for t in ax.xaxis.get_majorticklabels()] == ["30k", "100k", "300k", "1M", "3M"]
    assert [t.get_text() for t in ax.yaxis.get_majorticklabels()] == ["0.05", "0.1", "0.2"]
    plt.close(fig)
