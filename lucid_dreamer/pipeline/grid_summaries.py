"""The grid's records read back: per-cell summaries over seeds, the learning curve's chosen budget, and
tables from the committed tracks (within a horizon, per episode, against the references).

The grid's runs and their records are written by `grid`; everything here reads them (records, and the
tracks under `paths.tracks_path`) and computes, never runs a model.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from ..method.analyze import (
    HORIZONS,
    charged_episode_metrics,
    detection_toggles,
    episode_sums,
    fill_misses,
    horizon_sums,
    mean_interval,
    pool_sums,
    trajectory_metrics,
)
from ..method.references import REFERENCES, TRIVIAL
from . import paths
from .grid import AGAIN_GROUPS, CLAIM_GROUPS, MAP_GROUPS, GridRun, grid_runs, runs_again
from .grid_runner import record_precision, references_name
from .presets import Preset


def at_grid_budget(records: list[dict]) -> list[dict]:
    """The records of runs at the grid's own budget (the claim rows trained again are left out)."""
    return [r for r in records if r.get("claim_steps") is None]


def again(records: list[dict], groups: tuple[str, ...]) -> list[dict]:
    """The records of `groups` trained again at the chosen budget (`GridConfig.claim_steps`)."""
    return [r for r in records if r.get("claim_steps") is not None and r["group"] in groups]


def _judged(preset: Preset, records: list[dict], groups: tuple[str, ...]) -> tuple[list[dict], int]:
    """The records of `groups` trained again at the chosen budget once every one of them has landed,
    else the same groups at the grid's budget; and the budget of the records returned."""
    g, landed = preset.grid, again(records, groups)
    if g.claim_steps is None or len(landed) < len(runs_again(preset, groups)):
        return [r for r in at_grid_budget(records) if r["group"] in groups], g.steps
    return landed, g.claim_steps


def claim_records(preset: Preset, records: list[dict]) -> tuple[list[dict], int]:
    """The records the claims are judged on, and the budget of their claim rows: the claim rows trained
    again at `GridConfig.claim_steps` once every one of them has landed (standing in for the same rows
    at the grid's budget), else the grid's own rows; the learning curve and the paper's protocol either
    way. The map is chapter 8's (`map_records`), at a budget of its own, so it is left out here: one
    budget for every row the claims compare."""
    claim_rows, budget = _judged(preset, records, CLAIM_GROUPS)
    return [r for r in at_grid_budget(records) if r["group"] not in AGAIN_GROUPS] + claim_rows, budget


def map_records(preset: Preset, records: list[dict]) -> tuple[list[dict], int]:
    """The conditions map's records, at the chosen budget once every one of its runs has landed there,
    else at the grid's budget; and that budget."""
    return _judged(preset, records, MAP_GROUPS)


def judged_runs(preset: Preset, records: list[dict]) -> list[GridRun]:
    """The grid's runs, done or not, at the budgets their groups are shown at: the claim rows' as
    `claim_records` judges them, the map's as `map_records` shows it, the grid's own for the rest."""
    g = preset.grid
    budgets = {
        **dict.fromkeys(CLAIM_GROUPS, claim_records(preset, records)[1]),
        **dict.fromkeys(MAP_GROUPS, map_records(preset, records)[1]),
    }
    return [r for r in grid_runs(preset) if (r.claim_steps or g.steps) == budgets.get(r.group, g.steps)]


CURVE_TRAININGS = {
    "recipe": ("rivals", "resnet_rollout"),
    "one_step": ("predict_change", "next_one_step"),
    "change_rollout": ("predict_change", "change_rollout"),
}
"""The learning curve's trainings (`_curve_rows` names), each with the grid row that trains it at the
grid's own budget: the curve's first point."""


BUDGET_TOLERANCE = 0.02
"""The budget rule: the smallest budget whose validation loss is within this share of the longest
budget's (mean best validation loss over the seeds)."""


def learning_curve(records: list[dict]) -> dict[str, dict[int, list[dict]]]:
    """Per training of the learning curve: budget (optimizer steps) -> its records."""
    curve: dict[str, dict[int, list[dict]]] = {}
    for r in at_grid_budget(records):
        for name, first in CURVE_TRAININGS.items():
            if (r["group"], r["variant"]) == first or (r["group"] == "curve" and r["variant"].startswith(f"{name}_s")):
                curve.setdefault(name, {}).setdefault(r["configs"]["train"]["steps"], []).append(r)
    return curve


def chosen_budget(budgets: dict[int, list[dict]], tolerance: float = BUDGET_TOLERANCE) -> int:
    """The budget rule, on validation loss only: the smallest budget (of `learning_curve`'s for one
    training) whose mean best validation loss is at most (1 + `tolerance`) x the longest budget's."""
    losses = {steps: float(np.mean([r["train"]["best_val_loss"] for r in runs])) for steps, runs in budgets.items()}
    bound = losses[max(losses)] * (1 + tolerance)
    return min(steps for steps, loss in losses.items() if loss <= bound)


def precision_counts(records: list[dict]) -> dict[str, int]:
    """How many records computed in each precision."""
    return dict(Counter(record_precision(r) for r in records))


def common_span(preset: Preset, runs: list[GridRun]) -> int:
    """The dreamed frames every one of `runs` has: an episode's frames less the largest context."""
    return preset.world.frames_per_episode - max(r.experiment.model.context_frames for r in runs)


def strict_within(preset: Preset, record: dict, frames: int) -> float:
    """Strict RMSE (px at 512, our tracker) of one run's dreams within their first `frames` dreamed
    frames, from its committed tracks: models with different context dream different numbers of
    frames, and this scores them on the same horizons."""
    dreamed, true, _ = _run_tracks(preset, record, frames)
    resolution = record["metrics"]["resolution"]
    return trajectory_metrics(dreamed, true, resolution)["strict_rmse"] * 512 / resolution


def _run_tracks(preset: Preset, record: dict, frames: int | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """A run's dreamed and true centroids by our tracker [E, T, 2] (the first `frames` dreamed
    frames; all by default) from its committed tracks, and the name of the episodes it was scored on
    (its truth file's, less the context)."""
    dream = json.loads(paths.tracks_path(preset, record["id"]).read_text())
    truth = json.loads(paths.tracks_path(preset, dream["truth"]).read_text())
    dreamed, true = (np.asarray(t["cube"], dtype=float)[:, :frames] for t in (dream, truth))
    return dreamed, true, dream["truth"].rsplit("__k", 1)[0]  # the same episodes whatever the context


def strict_within_rows(preset: Preset, records: list[dict], frames: int) -> dict[tuple[str, str], float]:
    """`strict_within` per (group, variant) of the records, the mean over its seeds."""
    rows: dict[tuple[str, str], list[float]] = {}
    for r in records:
        rows.setdefault((r["group"], r["variant"]), []).append(strict_within(preset, r, frames))
    return {key: float(np.mean(values)) for key, values in rows.items()}


def _pooled(name: str):
    """The `pool_sums` metric `name` of summed `episode_sums`."""
    return lambda sums: pool_sums(sums)[name]


EPISODE_METRICS = {
    "rmse_512": ("whole", _pooled("rmse")),
    "strict_512": ("whole", _pooled("strict_rmse")),
    "detection": ("whole", _pooled("detection_rate")),
    **{f"strict_h{h}_512": (h, _pooled("strict_rmse")) for h in HORIZONS},
    **{f"detection_h{h}": (h, _pooled("detection_rate")) for h in HORIZONS},
    "flicker": ("flicker", lambda sums: sums[..., 0] / sums[..., 1]),
}
"""The metrics (`metric_values` names, and flicker: the share of consecutive dreamed frames between
which the tracker's finding the cube changes) that `episode_table` gives per test episode: (its key
in a row's "spans", the function of summed per-episode rows that gives the metric)."""


def episode_table(preset: Preset, records: list[dict], charge: str = "diagonal") -> dict[tuple[str, str], dict]:
    """Per (group, variant): the episodes it was scored on (its world's data hash) and, per span of
    dreamed frames (the whole dream, and within each of `HORIZONS`), each seed's per-episode
    `episode_sums` at 512 px, strict RMSE charging a missed frame as `charge` says
    (`analyze.MISS_CHARGES`), and its `detection_toggles` under "flicker"; from the committed
    tracks, so every row can be scored under any charge and paired with any row scored on the
    same episodes."""
    table: dict[tuple[str, str], dict] = {}
    for r in records:
        dreamed, true, episodes = _run_tracks(preset, r)
        resolution = r["metrics"]["resolution"]
        row = table.setdefault((r["group"], r["variant"]), {"episodes": episodes, "spans": {}})
        for span in ("whole", *HORIZONS):
            frames = dreamed.shape[1] if span == "whole" else span
            per_episode = charged_episode_metrics(dreamed[:, :frames], true[:, :frames], resolution, charge)
            row["spans"].setdefault(span, []).append(episode_sums(per_episode, 512 / resolution))
        row["spans"].setdefault("flicker", []).append(detection_toggles(dreamed))
    return table


def reference_tracks(preset: Preset, truth: str, tracker: str = "cube") -> dict[str, np.ndarray]:
    """The committed reference tracks beside truth file `truth`, by `tracker`: reference -> [E, T, 2]."""
    tracks = json.loads(paths.tracks_path(preset, references_name(truth)).read_text())
    return {name: np.asarray(tracks[f"{name}/{tracker}"], dtype=float) for name in REFERENCES}


def horizon_table(preset: Preset, records: list[dict], charge: str = "diagonal") -> dict[tuple[str, str], dict]:
    """Per (group, variant): each seed's `analyze.horizon_sums` [E, T, 4] (px at 512, strict RMSE
    charging a missed frame as `charge` says) and, under "references", the reference points' on the
    same episodes and dreamed frames, from the committed tracks: the strict RMSE within the first h
    dreamed frames of every row and reference, for every h."""
    table: dict[tuple[str, str], dict] = {}
    for r in records:
        dream = json.loads(paths.tracks_path(preset, r["id"]).read_text())
        truth_name = dream["truth"]
        dreamed, true, _ = _run_tracks(preset, r)
        resolution = r["metrics"]["resolution"]
        scale = 512 / resolution
        row = table.setdefault((r["group"], r["variant"]), {"truth": truth_name, "seeds": []})
        row["seeds"].append(horizon_sums(fill_misses(dreamed, charge, resolution), true, resolution, scale))
        if "references" not in row:
            row["references"] = {
                name: horizon_sums(fill_misses(xy, charge, resolution), true, resolution, scale)
                for name, xy in reference_tracks(preset, truth_name).items()
            }
    return table


def reference_points(preset: Preset, record: dict) -> dict[str, dict[str, float]]:
    """The reference points' (`references.REFERENCES`) strict RMSE (px at 512) within the first h dreamed
    frames for each of `HORIZONS` and over the whole dream, and their detection over it, on the episodes
    and dreamed frames of run `record`: from the committed reference tracks, so a record made before the
    reference set changed is shown beside today's references, not the ones it carries."""
    row = horizon_table(preset, [record])[(record["group"], record["variant"])]
    out = {}
    for name, sums in row["references"].items():
        pooled = pool_sums(sums.sum(0))  # [T] within the first h dreamed frames, h = 1..T
        strict, detection = pooled["strict_rmse"], pooled["detection_rate"]
        out[name] = {
            "strict_512": float(strict[-1]),
            **{f"strict_h{h}_512": float(strict[h - 1]) for h in HORIZONS},
            "detection": float(detection[-1]),
        }
    return out


def trivial_of(row: dict) -> dict[str, np.ndarray]:
    """The trivial predictors' (`references.TRIVIAL`) `horizon_sums` of a `horizon_table` row."""
    return {name: row["references"][name] for name in TRIVIAL}


def main_conditions(records: list[dict]) -> dict | None:
    """The measured conditions of the preset's own world, from any record made in it (a run in a world
    of its own names the tokenizer's world too); None before one ran."""
    return next((r["conditions"] for r in records if "tokenizer_world" not in r["configs"]), None)


def _training(record: dict) -> str:
    """What makes a run distinct: its configs (rows that share them share one cached training)."""
    return json.dumps(record["configs"], sort_keys=True)


def distinct_trainings(records: list[dict]) -> int:
    """How many distinct runs the records hold (a run shared by several rows counts once)."""
    return len({_training(r) for r in records})


def compute_hours(records: list[dict]) -> float:
    """Hours the records' distinct runs take from scratch (rows that share a run count it once; a run
    found in the cache counts its training and dreaming time, as recorded when it was built)."""
    longest: dict[str, float] = {}
    for r in records:
        key = _training(r)
        built = r["train"]["train_seconds"] + r["metrics"].get("dream_seconds", 0.0)
        longest[key] = max(longest.get(key, 0.0), r["seconds"], built)
    return sum(longest.values()) / 3600


def metric_values(record: dict) -> dict[str, float]:
    """The numbers the book's tables compare, from one run's record (pixel values at 512 px; by our
    tracker unless named `paper_`, the paper's tracker with its asymmetric thresholds)."""
    m, paper = record["metrics"], record["metrics"]["paper"]
    to_512 = 512 / m["resolution"]
    nan = float("nan")

    def within(report: dict, h: int, key: str, scale: float = 1.0) -> float:
        return report["within"][str(h)][key] * scale if str(h) in report["within"] else nan

    copy_last = record["references"]["copy_last"]["pooled"]["strict_rmse"] * to_512
    values = {
        "rmse_512": m["pooled"]["rmse"] * to_512,
        "strict_512": m["pooled"]["strict_rmse"] * to_512,
        "detection": m["pooled"]["detection_rate"],
        "strict_vs_copy_last": m["pooled"]["strict_rmse"] * to_512 / copy_last,
        "paper_rmse_512": paper["pooled"]["rmse"] * to_512,
        "paper_detection": paper["pooled"]["detection_rate"],
        "jitter_512": m["jitter_dream"] * to_512,
        "truth_jitter_512": m["jitter_truth"] * to_512,
        "detected_at_end": m["detected_at_end"],
        "samples_per_s": record["train"]["samples_per_s"],
        "parameters": record["parameters"],
    }
    for h in HORIZONS:
        values[f"strict_h{h}_512"] = within(m, h, "strict_rmse", to_512)
        values[f"detection_h{h}"] = within(m, h, "detection_rate")
    return values


POOLED_OVER_EPISODES = {"rmse_512": "rmse", "strict_512": "strict_rmse", "detection": "detection_rate"}
"""`metric_values` names of the metrics a record also keeps per test episode (as `pool_sums` names them):
their intervals resample the episodes as well as the seeds; the others resample the seeds only."""


def summarize(records: list[dict], table: dict | None = None) -> dict[tuple[str, str], dict]:
    """Per (group, variant): its label, seed count, and per metric the mean over seeds, its 95%
    bootstrap interval (`analyze.mean_interval`) and the per-seed values. With `episode_table`'s
    `table` of the same records, every metric it holds (`EPISODE_METRICS`: the horizons too, under
    its miss charge) is taken from it and its interval resamples the episodes as well as the seeds."""
    cells: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        cells.setdefault((r["group"], r["variant"]), []).append(r)
    out = {}
    for key, runs in cells.items():
        values = [metric_values(r) for r in runs]
        episodes = [episode_sums(r["metrics"]["per_episode"], 512 / r["metrics"]["resolution"]) for r in runs]
        stats = {}
        names = list(values[0]) + (["flicker"] if table is not None else [])
        for name in names:
            if table is not None and name in EPISODE_METRICS:
                span, pool = EPISODE_METRICS[name]
                per_seed = table[key]["spans"][span]
                column = [float(pool(sums.sum(0))) for sums in per_seed]
            else:
                column = [v[name] for v in values]
                per_seed, pool = [[v] for v in column], None
                if name in POOLED_OVER_EPISODES:
                    per_seed, pool = episodes, _pooled(POOLED_OVER_EPISODES[name])
            mean, low, high = mean_interval(per_seed, pool)
            stats[name] = {"mean": mean, "low": low, "high": high, "values": column}
        out[key] = {"label": runs[0]["label"], "seeds": len(runs), "metrics": stats}
    return out
