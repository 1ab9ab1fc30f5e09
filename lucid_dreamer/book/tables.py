"""The book's result tables: pandas DataFrames of saved results, rendered alike on every page.

A `Table` shows as a styled HTML table in a notebook and wherever it is glued (the class
`lucid-table` is styled by the book's `_static/tables.css`: borders, numbers aligned right,
units in the headers, a scroll bar instead of a clipped column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from pandas.io.formats.style import Styler

from ..pipeline.bench_report import table_rows
from ..pipeline.bench_report import utilisation as shares
from .paper import PAPER_DETECTED, PAPER_RESULTS

NUMERIC = re.compile(r"[-+]?\d[\d,.]*(%|x)?( \[[^\]]*\])?|\d+/\d+( \(\d+%\))?|-|N/A|not run yet|no detections")
"""Cells shown as numbers: values, percentages, "mean [low, high]", counts "k/n", and the words that
stand in for a number."""

PROTOCOL_RATE_DIGITS = 1
"""Decimals of a detection rate under the paper's protocol: its claim, 96/97, is 98.97%, which a
whole percentage would round to 99% and so hide a miss."""

INTERVAL = re.compile(r"\[[^\]]*\]")
"""The bracketed interval of a "mean [low, high]" cell, kept on one line."""


def interval(stats: dict | None, digits: int = 1, percent: bool = False, undefined: str = "no detections") -> str:
    """A `grid_summaries.summarize` metric as "mean [low, high]" (its 95% bootstrap interval), or why there is
    none: not run yet, or `undefined` (a pixel error without a detection is undefined)."""
    if stats is None:
        return "not run yet"
    if stats["mean"] != stats["mean"]:
        return undefined
    scale, unit = (100, "%") if percent else (1, "")
    mean, low, high = (scale * stats[k] for k in ("mean", "low", "high"))
    if low != low:
        return f"{mean:.{digits}f}{unit}"
    return f"{mean:.{digits}f}{unit} [{low:.{digits}f}, {high:.{digits}f}]"


def is_rate(name: str) -> bool:
    """Whether a grid metric is a share of frames or dreams, shown as a percentage."""
    return "detection" in name or name == "detected_at_end"


def shown(summary: dict, group: str, variant: str, name: str, rate_digits: int = 0) -> str:
    """One cell of a `grid_summaries.summarize` summary as the tables show it: "mean [low, high]", rates as
    percentages (with `rate_digits` decimals), "not run yet" for a row (or a metric) without runs."""
    row = summary.get((group, variant))
    digits = rate_digits if is_rate(name) else 1
    return interval(None if row is None else row["metrics"].get(name), digits, is_rate(name))


def listing(items: list[str]) -> str:
    """Items in words: 'a', 'a and b', 'a, b and c'."""
    return " and ".join(filter(None, [", ".join(items[:-1]), items[-1]]))


def number(value: float | None, digits: int = 1, percent: bool = False) -> str:
    """One value, as a percentage or with `digits` decimals; a dash where there is none."""
    if value is None or value != value:
        return "-"
    return f"{100 * value:.{digits}f}%" if percent else f"{value:.{digits}f}"


@dataclass
class Table:
    """A result table: a DataFrame of formatted cells whose header names each column's unit."""

    frame: pd.DataFrame
    row_classes: list[str] | None = None
    """A CSS class per row, added to each of its cells (the audit colours rows by verdict)."""

    def _repr_html_(self) -> str:
        # numbers right-aligned, words left-aligned and wrapped between words (_static/tables.css); an
        # interval may wrap only before its bracket, so "188.9 [171.3, 210.8]" takes two short lines
        kinds = self.frame.map(lambda cell: "num" if NUMERIC.fullmatch(str(cell)) else "text")
        if self.row_classes is not None:
            kinds = kinds.apply(lambda column: column + [f" {c}" for c in self.row_classes])
        cells = self.frame.map(lambda cell: INTERVAL.sub(lambda m: m.group().replace(" ", "\u00a0"), str(cell)))
        styler = Styler(cells, uuid="lucid", cell_ids=False).hide(axis="index").format(escape="html")
        html = styler.set_td_classes(kinds).set_table_attributes('class="lucid-table"').to_html()
        return f'<div class="lucid-table-wrap">{html}</div>'


def table(header: list[str], rows: list[list], row_classes: list[str] | None = None) -> Table:
    """A `Table` with these column headers and rows of cells (see `Table` for the rest)."""
    return Table(pd.DataFrame(rows, columns=header), row_classes)


def dream_results(reports: dict[str, dict]) -> Table:
    """Chapter 5's results by our tracker: for each model or reference (`analyze.score` reports
    scaled to 512 px), the RMSE over frames where both detect, the strict RMSE, detection, and the
    strict RMSE within the first 1, 4 and 16 dreamed frames."""
    rows = []
    for label, r in reports.items():
        pooled = r["pooled"]
        within = [number(r["within"][h]["strict_rmse"]) if h in r["within"] else "-" for h in ("1", "4", "16")]
        detected = f"{pooled['valid_frames']}/{pooled['total_frames']}"
        rows.append([label, number(pooled["rmse"]), number(pooled["strict_rmse"]), detected, *within])
    header = ["", "RMSE, both detect", "strict RMSE", "detected", "strict h1", "strict h4", "strict h16"]
    return table(header, rows)


def paper_tracker_results(reports: dict[str, dict]) -> Table:
    """The same dreams measured by the paper's tracker (its asymmetric thresholds), and the paper's
    own ResNet-Rollout row (its report, its training video), labelled as the paper's."""
    rows = [
        [label, number(r["paper"]["pooled"]["detection_rate"], 0, True), number(r["paper"]["pooled"]["rmse"])]
        for label, r in reports.items()
    ]
    seen, dreamed = PAPER_DETECTED
    rows.append(
        [
            "the paper's ResNet-Rollout (its report, its training video)",
            f"{seen}/{dreamed}",
            f"{PAPER_RESULTS['ResNet-Rollout'][0]:.2f}",
        ]
    )
    return table(["", "detected, the paper's tracker", "RMSE, the paper's tracker"], rows)


def benchmark(result: dict) -> Table:
    """Chapter 6's speed table (a `bench.bench` result): per variant, the training and dreaming
    rates (medians of the repeats) and each as a multiple of the reference's."""
    header, rows = table_rows(result)
    rates = len(result["train"]) + 1  # training per latent size, then dreaming; then their ratios
    cells = [
        [
            name,
            *(f"{v:,.1f}" if v >= 10 else f"{v:.2f}" for v in values[:rates]),
            *(f"{v:.2f}x" for v in values[rates:]),
        ]
        for name, *values in rows
    ]
    return table(header, cells)


def utilisation(result: dict) -> Table:
    """Chapter 6's table of how close each variant trains to the machine's limits: arithmetic per
    sample (as run, and the useful part: the Conv2d form's), the useful memory traffic per sample,
    and what the useful work at the measured rate makes of the machine's FLOP/s and copy bandwidth
    (`bench_report.utilisation`)."""
    rows = []
    for size, per_variant in shares(result).items():
        cost = result["train"][size]["cost_per_sample"]
        for name, share in per_variant.items():
            counted = cost["conv3d" if result["conv3d"][name] else "conv2d"]
            values = (counted["flops"] / 1e9, cost["conv2d"]["flops"] / 1e9, cost["conv2d"]["bytes"] / 1e6)
            rows.append(
                [
                    f"{size}x{size}",
                    name,
                    *(f"{v:,.2f}" for v in values),
                    *(number(share[k], 1, True) for k in ("flops", "bytes")),
                ]
            )
    header = [
        "latents",
        "variant",
        "GFLOP / sample (as run)",
        "useful GFLOP / sample",
        "useful MB touched / sample",
        "useful share of FLOP/s",
        "useful share of copy bandwidth (ceiling)",
    ]
    return table(header, rows)


def map_worlds(measured: dict[str, dict]) -> Table:
    """Chapter 8's worlds as measured (`conditions.measure`, by world): cube size and speed in px (at
    512 px, as every pixel figure of the book) and latent cells, frames in view, and the reach of the
    paper's motion mask."""
    rows = [
        [
            name,
            number(c["cube_px"] * 512 / c["resolution"]),
            number(c["cube_cells"], 2),
            number(c["speed_px"]["median"] * 512 / c["resolution"], 2),
            f"{c['speed_cells']['median']:.2f} ({c['speed_cells']['p90']:.2f})",
            number(c["in_view"], 0, True),
            number(c["motion_mask"]["near_cube"], 0, True),
            number(c["motion_mask"]["elsewhere"], 1, True),
        ]
        for name, c in measured.items()
    ]
    header = [
        "world",
        "cube (px at 512)",
        "cube (latent cells)",
        "speed (px/frame at 512)",
        "speed (cells/frame, median (p90))",
        "in view",
        "motion mask near the cube",
        "motion mask elsewhere",
    ]
    return table(header, rows)


def map_cell(row: dict, key: str) -> dict:
    """One value of a `conditions.map_rows` row as `interval` takes it: mean, low, high."""
    low, high = row["intervals"][key]
    return {"mean": row[key], "low": low, "high": high}


def map_results(rows: list[dict]) -> Table:
    """Chapter 8's map (`conditions.map_rows`): per world and training, detection by horizon and
    over the whole dream, strict RMSE, and strict RMSE over copy-last's, each with its 95% interval."""
    detections = ("detection_h1", "detection_h4", "detection_h16", "detection")
    cells = [
        [
            # one column for both, so the table fits a page; "(R = 4)" kept on one line
            f"{r['condition']}: {r['training']}".replace(" = ", "\u00a0=\u00a0"),
            *(interval(map_cell(r, k), 0, True) for k in detections),
            interval(map_cell(r, "strict_512"), 1),
            interval(map_cell(r, "strict_vs_copy_last"), 2),
        ]
        for r in rows
    ]
    header = [
        "world: training",
        "detected h1",
        "h4",
        "h16",
        "whole dream",
        "strict RMSE (px at 512)",
        "/ copy-last's",
    ]
    return table(header, cells)


def map_references(rows: list[dict], recipe: str) -> Table:
    """Chapter 8's references per world (one row per world: the rows of training `recipe`): the three
    trivial predictors' whole-dream strict RMSE, copying's detection at horizon 4, and the tokenizer's
    floor."""
    cells = [
        [
            r["condition"],
            number(r["copy_last_strict_512"]),
            number(r["bouncing_strict_512"]),
            number(r["prior_strict_512"]),
            number(r["copy_last_detection_h4"], 0, True),
            number(r["oracle_detection"], 0, True),
            number(r["oracle_rmse_512"]),
        ]
        for r in rows
        if r["training"] == recipe
    ]
    header = [
        "world",
        "copy-last: strict RMSE (px at 512)",
        "constant velocity, bouncing",
        "position prior",
        "copy-last: detected h4",
        "tokenizer floor: detected",
        "floor: RMSE (px at 512)",
    ]
    return table(header, cells)


def one_trajectory(summary: dict, labels: dict[str, str]) -> Table:
    """The paper's protocol beside held-out episodes (`grid_summaries.summarize` rows of the group
    `one_trajectory`, by variant, named by `labels`), by our tracker and by the paper's: one
    column per protocol, so its intervals fit the page (rates to `PROTOCOL_RATE_DIGITS` decimals)."""
    metrics = {
        "detected (ours)": "detection",
        "RMSE, both detect (px at 512)": "rmse_512",
        "strict RMSE (px at 512)": "strict_512",
        "detected (the paper's tracker)": "paper_detection",
        "RMSE, the paper's tracker (px at 512)": "paper_rmse_512",
    }
    columns = {
        label: [
            str(summary.get(("one_trajectory", variant), {"seeds": 0})["seeds"]),
            *(shown(summary, "one_trajectory", variant, name, PROTOCOL_RATE_DIGITS) for name in metrics.values()),
        ]
        for variant, label in labels.items()
    }
    return table(["", *columns], [[name, *cells] for name, *cells in zip(["seeds", *metrics], *columns.values())])
