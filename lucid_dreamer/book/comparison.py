"""Chapter 7's tables and numbers: the rivals beside the paper, the ablations, the precision rows.

Everything here is a function of the grid's records and their `grid_summaries.summarize` summary, so the
chapter only narrates and glues. Pixels are at 512 px; cells are "mean [95% interval]" over seeds.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..method.analyze import mean_interval
from ..method.models import build_model, count_parameters
from ..method.references import REFERENCES, TRIVIAL
from ..pipeline.grid import GridRun
from ..pipeline.grid_runner import record_precision
from ..pipeline.grid_summaries import BUDGET_TOLERANCE, chosen_budget, metric_values, reference_points, summarize
from ..pipeline.presets import Preset
from .paper import PAPER_RESULTS
from .tables import Table, interval, is_rate, listing, number, shown, table

RIVALS = {
    "resnet_rollout": (
        "ResNet-Rollout",
        "ResNet, 4 context frames, 4-step teacher-less rollout, motion-weighted L1",
        "the paper's network (Conv2d form), the paper's loss and rollout",
    ),
    "baseline_resnet": (
        "Baseline ResNet",
        "the ResNet without temporal context",
        "the same ResNet with 1 context frame, trained one step ahead",
    ),
    "unet_single": (
        "U-Net (single)",
        "a U-Net on a single frame",
        "a 2-level U-Net with skip connections, 1 context frame, trained one step ahead",
    ),
    "rollout_unet": ("Rollout U-Net", "the U-Net trained with rollout", "the same U-Net, 4-step teacher-less rollout"),
    "sharp_shooter": (
        "Sharp-Shooter",
        "U-Net with gradient difference loss; the README calls it a context model, the report 'U-Net without context'",
        "the single-frame U-Net (the report's reading), one step ahead, L1 + GDL (weight 1)",
    ),
    "probabilistic_plus": (
        "Probabilistic Plus",
        "a larger probabilistic model, 'jittery'",
        "a wider ResNet with a Gaussian head (mean, log-variance), NLL, sampled when dreaming",
    ),
    "hero": (
        "Hero",
        "a complex architecture that failed (the report names transformers)",
        "a pre-norm transformer over 4x4 patches of the latent grid, 4 context frames, 4-step rollout",
    ),
}
"""Grid variant -> (the paper's name, the paper's words, our definition)."""


def models_table(runs: list[GridRun], seed: int) -> Table:
    """The rivals: the paper's stated size and words beside our definition and parameter count."""
    rows = []
    for run in runs:
        if run.group == "rivals" and run.seed == seed:
            name, words, ours = RIVALS[run.variant]
            params = count_parameters(build_model(run.experiment.model))
            rows.append([run.experiment.label, PAPER_RESULTS[name][2], f"{params:,}", words, ours])
    return table(["model", "the paper's size", "ours (parameters)", "the paper's words", "our definition"], rows)


def rivals_tables(summary: dict, labels: dict[str, str]) -> tuple[Table, Table, Table]:
    """The paper's two comparison tables with ours, in three that fit the page: the README's
    (RMSE, strict RMSE and detection by our tracker beside the paper's numbers), the same dreams
    by the paper's tracker beside the paper's numbers, and the report's (size, speed, stability,
    jitter)."""
    readme, by_paper_tracker, report = [], [], []
    for variant, (name, _, _) in RIVALS.items():
        rmse, detection, params = PAPER_RESULTS[name]
        s = partial(shown, summary, "rivals", variant)
        papers = ["N/A" if rmse is None else f"{rmse:.2f}", f"{detection:.0%}"]
        readme.append([labels[variant], s("rmse_512"), s("strict_512"), s("detection"), *papers])
        by_paper_tracker.append([labels[variant], s("paper_rmse_512"), s("paper_detection"), *papers])
        report.append(
            [
                labels[variant],
                params,
                s("samples_per_s"),
                s("detected_at_end"),
                s("jitter_512"),
                s("truth_jitter_512"),
            ]
        )
    papers_header = ["the paper's RMSE (px at 512)", "the paper's detection"]
    readme_header = ["model", "RMSE, both detect (px at 512)", "strict RMSE (px at 512)", "detected", *papers_header]
    paper_tracker_header = ["model", "RMSE, the paper's tracker (px at 512)", "detected, the paper's tracker"]
    report_header = [
        "model",
        "the paper's params",
        "training samples/s",
        "dreams detected at the end",
        "jitter (px/frame², at 512)",
        "true jitter",
    ]
    return (
        table(readme_header, readme),
        table([*paper_tracker_header, *papers_header], by_paper_tracker),
        table(report_header, report),
    )


def figure3_data(summary: dict, labels: dict[str, str]) -> tuple[dict, dict]:
    """Figure 3 with intervals: our rivals' metrics by label, and the paper's values by label."""
    ours = {labels[v]: summary.get(("rivals", v), {"metrics": {}})["metrics"] for v in RIVALS}
    paper = {}
    for variant, (name, _, _) in RIVALS.items():
        values = zip(("rmse_512", "detection"), PAPER_RESULTS[name][:2])
        paper[labels[variant]] = {metric: value for metric, value in values if value is not None}
    return ours, paper


def width_series(summary: dict) -> dict[str, list[tuple[int, dict]]]:
    """The inverted-U: (parameters, strict RMSE cell) per width, for both families that have runs."""
    series = {}
    for group, family in (("width_resnet", "ResNet-Rollout"), ("width_unet", "Rollout U-Net")):
        points = [
            (int(cell["metrics"]["parameters"]["mean"]), cell["metrics"]["strict_512"])
            for (g, _), cell in summary.items()
            if g == group
        ]
        if points:
            series[family] = sorted(points, key=lambda p: p[0])
    return series


ABLATION_COLUMNS = ("strict_512", "strict_h4_512", "strict_h16_512", "detection")


def references(preset: Preset, records: list[dict]) -> dict[str, dict]:
    """The reference points on the rivals' test episodes (`grid_summaries.reference_points` of a
    ResNet-Rollout record: every record of the preset's world with 4 context frames has the same), at
    512 px, named as the tables name them."""
    for r in records:
        if (r["group"], r["variant"]) == ("rivals", "resnet_rollout"):
            return {REFERENCES[k]: v for k, v in reference_points(preset, r).items()}
    return {}


CURVE_LABELS = {
    "recipe": "the recipe (R = 4)",
    "one_step": "one step ahead (R = 1)",
    "change_rollout": "predicts the change (R = 4)",
}
"""The learning curve's trainings (`grid_summaries.CURVE_TRAININGS`) as the chapter names them."""


def learning_curve_cells(curve: dict[str, dict[int, list[dict]]], episodes: dict) -> dict[str, dict[int, dict]]:
    """Per training (by its label) and budget: `grid_summaries.summarize`'s metrics of its runs (intervals over
    seeds and episodes, from `episodes`, the `grid_summaries.episode_table`) and "val_loss", the best
    validation loss (interval over the seeds)."""
    cells: dict[str, dict[int, dict]] = {}
    for name in (n for n in CURVE_LABELS if n in curve):
        for steps, runs in sorted(curve[name].items()):
            ((_, row),) = summarize(runs, episodes).items()
            losses = [r["train"]["best_val_loss"] for r in runs]
            mean, low, high = mean_interval([[v] for v in losses])
            val = {"mean": mean, "low": low, "high": high, "values": losses}
            cells.setdefault(CURVE_LABELS[name], {})[steps] = {**row["metrics"], "val_loss": val}
    return cells


def curve_standing(cells: dict[str, dict[int, dict]], refs: dict[str, dict], metric: str = "strict_512") -> str:
    """The recipe's `metric` at each budget of the learning curve, beside the trivial predictors'."""
    recipe = cells.get(CURVE_LABELS["recipe"], {})
    at = ", ".join(f"{interval(c[metric], 1)} px at {steps:,} steps" for steps, c in sorted(recipe.items()))
    trivial = [f"{REFERENCES[k]} {refs[REFERENCES[k]][metric]:.1f}" for k in TRIVIAL if REFERENCES[k] in refs]
    return f"{at} (the trivial predictors: {'; '.join(trivial)} px)" if trivial else at


def budget_sentence(curve: dict[str, dict[int, list[dict]]], cap: int) -> str:
    """The budget rule's choice per training, in `CURVE_LABELS` order, and the budget the claim rows get:
    the largest choice, at most `cap` (a clause to follow a colon: lower case, no full stop)."""
    chosen = {name: chosen_budget(curve[name]) for name in CURVE_LABELS if name in curve}
    tried = {name: listing([f"{s:,}" for s in sorted(curve[name])]) for name in chosen}
    shared = len(set(tried.values())) == 1
    picks = "; ".join(
        f"{CURVE_LABELS[name]}: {steps:,} steps" + ("" if shared else f" (of {tried[name]})")
        for name, steps in chosen.items()
    )
    each = "each the smallest" if len(chosen) > 1 else "the smallest"
    within = f"whose mean best validation loss is within {100 * BUDGET_TOLERANCE:.0f}% of the longest budget's"
    how = f"{each} of {tried[next(iter(chosen))]} steps {within}" if shared else f"{each} {within}"
    budget = max(chosen.values())
    outcome = f"the claim rows train again at {min(budget, cap):,} steps"
    if budget > cap:
        outcome = f"the rule asks for {budget:,} steps, more than the paper's {cap:,}, so {outcome}"
    return f"{picks} ({how}); {outcome}"


BUDGET_COLUMNS = ("strict_512", "strict_h4_512", "strict_h16_512")
"""The metrics the claim rows are compared by at the two budgets."""


def claim_budget_table(own: dict, again: dict, budgets: tuple[int, int]) -> Table:
    """Each claim row trained again at the chosen budget that has landed (`again`, `grid_summaries.summarize` of
    those runs) beside the same row at the grid's budget (`own`): strict RMSE over the whole dream and
    within 4 and 16 frames, px at 512."""
    rows = []
    for (group, variant), cell in again.items():
        values = [f"{shown(own, group, variant, k)} → {shown(again, group, variant, k)}" for k in BUDGET_COLUMNS]
        rows.append([group.replace("_", " "), cell["label"], *values, cell["seeds"]])
    before, after = (f"{b:,}" for b in budgets)
    header = [
        "group",
        "row",
        f"strict RMSE (px at 512), {before} → {after} steps",
        "strict h4",
        "strict h16",
        f"seeds at {after}",
    ]
    return table(header, rows)


SKIPPED_GROUPS = ("rivals", "width_resnet", "width_unet", "precision", "map", "one_trajectory")
"""Groups with tables of their own: the ablation table leaves them out."""


def ablation_table(summary: dict, runs: list[GridRun], seed: int, refs: dict[str, dict]) -> Table:
    """Each ablation row (one change to ResNet-Rollout), then the reference points on the same episodes."""
    rows = []
    for run in runs:
        if run.group in SKIPPED_GROUPS or run.seed != seed:
            continue
        cell = summary.get((run.group, run.variant))
        values = [shown(summary, run.group, run.variant, k) for k in ABLATION_COLUMNS]
        rows.append([run.group.replace("_", " "), run.experiment.label, *values, cell["seeds"] if cell else 0])
    for name, r in refs.items():
        values = [number(r[k], 0, True) if is_rate(k) else number(r[k]) for k in ABLATION_COLUMNS]
        rows.append(["reference", name, *values, "-"])
    header = ["ablation", "setting", "strict RMSE (px at 512)", "strict h4", "strict h16", "detected", "seeds"]
    return table(header, rows)


def precision_table(summary: dict, records: list[dict], record_precision) -> Table:
    """The rivals' ResNet-Rollout in its records' precision beside the same row forced to float32."""
    rows = []
    for group, variant, setting, planned in (
        ("rivals", "resnet_rollout", "the machine's best", "the machine's best precision"),
        ("precision", "float32", "forced", "float32 (forced)"),
    ):
        cell = summary.get((group, variant))
        used = {record_precision(r) for r in records if (r["group"], r["variant"]) == (group, variant)}
        values = [shown(summary, group, variant, k) for k in ABLATION_COLUMNS]
        rows.append(
            [f"{', '.join(sorted(used))} ({setting})" if used else planned, *values, cell["seeds"] if cell else 0]
        )
    header = ["ResNet-Rollout computed in", "strict RMSE (px at 512)", "strict h4", "strict h16", "detected", "seeds"]
    return table(header, rows)


def precision_difference(records: list[dict]) -> str:
    """The methods page's sentence on how far ResNet-Rollout's results move between bf16 and
    float32: the rivals' row against the same row forced to float32, paired by seed (mean of
    bf16 minus float32 over the seeds both have), or why there is nothing to compare yet."""
    rows = [
        {r["seed"]: r for r in records if (r["group"], r["variant"]) == row}
        for row in (("rivals", "resnet_rollout"), ("precision", "float32"))
    ]
    seeds = sorted(set(rows[0]) & set(rows[1]))
    if not seeds:
        return (
            "How far the results move between the two precisions is not measured yet (chapter 7's rows have not run)."
        )
    if any(record_precision(rows[0][s]) == record_precision(rows[1][s]) for s in seeds):
        return "On this machine both of chapter 7's rows computed in float32, so they say nothing about bf16."
    pairs = [(metric_values(rows[0][s]), metric_values(rows[1][s])) for s in seeds]
    strict, detection = (np.mean([bf16[k] - f32[k] for bf16, f32 in pairs]) for k in ("strict_512", "detection"))
    return (
        f"Trained both ways with the same {len(seeds)} seeds and budget, ResNet-Rollout's strict RMSE in bf16 "
        f"minus float32 is {strict:+.1f} px (at 512 px) and its detection {100 * detection:+.1f} percentage points "
        '(chapter 7, "bf16 or float32", shows the spread between seeds beside it).'
    )


def against_references(value: float, references: dict[str, float]) -> str:
    """Where one run's strict RMSE stands against the references' (lower is better), in words: a
    ranking of point estimates, not a verdict (one run has no interval; chapter 7 judges with seeds)."""
    if not references or value != value:
        raise ValueError("a standing needs a value and at least one reference")
    sides = [
        ("a lower {} than", [name for name, v in references.items() if value < v]),
        ("a higher {} than", [name for name, v in references.items() if value > v]),
        ("the same {} as", [name for name, v in references.items() if value == v]),
    ]
    said = [(words, names) for words, names in sides if names]
    # the first comparison names the metric, the others say "one"
    return "has " + ", and ".join(
        f"{words.format('strict RMSE' if i == 0 else 'one')} {' and '.join(names)}"
        for i, (words, names) in enumerate(said)
    )


def same_horizon_shifts(summary: dict, aligned: dict[tuple[str, str], float], span: int) -> dict[str, str]:
    """How far scoring every row on the same first `span` dreamed frames (`aligned`, as
    `grid_summaries.strict_within_rows` gives it) moves each row's mean strict RMSE: the largest shift among the
    rivals (`common_span_rivals_shift`) and over every row, with its row (`common_span_shift`)."""
    shift = {key: value - summary[key]["metrics"]["strict_512"]["mean"] for key, value in aligned.items()}
    if not shift:
        return dict.fromkeys(("common_span_rivals_shift", "common_span_shift"), "- (not run yet)")
    rivals = [abs(v) for (group, _), v in shift.items() if group == "rivals"]
    largest = max(shift, key=lambda key: abs(shift[key]))
    whole = summary[largest]["metrics"]["strict_512"]["mean"]
    return {
        "common_span_rivals_shift": number(max(rivals)) if rivals else "- (no rival has run)",
        "common_span_shift": f"{abs(shift[largest]):.1f} px ({summary[largest]['label']}: {whole:.1f} px over its "
        f"whole dream, {aligned[largest]:.1f} within {span} frames)",
    }


def report_paragraphs(summary: dict, refs: dict[str, dict]) -> dict[str, str]:
    """The report's paragraphs on the ablations, by glue name: the rollout's length and teacher
    forcing (`rollout`), the motion weighting (`motion`), predicting the change instead of the frame
    (`predict_change`), and the paper's protocol and single-trajectory training (`protocol`). A
    paragraph whose rows have not all run says so, rather than quoting placeholders as numbers."""

    def cells(group: str, variant: str) -> str:
        rmse, strict, detection = (shown(summary, group, variant, k) for k in ("rmse_512", "strict_512", "detection"))
        return f"{rmse} px RMSE ({strict} strict, {detection} detected)"

    def ran(*rows: tuple[str, str]) -> bool:
        return all(row in summary for row in rows)

    out = dict.fromkeys(
        ("rollout", "motion", "predict_change", "protocol"), "These rows have not all run yet in this world."
    )
    steps = [("rollout", f"r{r}") for r in (1, 2, 4, 8)]
    forcing = [("teacher_forcing", v) for v in ("rollout", "forced")]
    if ran(*steps, *forcing):
        h16 = {v: shown(summary, g, v, "strict_h16_512") for g, v in steps + forcing}

        def whole(metric: str, unit: str) -> str:  # R = 1, 2, 4, 8 in one list
            values = [shown(summary, g, v, metric) for g, v in steps]
            return f"{', '.join(values[:-1])} and {values[-1]}{unit}"

        out["rollout"] = (
            "Within the first 16 dreamed frames ResNet-Rollout's strict RMSE is "
            f"{h16['r1']} px trained one step ahead, {h16['r2']}, {h16['r4']} and {h16['r8']} px trained with 2-, 4- "
            "and 8-step teacher-less rollouts; "
            f"over the whole dream its strict RMSE is {whole('strict_512', ' px')} and it detects the cube in "
            f"{whole('detection', '')} of the frames. Fed the true frames at each step of the "
            f"4-step rollout (teacher forcing), it scores {h16['forced']} px within 16 frames, against "
            f"{h16['rollout']} px teacher-less, and {cells('teacher_forcing', 'forced')} over the whole dream."
        )
    motion = [("motion", v) for v in ("w10_t0.1", "w1", "w10_t0.3")]
    if ran(*motion):
        out["motion"] = (
            f"With plain L1 (weight 1) ResNet-Rollout scores {cells('motion', 'w1')}; with the paper's weight 10 on "
            f"the latent elements that moved by more than 0.1, {cells('motion', 'w10_t0.1')}; at threshold 0.3, "
            f"{cells('motion', 'w10_t0.3')}."
        )
    change = [("predict_change", v) for v in ("next_one_step", "change_one_step", "next_rollout", "change_rollout")]
    copy = refs.get(REFERENCES["copy_last"])
    if ran(*change) and copy:
        h = {(v, k): shown(summary, g, v, f"strict_{k}_512") for g, v in change for k in ("h4", "h16")}
        out["predict_change"] = (
            "Trained one step ahead, its strict RMSE within the first 4 dreamed frames is "
            f"{h['change_one_step', 'h4']} px (at 512 px), against {h['next_one_step', 'h4']} px for the network "
            f"predicting the next frame and {number(copy['strict_h4_512'])} px for copying the last frame; within 16 "
            f"frames {h['change_one_step', 'h16']}, {h['next_one_step', 'h16']} and {number(copy['strict_h16_512'])} "
            f"px. Trained with the 4-step rollout it scores {h['change_rollout', 'h4']} px within 4 frames and "
            f"{h['change_rollout', 'h16']} px within 16, against {h['next_rollout', 'h4']} and "
            f"{h['next_rollout', 'h16']} px for ResNet-Rollout, the same network and training predicting the "
            "next frame."
        )
    protocol = [
        ("protocol", f"{m}_{p}") for m in ("resnet_rollout", "probabilistic_plus") for p in ("paper", "held_out")
    ]
    trajectories = [("trajectories", "single"), ("trajectories", "all")]
    if ran(*protocol, *trajectories):
        out["protocol"] = (
            f"On its own training trajectory ResNet-Rollout scores {cells('protocol', 'resnet_rollout_paper')}; "
            f"on held-out trajectories {cells('protocol', 'resnet_rollout_held_out')}. Probabilistic Plus scores "
            f"{cells('protocol', 'probabilistic_plus_paper')} on its training trajectory and "
            f"{cells('protocol', 'probabilistic_plus_held_out')} on held-out ones. Trained on a single trajectory "
            "(the report's future work asks for more) and dreamed on held-out ones, ResNet-Rollout scores "
            f"{cells('trajectories', 'single')}, against {cells('trajectories', 'all')} trained on all of them."
        )
    return out
