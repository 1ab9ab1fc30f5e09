"""What the conditions map says (chapter 8 and the report): the measured worlds, in which worlds a training
keeps the cube and beats copying the last frame, the paper's own protocol in sentences, and the map's rows.

The worlds themselves and how they are measured are the method's (`method.conditions`); the grid's records
and their `grid_summaries.summarize` come from the pipeline.
"""

from __future__ import annotations

from ..method.conditions import CONDITIONS, TRAININGS, condition_of
from ..method.recipe import PAPER_FRAMES
from .paper import PAPER_DETECTED, PAPER_RESULTS
from .tables import PROTOCOL_RATE_DIGITS, interval, map_cell, shown


def measured_worlds(records: list[dict]) -> dict[str, dict]:
    """The measured conditions (`measure`) of each world of the map that has a record."""
    worlds = {}
    for r in records:
        if r["group"] == "map" and (cond := condition_of(r["variant"])) is not None:
            worlds.setdefault(cond.name, r["conditions"])
    return {c.name: worlds[c.name] for c in CONDITIONS if c.name in worlds}


KEEPS = 0.9
"""A training keeps the cube to horizon h when our tracker finds it in at least this share of the
true-cube frames within the first h dreamed frames, by the verdict rule: the whole 95% interval
(over the seeds) at or above it; a world with one seed has no interval, so it does not count."""


def findings(rows: list[dict]) -> dict[str, str]:
    """What the map says, per training, for the book's prose: the worlds in which the dream keeps
    the cube to horizons 1, 4 and 16 (`KEEPS`), and those in which its strict RMSE beats copying
    the last frame (by the verdict rule: the whole 95% interval of the ratio below 1)."""
    out = {}
    for suffix, training in TRAININGS.items():
        mine = [r for r in rows if r["training"] == training]
        if not mine:
            out |= {f"{suffix}_keeps_h{h}": "not run yet" for h in (1, 4, 16)}
            out[f"{suffix}_beats_copy_last"] = "not run yet"
            continue
        for h in (1, 4, 16):
            kept = [r["condition"] for r in mine if r["intervals"][f"detection_h{h}"][0] >= KEEPS]
            out[f"{suffix}_keeps_h{h}"] = f"{len(kept)} of {len(mine)}" + (f" ({', '.join(kept)})" if kept else "")
        beats = [r["condition"] for r in mine if against_copy_last_verdict(r) == "better"]
        out[f"{suffix}_beats_copy_last"] = f"{len(beats)} of {len(mine)}" + (f" ({', '.join(beats)})" if beats else "")
    return out


def against_copy_last_verdict(row: dict) -> str:
    """The verdict rule on a map row's strict RMSE over copy-last's: "better" (the whole 95% interval
    below 1), "worse" (above 1), "not separated" (the interval reaches 1), or "one seed" (no interval)."""
    low, high = row["intervals"]["strict_vs_copy_last"]
    if low != low or high != high:
        return "one seed"
    return "better" if high < 1 else "worse" if low > 1 else "not separated"


def against_copy_last(row: dict) -> str:
    """A map row's strict RMSE over copy-last's, with its interval and its verdict, in words."""
    ratio = interval(map_cell(row, "strict_vs_copy_last"), 2)
    return (
        ratio
        + {
            "better": ", better than copying the last frame (the whole interval below 1)",
            "worse": ", worse than copying the last frame (the whole interval above 1)",
            "not separated": ": the interval reaches 1, so by the verdict rule it does not beat copying the last frame",
            "one seed": " (one seed: no interval, so no verdict)",
        }[against_copy_last_verdict(row)]
    )


def protocol_sentences(summary: dict, budget: str, seeds: int) -> dict[str, str]:
    """What the paper's own protocol found (the `one_trajectory` rows of `grid_summaries.summarize`), as two
    sentences for chapter 8 and the report: one trajectory trained on and dreamed back, and the
    same settings (`budget`, e.g. "1,500 steps, lr 1e-4") dreamed on held-out episodes; each says
    how many of the `seeds` planned have run, and by our tracker first."""

    def cell(variant: str, metric: str) -> str:
        return shown(summary, "one_trajectory", variant, metric, PROTOCOL_RATE_DIGITS)

    def ran(variant: str) -> str:
        return f"{summary[('one_trajectory', variant)]['seeds']} of {seeds} seeds"

    trajectory = f"one trajectory of {PAPER_FRAMES} frames trained on and dreamed back, {budget}"
    out = {}
    if ("one_trajectory", "paper") not in summary:
        out["paper"] = f"The paper's own protocol in the main world ({trajectory}) has not run yet."
    else:
        seen, dreamed = PAPER_DETECTED
        out["paper"] = (
            f"Under the paper's own protocol in the main world ({trajectory}; {ran('paper')}), our tracker "
            f"finds the cube in {cell('paper', 'detection')} of dreamed frames, at a strict RMSE of "
            f"{cell('paper', 'strict_512')} px (at 512 px). The paper's tracker finds it in "
            f"{cell('paper', 'paper_detection')} (the paper reports {seen}/{dreamed} on its own video), but that "
            "tracker's lenient dream rule also counts red that is not the cube (chapter 5 measures how often), "
            "so its rate says less; "
            f"its RMSE, {cell('paper', 'paper_rmse_512')} px, is in pixels of another scene than the paper's "
            f"{PAPER_RESULTS['ResNet-Rollout'][0]:.2f} px."
        )
    if ("one_trajectory", "held_out") not in summary:
        out["held_out"] = "The same settings trained on many episodes and dreamed on held-out ones have not run yet."
    else:
        out["held_out"] = (
            f"The same settings trained on many episodes and dreamed on held-out ones ({ran('held_out')}): our "
            f"tracker finds the cube in {cell('held_out', 'detection')} of dreamed frames, at a strict RMSE of "
            f"{cell('held_out', 'strict_512')} px. These episodes have {PAPER_FRAMES} frames, as the paper's "
            "trajectory; chapter 5's run with the same settings (one seed) trains on and dreams the main world's "
            "shorter episodes, so its numbers differ from these."
        )
    return out


def map_rows(records: list[dict], summary: dict, reference_points) -> list[dict]:
    """One row per condition and training of the map (grid records and their `grid_summaries.summarize`):
    the measured conditions, detection within the first 1, 4 and 16 dreamed frames and over the
    whole dream, the strict RMSE at 512 px and against copying the last frame (means over seeds;
    `intervals` holds their bootstrap intervals), and the references' numbers in that world: copying
    and the floor from the record, the other two trivial predictors' whole-dream strict RMSE from
    `reference_points(record)` (`grid_summaries.reference_points` of the preset)."""
    rows = []
    for cond in CONDITIONS:
        for suffix, training in TRAININGS.items():
            cell = summary.get(("map", f"{cond.name}_{suffix}"))
            if cell is None:
                continue
            record = next(r for r in records if (r["group"], r["variant"]) == ("map", f"{cond.name}_{suffix}"))
            measured, refs, today = record["conditions"], record["references"], reference_points(record)
            to_512 = 512 / measured["resolution"]
            m = cell["metrics"]
            keys = ("detection_h1", "detection_h4", "detection_h16", "detection", "strict_512", "strict_vs_copy_last")
            rows.append(
                {
                    "condition": cond.name,
                    "cube_cells": cond.cube_cells,
                    "speed_cells": cond.speed_cells,
                    "measured_cube_cells": measured["cube_cells"],
                    "measured_speed_cells": measured["speed_cells"]["median"],
                    "training": training,
                    "seeds": cell["seeds"],
                    **{k: m[k]["mean"] for k in keys},
                    "intervals": {k: (m[k]["low"], m[k]["high"]) for k in keys},
                    "copy_last_strict_512": refs["copy_last"]["pooled"]["strict_rmse"] * to_512,
                    "copy_last_detection_h4": refs["copy_last"]["within"]["4"]["detection_rate"],
                    "oracle_detection": refs["oracle"]["pooled"]["detection_rate"],
                    "oracle_rmse_512": refs["oracle"]["pooled"]["rmse"] * to_512,
                    "bouncing_strict_512": today["bouncing_velocity"]["strict_512"],
                    "prior_strict_512": today["position_prior"]["strict_512"],
                }
            )
    return rows


def map_budget_sentence(shown_steps: int, chosen_steps: int | None, landed: int, wanted: int) -> str:
    """Which budget the map is shown at, and how far its training again at the chosen budget has got."""
    if chosen_steps is None:
        return "This preset trains the map at one budget."
    if shown_steps == chosen_steps:
        return (
            f"The map was trained again at the claim rows' budget, {chosen_steps:,} steps, and is shown at it; "
            "its runs at the grid's budget stay in the records."
        )
    return (
        f"The map is training again at the claim rows' budget, {chosen_steps:,} steps ({landed} of {wanted} "
        f"runs so far); it is shown at {shown_steps:,} steps until every one has landed, and restated then."
    )
