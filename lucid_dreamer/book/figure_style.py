"""The book's figure style: its column width and smallest type, the provenance line under each figure
(`foot`), plain tick labels on log axes, and legends and layout that leave room for both.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

WIDTH = 6.3  # inches: 693 px at dpi 110, the book's column


FOOT_PT = 8  # the provenance line's size


SMALL = 8  # the smallest font a figure uses


def foot(fig: plt.Figure, source: str) -> float:
    """The provenance line under a figure, readable at the book's width: `FOOT_PT` points, wrapped
    onto more lines where it is wider than the figure, aligned to the figure's bottom edge.

    Returns the share of the figure's height it takes (0 without a source), the room `fit_layout`
    keeps free below the axes.
    """
    if not source:
        return 0.0
    pad = 3 / 72 / fig.get_figheight()  # 3 pt from the edge
    chars = max(20, int(fig.get_figwidth() * 72 / (0.5 * FOOT_PT)))
    text = fig.text(0.01, pad, "", fontsize=FOOT_PT, color="0.35", ha="left", va="bottom")
    while True:  # wrap at the estimate, then tighter until the measured lines fit
        text.set_text(wrap(source, chars))
        if text.get_window_extent().width <= 0.98 * fig.bbox.width or chars <= 20:
            break
        chars = int(chars * 0.9)
    return (text.get_window_extent().height + 2 * pad * fig.bbox.height) / fig.bbox.height


def wrap(source: str, chars: int) -> str:
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


def legend_above(ax, ncol: int = 1):
    """The axes' legend above its top edge, left-aligned, where it covers no data."""
    return ax.legend(
        loc="lower left", bbox_to_anchor=(0, 1.01), ncol=ncol, fontsize=SMALL, frameon=False, borderaxespad=0.2
    )


def figure_legend(fig: plt.Figure, handles, labels, ncol: int = 1):
    """One legend for all panels, centred along the figure's top edge (`fit_layout` keeps room for it)."""
    return fig.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1), ncol=ncol, fontsize=SMALL, frameon=False
    )


def fit_layout(fig: plt.Figure, source: str = "", legend=None, **pads) -> None:
    """`tight_layout` with the foot below the axes and a figure legend above them, neither overlapping."""
    bottom = foot(fig, source)
    top = 1.0 if legend is None else 1 - (legend.get_window_extent().height + 4) / fig.bbox.height
    fig.tight_layout(rect=(0, bottom, 1, top), **pads)
