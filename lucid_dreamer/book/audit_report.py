"""The audit in words and tables: each verdict with the other miss charges beside it, the tally, and the
claims table the book's claims page and chapter 7 show.
"""

from __future__ import annotations

from ..method.analyze import MISS_CHARGES
from .tables import table
from .verdict_rule import (
    CONTRADICTED,
    HOLDS,
    INCONCLUSIVE,
    PENDING,
    UNTESTABLE,
    Evidence,
    Part,
    difference_estimate,
)

VERDICTS = (HOLDS, INCONCLUSIVE, CONTRADICTED, UNTESTABLE, PENDING)


def with_other_charges(rows: list[dict], others: dict[str, list[dict]]) -> list[dict]:
    """The audit's rows with, under "flips", each miss charge that changes a claim's verdict and the
    verdict it gives: `rows` charge a lost cube the frame's diagonal, `others` maps another charge
    (`analyze.MISS_CHARGES`) to the audit of the same runs scored under it."""
    return [
        {
            **row,
            "flips": {c: other[i]["verdict"] for c, other in others.items() if other[i]["verdict"] != row["verdict"]},
        }
        for i, row in enumerate(rows)
    ]


def verdict_text(row: dict) -> str:
    """A row's verdict, and what it becomes where a lost cube is charged otherwise."""
    by_verdict: dict[str, list[str]] = {}
    for charge, verdict in row.get("flips", {}).items():
        by_verdict.setdefault(verdict, []).append(MISS_CHARGES[charge])
    flips = "; ".join(f"{v} if a lost cube is put at {' or at '.join(at)}" for v, at in by_verdict.items())
    return f"{row['verdict']}; {flips}" if flips else row["verdict"]


def tally_sentence(rows: list[dict]) -> str:
    """How many claims got each verdict, in words: "Of the paper's 22 claims we audit, 4 hold, ..."."""
    n = verdict_counts(rows)

    def are(count: int, what: str) -> str:
        return f"{count} {'is' if count == 1 else 'are'} {what}"

    holds = f"{n[HOLDS]} {'holds' if n[HOLDS] == 1 else 'hold'}"
    judged = f"{holds}, {are(n[INCONCLUSIVE], 'inconclusive')} and {are(n[CONTRADICTED], 'contradicted')}"
    unjudged = [f"{n[UNTESTABLE]} cannot be tested here"] if n[UNTESTABLE] else []
    unjudged += [are(n[PENDING], "not measured yet")] if n[PENDING] else []
    return f"Of the paper's {len(rows)} claims we audit, {judged}" + (f"; {' and '.join(unjudged)}" if unjudged else "")


def small_against_large(ev: Evidence) -> str:
    """The paper's headline asked of our grid: ResNet-Rollout's whole-dream strict RMSE against each
    rival with more parameters, by the verdict rule (lower: its paired interval wholly below 0)."""
    ours = ev.grid.get(("rivals", "resnet_rollout"))
    if ours is None:
        return "not measured yet: ResNet-Rollout's grid runs have not been made"
    size = ours["metrics"]["parameters"]["mean"]
    larger = {
        v: row
        for (g, v), row in ev.grid.items()
        if g == "rivals" and row["metrics"]["parameters"]["mean"] > size and "strict_512" in row["metrics"]
    }
    if not larger:
        return "not measured yet: no larger rival has run"
    outcome: dict[str, list[str]] = {HOLDS: [], INCONCLUSIVE: [], CONTRADICTED: []}
    for variant, row in larger.items():
        diff = difference_estimate(ev, ("rivals", "resnet_rollout"), ("rivals", variant), "strict_512")
        outcome[Part(diff, 0.0, above=False, strict=True).judge()].append(row["label"])
    ratios = [row["metrics"]["parameters"]["mean"] / size for row in larger.values()]
    said = [
        f"{what} {len(names)} ({', '.join(names)})"
        for what, names in (
            ("lower than", outcome[HOLDS]),
            ("indistinguishable from", outcome[INCONCLUSIVE]),
            ("higher than", outcome[CONTRADICTED]),
        )
        if names
    ]
    return (
        f"against the {len(larger)} rivals larger than it here ({min(ratios):.1f}x to {max(ratios):.0f}x its "
        f"{int(size):,} parameters), ResNet-Rollout's whole-dream strict RMSE (a lost cube charged the "
        f"frame's diagonal) is {'; '.join(said)}"
    )


def verdict_counts(rows: list[dict]) -> dict[str, int]:
    """How many claims got each verdict."""
    return {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}


def audit_table(rows: list[dict], main_world: str | None = None):
    """The audit as a book table: grouped by verdict (holds, inconclusive, contradicted, then the
    claims not judged), each row coloured by its verdict (`_static/tables.css`); "measured in" names
    the chapters, and the world only where it is not `main_world` (the page states that once) or
    adds to it."""

    def measured_in(r: dict) -> str:
        world = r["world"]
        if main_world is not None and world.startswith(main_world):
            world = world[len(main_world) :].lstrip("; ")
        return "; ".join(part for part in (_chapters(r["evidence"]), world) if part)

    ordered = sorted(rows, key=lambda r: VERDICTS.index(r["verdict"]))
    header = ["the paper's claim (source)", "our measurement", "verdict", "measured in"]
    cells = [[f"{r['claim']} ({r['source']})", r["ours"], verdict_text(r), measured_in(r)] for r in ordered]
    classes = ["verdict-" + r["verdict"].replace(" ", "-") for r in ordered]
    return table(header, cells, classes)


def _chapters(notebooks: str) -> str:
    """'05_analysis, 07_comparison' as the chapter numbers a reader sees: 'ch. 5, 7'."""
    return "ch. " + ", ".join(str(int(name[:2])) for name in notebooks.split(", "))
