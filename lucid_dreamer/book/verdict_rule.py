"""The verdict rule and the evidence it reads: one rule for every claim of the audit.

A claim is checked on every part it makes (`Part`); each part is a measured quantity with a 95%
interval (`Estimate`) and the bound the claim puts on it (a direction, a claimed size, a claimed rate).
`verdict` holds when every part's whole interval is on the claim's side, contradicts when one part's
whole interval is on the other side, and is inconclusive otherwise (the book's methods page, "The
verdict rule"). `Evidence` is what the audit reads: the grid's summary, tables and the map's findings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..method.analyze import contrast_interval
from ..pipeline.grid_summaries import EPISODE_METRICS

HOLDS, INCONCLUSIVE, CONTRADICTED = "holds", "inconclusive", "contradicted"


UNTESTABLE, PENDING = "not testable here", "not measured yet"


SHARP_AS_THE_TOKENIZER = 0.95
"""A prediction counts as free of blur when its sharpness around the cube is at least this share of
the tokenizer's own reconstruction's (a decoded true latent; a prediction can exceed it, since the
Laplacian also counts edges and speckle the true frame lacks)."""


@dataclass(frozen=True)
class Evidence:
    """What the verdicts are computed from (any part may be missing)."""

    grid: dict
    """`grid_summaries.summarize` of the grid's records: (group, variant) -> row."""
    context: dict | None = None
    """The context sweep (02_posterior_collapse): frames -> one-step metrics."""
    world: str = "-"
    """The world the grid was measured in, in words (`conditions.describe_short`)."""
    conditions: dict | None = None
    """The conditions map's findings (`conditions.findings`), for claims about the recipe itself."""
    episodes: dict | None = None
    """`grid_summaries.episode_table` of the same records: per-episode values, so that a difference between
    rows scored on the same episodes gets a paired interval (None: the rows' seeds alone)."""
    sharpness: dict | None = None
    """`grid_sharpness.sharpness_cells` of the same records: (group, variant) -> the sharpness of its
    dreams around the cube over the tokenizer's (None, or a row missing: not measured yet)."""


@dataclass(frozen=True)
class Estimate:
    """A measured quantity: its estimate and 95% interval (NaN bounds where there is no interval)."""

    mean: float
    low: float = math.nan
    high: float = math.nan

    def text(self, digits: int = 1, scale: float = 1, unit: str = "", sign: str = "") -> str:
        """mean[unit] [low, high], or the mean alone without an interval."""
        mean, low, high = (f"{scale * v:{sign}.{digits}f}" for v in (self.mean, self.low, self.high))
        return f"{mean}{unit}" if math.isnan(self.low) else f"{mean}{unit} [{low}, {high}]"


@dataclass(frozen=True)
class Part:
    """One part of a claim: a measured quantity and the bound the claim puts on it."""

    value: Estimate
    """Our measurement."""
    bound: float
    """The claim says `value` is at least this (`above`) or at most this."""
    above: bool
    """Which side of `bound` the claim puts `value` on."""
    strict: bool = False
    """Whether `bound` itself misses the claim: a claimed difference must not be 0 (a tie at a
    ceiling, 100% against 100%, is no difference), a claimed rate or size may equal its bound."""

    def judge(self) -> str:
        """The verdict rule for one part (the methods page states it): holds when the whole 95%
        interval lies on the claim's side of the bound, contradicted when it lies wholly on the other
        side, inconclusive otherwise, and always without an interval. The estimate alone decides
        nothing, so the rule treats the claim and its contrary alike."""

        def claimed(x: float) -> bool:
            if self.strict:
                return x > self.bound if self.above else x < self.bound
            return x >= self.bound if self.above else x <= self.bound

        low, high = self.value.low, self.value.high
        if math.isnan(low) or math.isnan(high):
            return INCONCLUSIVE
        if claimed(low) and claimed(high):
            return HOLDS
        return CONTRADICTED if not claimed(low) and not claimed(high) else INCONCLUSIVE


def verdict(parts: list[Part]) -> str:
    """A claim's verdict: that of its weakest part (one contradicted part contradicts the claim; it
    holds only when every part does)."""
    return min((p.judge() for p in parts), key=[CONTRADICTED, INCONCLUSIVE, HOLDS].index)


@dataclass(frozen=True)
class Measurement:
    """Our measurement of a claim: a line for the table and the parts the verdict is computed from,
    or, for a claim that cannot be judged, why (`UNTESTABLE` or `PENDING`)."""

    line: str
    """What we measured, in one line."""
    parts: tuple[Part, ...] = ()
    """The parts the verdict is computed from (none for a claim that cannot be judged)."""
    status: str | None = None
    """`UNTESTABLE` or `PENDING` instead of a verdict."""


def pending_measurement(what: str) -> Measurement:
    return Measurement(f"{what} not run yet", status=PENDING)


@dataclass(frozen=True)
class Claim:
    text: str
    """The claim, in the paper's words."""
    source: str
    """Where the paper makes it."""
    evidence: str
    """The chapters (notebook names, comma-separated) that hold our measurement."""
    check: Callable[[Evidence], Measurement]
    """Our measurement and the parts it is judged on."""
    recipe: str | None = None
    """For a claim about the paper's recipe: the conditions map's finding (a `conditions.findings`
    key) that says in which worlds its dreams keep the cube; the same network's one-step finding at
    the same horizon is shown beside it."""

    def judge(self, evidence: Evidence) -> tuple[str, str]:
        """Our measurement (one line) and the verdict."""
        m = self.check(evidence)
        return m.line, m.status or verdict(list(m.parts))

    def measured_in(self, evidence: Evidence) -> str:
        """The world the verdict was measured in, and what the conditions map adds for the recipe."""
        if self.evidence == "06_performance":  # a speed is the benchmark machine's, not the world's
            return "chapter 6's benchmark machine"
        world, found = evidence.world, evidence.conditions or {}

        def worlds(key: str) -> str | None:  # "2 of 6 (a, b)" -> "2 of 6 worlds (a, b)"; None before the map ran
            count, _, names = found.get(key, "").partition(" (")
            if not count[:1].isdigit():
                return None
            return f"{count} worlds" + (f" ({names}" if names else "")

        recipe = worlds(self.recipe or "")
        if recipe:
            h = self.recipe.rsplit("_h", 1)[1]
            world += f"; the map: the recipe keeps the cube to horizon {h} in {recipe}"
            one_step = worlds(self.recipe.replace("recipe_", "one_step_", 1))
            world += f", trained one step ahead in {one_step}" if one_step else ""
        return world


def cell_estimate(ev: Evidence, group: str, variant: str, metric: str) -> Estimate | None:
    cell = ev.grid.get((group, variant), {}).get("metrics", {}).get(metric)
    if cell is None:
        return None
    return Estimate(cell["mean"], cell["low"], cell["high"])


def series_estimates(ev: Evidence, group: str, variant: str, metric: str) -> tuple | None:
    """A row's metric as `analyze.contrast_interval` takes it: (per-seed rows, pool, episode set).
    Per test episode where the episode table has it (rows scored on the same episodes share their
    set, so their contrasts are paired), else the seeds' values alone."""
    table = (ev.episodes or {}).get((group, variant))
    if table is not None and metric in EPISODE_METRICS:
        span, pool = EPISODE_METRICS[metric]
        return table["spans"][span], pool, table["episodes"]
    cell = ev.grid.get((group, variant), {}).get("metrics", {}).get(metric)
    if cell is None:
        return None
    return [[v] for v in cell["values"]], lambda sums: sums[..., 0], (group, variant, metric)


def contrast_estimate(ev: Evidence, cells: list[tuple[str, str, str]], statistic) -> Estimate | None:
    """`statistic` of the cells' (group, variant, metric) means, with its bootstrap interval
    (paired where the cells share episodes); None where a cell is missing."""
    series = [series_estimates(ev, *cell) for cell in cells]
    if None in series:
        return None
    rows, pools, sets = zip(*series)
    return Estimate(*contrast_interval(list(rows), list(pools), list(sets), statistic))


def first_minus_second(means: list) -> object:
    return means[0] - means[1]


def difference_estimate(ev: Evidence, a: tuple[str, str], b: tuple[str, str], metric: str) -> Estimate | None:
    """Row a's `metric` minus row b's."""
    return contrast_estimate(ev, [(*a, metric), (*b, metric)], first_minus_second)


def px_text(e: Estimate) -> str:
    return e.text()


def share_text(e: Estimate, digits: int = 0, sign: str = "") -> str:
    return e.text(digits, 100, "%", sign)
