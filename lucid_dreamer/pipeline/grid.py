"""The grid: the conditions map, the paper's rivals and our ablations, every row with several seeds.

A run is a train stage and a dream stage (cached and resumable, like the book's). Its metrics,
configs and provenance go to `figures/data/grid/<preset>/<run>.json` (under `artifacts/smoke/`
for the smoke preset), so the grid can be filled over several sittings, or on a GPU, and the
book renders from the committed files. A run whose file holds the same configuration and can be
trusted (`trusted`: a clean commit, the current tracker) is skipped; any other is run again.
Runs execute here one after another, or in parallel as jobs (`executors`); a process holds a
run's lock while it runs it, so the run has one writer wherever it executes.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from filelock import FileLock
from safetensors.numpy import load_file as load_numpy
from tqdm.auto import tqdm

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
from ..method.atomic import atomic_write
from ..method.conditions import condition
from ..method.errors import UserError
from ..method.models import ModelConfig, build_model, count_parameters
from ..method.precision import name as precision_name
from ..method.recipe import PAPER_FRAMES
from ..method.references import REFERENCES, REFERENCES_VERSION, TRIVIAL
from ..method.track import TRACKER_VERSION
from ..method.train import TrainConfig
from ..method.world import WorldConfig
from . import cache, paths, stages
from .presets import Experiment, GridConfig, Preset
from .provenance import provenance


@dataclass(frozen=True)
class GridRun:
    """One cell of the grid: a row of a table or a point of a sweep, with one seed."""

    group: str
    """Which table or figure it belongs to."""
    variant: str
    """Its row within the group."""
    seed: int
    experiment: Experiment
    claim_steps: int | None = None
    """Where this run trains a claim row again at the budget the learning curve chose
    (`GridConfig.claim_steps`, which its id names); None: a run at the grid's own budget."""

    @property
    def id(self) -> str:
        budget = "" if self.claim_steps is None else f"s{self.claim_steps}__"
        return f"{self.group}__{self.variant}__{budget}seed{self.seed}"


Row = tuple[str, str, str, ModelConfig, dict, "dict | None", "dict | None"]
"""(group, variant, label, model, training overrides, data overrides, world overrides)."""
CoreRow = tuple[str, str, str, ModelConfig, dict, "dict | None"]
"""A row in the preset's own world: `Row` without the world overrides."""


def _map_rows(g: GridConfig, world: WorldConfig) -> list[Row]:
    """The conditions map: in every condition, the paper's recipe (R = 4 teacher-less rollout,
    motion-weighted L1) and the same network trained one step ahead (R = 1); and the paper's own
    protocol (one trajectory of 101 frames, trained and dreamed back, the paper's settings and
    budget) in the main world, beside held-out episodes of that 101-frame world."""
    resnet, rows = ModelConfig(), []
    for name in g.conditions:
        cond = asdict(condition(name).world(world))
        rows += [
            ("map", f"{name}_recipe", f"{name}: the paper's recipe (R = 4)", resnet, {"rollout_steps": 4}, None, cond),
            ("map", f"{name}_one_step", f"{name}: one step ahead (R = 1)", resnet, {"rollout_steps": 1}, None, cond),
        ]
    paper_world = {"frames_per_episode": PAPER_FRAMES}
    paper = {"rollout_steps": 4, "lr": TrainConfig.lr, "steps": g.one_trajectory_steps}
    return rows + [
        (
            "one_trajectory",
            "paper",
            "one trajectory, dreamed back (the paper's protocol)",
            resnet,
            paper,
            {"protocol": "paper"},
            paper_world,
        ),
        (
            "one_trajectory",
            "held_out",
            "trained on many, dreamed on held-out episodes",
            resnet,
            paper,
            None,
            paper_world,
        ),
    ]


def _rows(g: GridConfig) -> list[CoreRow]:
    """(group, variant, label, model, training overrides, data overrides) of the rows in the
    preset's own world."""
    resnet = ModelConfig()
    unet = ModelConfig(name="unet", context_frames=1, width=g.unet_width)
    probabilistic = ModelConfig(name="probabilistic_resnet", width=g.probabilistic_width)
    width, layers, heads = g.transformer
    hero = ModelConfig(name="latent_transformer", width=width, blocks=layers, heads=heads)
    rollout, one_step = {"rollout_steps": 4}, {"rollout_steps": 1}
    nll = {**rollout, "loss": "gaussian_nll"}

    rows: list[CoreRow] = [
        ("rivals", "resnet_rollout", "ResNet-Rollout", resnet, rollout, None),
        ("rivals", "baseline_resnet", "Baseline ResNet (1 frame)", replace(resnet, context_frames=1), one_step, None),
        ("rivals", "unet_single", "U-Net (single)", unet, one_step, None),
        ("rivals", "rollout_unet", "Rollout U-Net", unet, rollout, None),
        ("rivals", "sharp_shooter", "Sharp-Shooter (U-Net, L1 + GDL)", unet, {**one_step, "gdl_weight": 1.0}, None),
        ("rivals", "probabilistic_plus", "Probabilistic Plus", probabilistic, nll, None),
        ("rivals", "hero", "Hero (latent transformer)", hero, rollout, None),
    ]
    rows += [
        (
            "context",
            f"k{k}",
            f"{k} context frame{'s' if k > 1 else ''}",
            replace(resnet, context_frames=k),
            rollout,
            None,
        )
        for k in (1, 2, 4, 8)
    ]
    rows += [("rollout", f"r{r}", f"rollout {r}", resnet, {"rollout_steps": r}, None) for r in (1, 2, 4, 8)]
    rows += [
        ("teacher_forcing", "rollout", "teacher-less rollout", resnet, rollout, None),
        ("teacher_forcing", "forced", "teacher forcing", resnet, {**rollout, "teacher_forcing": True}, None),
        ("motion", "w10_t0.1", "weight 10, threshold 0.1 (the paper's)", resnet, rollout, None),
        ("motion", "w1", "weight 1 (plain L1)", resnet, {**rollout, "motion_weight": 1.0}, None),
        ("motion", "w10_t0.3", "weight 10, threshold 0.3", resnet, {**rollout, "motion_threshold": 0.3}, None),
        # against the rivals' ResNet-Rollout, which computes in the machine's best precision
        ("precision", "float32", "ResNet-Rollout in float32", resnet, {**rollout, "bf16": False}, None),
    ]
    rows += [
        ("width_resnet", f"w{w}", f"ResNet-Rollout width {w}", replace(resnet, width=w), rollout, None)
        for w in g.resnet_widths
    ]
    rows += [
        ("width_unet", f"w{w}", f"Rollout U-Net width {w}", replace(unet, width=w), rollout, None)
        for w in g.unet_widths
    ]
    for name, label, model, train in (
        ("resnet_rollout", "ResNet-Rollout", resnet, rollout),
        ("probabilistic_plus", "Probabilistic Plus", probabilistic, nll),
    ):
        rows += [
            ("protocol", f"{name}_paper", f"{label}, the paper's protocol", model, train, {"protocol": "paper"}),
            ("protocol", f"{name}_held_out", f"{label}, held-out trajectories", model, train, None),
        ]
    rows += [
        ("trajectories", "single", "one training trajectory", resnet, rollout, {"train_episodes": 1}),
        ("trajectories", "all", "all training trajectories", resnet, rollout, None),
    ]
    change = replace(resnet, name="change_resnet")  # ours, not the paper's
    rows += [
        ("predict_change", "next_one_step", "predicts the next frame, one-step", resnet, one_step, None),
        ("predict_change", "next_rollout", "predicts the next frame, 4-step rollout", resnet, rollout, None),
        ("predict_change", "change_one_step", "predicts the change, one-step", change, one_step, None),
        ("predict_change", "change_rollout", "predicts the change, 4-step rollout", change, rollout, None),
    ]
    return rows


def _curve_rows(g: GridConfig) -> list[tuple[CoreRow, tuple[int, ...]]]:
    """The learning curve in the main world, with the seeds of each row: the recipe, the same network
    one step ahead, and predicting the change (4-step rollout), at each of `curve_steps` (their first
    point is the grid's own budget: the rivals' and predict-change rows). The longest budget trains the
    recipe with every seed and the other two with the first, to fit the CPU's time."""
    resnet = ModelConfig()
    trainings = (
        ("recipe", "the recipe (R = 4)", resnet, {"rollout_steps": 4}),
        ("one_step", "one step ahead (R = 1)", resnet, {"rollout_steps": 1}),
        ("change_rollout", "predicts the change (R = 4)", replace(resnet, name="change_resnet"), {"rollout_steps": 4}),
    )
    rows = []
    for steps in g.curve_steps:
        for name, label, model, train in trainings:
            seeds = g.seeds if name == "recipe" or steps < max(g.curve_steps) else g.seeds[:1]
            row = ("curve", f"{name}_s{steps}", f"{label}, {steps:,} steps", model, {**train, "steps": steps}, None)
            rows.append((row, seeds))
    return rows


CLAIM_GROUPS = (
    "rivals",
    "teacher_forcing",
    "motion",
    "context",
    "width_resnet",
    "width_unet",
    "predict_change",
    "rollout",
    "protocol",
    "trajectories",
)
"""The groups of rows the audit's claims depend on, in the order they train again at the chosen budget
(`GridConfig.claim_steps`): the rivals first, as most claims compare them."""


def _claim_rows(g: GridConfig) -> list[CoreRow]:
    """`_rows` of the claim groups at the chosen budget, in `CLAIM_GROUPS` order (Hero, the slowest to
    train, last of the rivals)."""
    rows = sorted(
        (row for row in _rows(g) if row[0] in CLAIM_GROUPS),
        key=lambda row: (CLAIM_GROUPS.index(row[0]), row[:2] == ("rivals", "hero")),
    )
    return [(*row[:4], {**row[4], "steps": g.claim_steps}, row[5]) for row in rows]


def grid_runs(preset: Preset) -> list[GridRun]:
    """Every run of the preset's grid (rows x seeds); identical configs share their cached stages."""
    g = preset.grid
    base = replace(preset.experiments[-1].train, steps=g.steps, lr=g.lr, eval_every=max(1, min(100, g.steps)))
    runs = []
    # the learning curve, the claim rows at its chosen budget, then the map and the paper's protocol:
    # the long grid's order of priority
    rows = [((*row, None), seeds, None) for row, seeds in _curve_rows(g)]
    if g.claim_steps is not None:
        rows += [((*row, None), g.seeds, g.claim_steps) for row in _claim_rows(g)]
    rows += [(row, g.seeds, None) for row in _map_rows(g, preset.world) + [(*row, None) for row in _rows(g)]]
    for (group, variant, label, model, train, data, world), seeds, claim_steps in rows:
        data_cfg = None if data is None else replace(preset.data, **data)
        world_cfg = None if world is None else replace(preset.world, **world)
        if world_cfg == preset.world:
            world_cfg = None  # the main world's condition shares the rivals' runs
        for seed in seeds:
            train_cfg = replace(base, seed=seed, **train)
            train_cfg = replace(train_cfg, eval_every=max(1, min(100, train_cfg.steps)))
            exp = Experiment(f"{group}_{variant}", label, model, train_cfg, data_cfg, world_cfg)
            runs.append(GridRun(group, variant, seed, exp, claim_steps))
    return runs


def at_grid_budget(records: list[dict]) -> list[dict]:
    """The records of runs at the grid's own budget (the claim rows trained again are left out)."""
    return [r for r in records if r.get("claim_steps") is None]


def claim_records(preset: Preset, records: list[dict]) -> tuple[list[dict], int]:
    """The records the claims are judged on, and the budget of their claim rows: the claim rows trained
    again at `GridConfig.claim_steps` once every one of them has landed (standing in for the same rows
    at the grid's budget), else the grid's own rows; the other groups (the learning curve, the map)
    either way."""
    g, own = preset.grid, at_grid_budget(records)
    again = [r for r in records if r.get("claim_steps") is not None]
    wanted = sum(r.claim_steps is not None for r in grid_runs(preset))
    if g.claim_steps is None or len(again) < wanted:
        return own, g.steps
    return [r for r in own if r["group"] not in CLAIM_GROUPS] + again, g.claim_steps


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


def find_run(preset: Preset, run_id: str) -> GridRun:
    """The grid run called `run_id` (ids as `lucid-dreamer grid --list` prints them)."""
    for run in grid_runs(preset):
        if run.id == run_id:
            return run
    raise UserError(f"no grid run is called {run_id!r}; `lucid-dreamer grid --list` shows them")


def _configs(preset: Preset, run: GridRun) -> dict:
    exp = run.experiment
    configs = {
        "model": asdict(exp.model),
        "train": asdict(exp.train),
        "data": asdict(exp.data or preset.data),
        "world": asdict(exp.world or preset.world),
    }
    if exp.world is not None:  # the tokenizer's world, where it is another
        configs["tokenizer_world"] = asdict(preset.tokenizer_world or preset.world)
    return json.loads(json.dumps(configs))


def _identity(configs: dict) -> dict:
    """What makes a record the result of a run: its configs, with the precision setting `auto` and
    `True` counted as one. Records made before `auto` existed forced bf16, which is what `auto`
    computes on machines like theirs; each record names the precision it used (`record_precision`),
    and a run forced to float32 stays a run of its own."""
    bf16 = configs["train"]["bf16"]
    return {**configs, "train": {**configs["train"], "bf16": "auto" if bf16 in (True, "auto") else bf16}}


def trusted(record: dict, committed: bool = True) -> bool:
    """Whether a record's numbers can stand: made by today's trackers and, for the records the book
    commits (every preset's but smoke's, which CI makes afresh), by a clean commit. A record from a
    dirty tree or an older analysis is run again, never trusted."""
    commit = record["provenance"]["commit"]
    clean = commit != "unknown" and not commit.endswith("+dirty")
    return (clean or not committed) and record["metrics"].get("tracker_version") == TRACKER_VERSION


def _matches(record: dict, preset: Preset, run: GridRun) -> bool:
    committed = preset.name != "smoke"
    return trusted(record, committed) and _identity(record["configs"]) == _identity(_configs(preset, run))


def record_precision(record: dict) -> str:
    """The precision a run computed in (records older than the `auto` setting name only their setting)."""
    if "precision" in record["train"]:
        return record["train"]["precision"]["precision"]
    return precision_name(record["configs"]["train"]["bf16"] is True)


def precision_counts(records: list[dict]) -> dict[str, int]:
    """How many records computed in each precision."""
    return dict(Counter(record_precision(r) for r in records))


def is_done(preset: Preset, run: GridRun) -> bool:
    path = paths.grid_records_dir(preset) / f"{run.id}.json"
    try:
        return _matches(json.loads(path.read_text()), preset, run)
    except (OSError, ValueError, KeyError):
        return False


def _twin(preset: Preset, run: GridRun) -> dict | None:
    """A committed record of another run with `run`'s very configs (a claim row at the budget of a
    learning-curve point, say), made by today's trackers at a clean commit; None if there is none."""
    for path in sorted(paths.grid_records_dir(preset).glob("*.json")):
        record = json.loads(path.read_text())
        if record["id"] != run.id and _matches(record, preset, run):
            return record
    return None


def run_one(preset: Preset, run: GridRun, progress: bool = False) -> dict:
    """Train, dream and score one run; write and return its record. A run whose very configs another
    committed record holds is that run: its record and dreams are taken over, naming it (`twin_of`),
    without training again (the same configs, seed and data give the same run)."""
    twin = _twin(preset, run)
    if twin is not None:
        record = {
            **twin,
            **{"id": run.id, "group": run.group, "variant": run.variant, "label": run.experiment.label},
            **{"claim_steps": run.claim_steps, "twin_of": twin["id"]},
        }
        dream = json.loads(paths.tracks_path(preset, twin["id"]).read_text())
        with atomic_write(paths.tracks_path(preset, run.id)) as tmp:
            tmp.write_text(json.dumps(dream, separators=(",", ":")))
        with atomic_write(paths.grid_records_dir(preset) / f"{run.id}.json") as tmp:
            tmp.write_text(json.dumps(record, indent=1, default=float) + "\n")
        return record
    start, made_by = time.perf_counter(), provenance("lucid-dreamer grid", preset.name)
    exp, world = run.experiment, stages.with_data(preset, run.experiment)
    trained = stages.train_stage(preset, exp, progress)
    summary = json.loads((trained / "summary.json").read_text())
    dreamed = stages.dream_stage(preset, exp, progress)
    metrics = json.loads((dreamed / "metrics.json").read_text())
    references = json.loads((stages.references_stage(world, exp.model.context_frames) / "metrics.json").read_text())
    record = {
        "id": run.id,
        "group": run.group,
        "variant": run.variant,
        "seed": run.seed,
        "label": exp.label,
        "claim_steps": run.claim_steps,
        "parameters": count_parameters(build_model(exp.model)),
        "train": summary,
        "val_curve": _val_curve(trained / "log.jsonl"),
        "metrics": metrics,
        "references": {name: _headline(report) for name, report in references.items()},
        "conditions": stages.load_conditions(world),
        "seconds": time.perf_counter() - start,
        "configs": _configs(preset, run),
        "provenance": _still(made_by),
    }
    dream_tracks = {name.split("/")[1]: xy for name, xy in load_numpy(dreamed / "tracks.safetensors").items()}
    truth = f"truth__{cache.config_hash(*stages.data_key(world))}__k{exp.model.context_frames}"
    # shared by every run of this world and context; rewritten by each, so it is always this tracker's
    # every run of a world writes its true tracks, and grid workers may do so at the same moment
    _write_tracks(
        paths.tracks_path(preset, truth), stages.load_truth_tracks(world, exp.model.context_frames), shared=True
    )
    _write_tracks(paths.tracks_path(preset, run.id), dream_tracks, truth=truth)
    with atomic_write(paths.grid_records_dir(preset) / f"{run.id}.json") as tmp:
        tmp.write_text(json.dumps(record, indent=1, default=float) + "\n")
    return record


def _val_curve(log: Path) -> list[list[float]]:
    """[step, validation loss] at each validation of a training's log (the last entry of a step a
    resumed training logged twice); empty where the training came without its log (shipped weights)."""
    if not log.exists():
        return []
    losses = {}
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if "val_loss" in entry:
            losses[entry["step"]] = entry["val_loss"]
    return [[step, loss] for step, loss in sorted(losses.items())]


def _still(made_by: dict) -> dict:
    """The provenance taken when a run started, marked dirty if the code changed while it ran (its
    numbers then belong to no one commit)."""
    now = provenance(made_by["notebook"], made_by["preset"])["commit"]
    return made_by if now == made_by["commit"] else {**made_by, "commit": made_by["commit"] + "+dirty"}


CHAPTER_8_GROUPS = ("map", "one_trajectory")
"""The grid's groups that chapter 8 renders (the conditions map and the paper's own protocol); the
others are the comparison of chapter 7, in the preset's own world."""


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


def world_contexts(preset: Preset) -> dict[str, tuple[Preset, int]]:
    """Every world and context size the grid's runs dream in: truth-file name
    (`truth__<data hash>__k<K>`) -> (the preset of that world, K)."""
    out = {}
    for run in grid_runs(preset):
        world, k = stages.with_data(preset, run.experiment), run.experiment.model.context_frames
        out.setdefault(f"truth__{cache.config_hash(*stages.data_key(world))}__k{k}", (world, k))
    return out


def references_name(truth: str) -> str:
    """The reference tracks' name beside a truth file's: `references__<data hash>__k<K>`."""
    return "references__" + truth.removeprefix("truth__")


def write_reference_tracks(preset: Preset, progress: bool = True) -> list[str]:
    """The reference points' tracks (`references.REFERENCES`, both trackers) of every world and context that
    has committed true tracks, from the references stage, beside them as `references__<data hash>__k<K>.json`:
    any record can then be scored against them at every horizon without running anything. Checks that the
    stage's true tracks are the committed ones (the same episodes and tracker). Returns the names written."""
    written = []
    todo = [(truth, w) for truth, w in world_contexts(preset).items() if paths.tracks_path(preset, truth).exists()]
    for truth, (world, k) in tqdm(todo, desc="references", unit="world", disable=not progress):
        tracks = stages.load_reference_tracks(world, k, progress=False)
        committed = json.loads(paths.tracks_path(preset, truth).read_text())
        for tracker in ("cube", "paper"):
            mine = np.round(tracks["truth"][tracker], 1)
            theirs = np.asarray(committed[tracker], dtype=float)
            if mine.shape != theirs.shape or not np.allclose(mine, theirs, atol=0.11, equal_nan=True):
                raise UserError(
                    f"the references stage's true tracks differ from the committed {truth}.json ({tracker})"
                )
        flat = {f"{name}/{tracker}": xy for name in REFERENCES for tracker, xy in tracks[name].items()}
        _write_tracks(
            paths.tracks_path(preset, references_name(truth)), flat, truth=truth, references_version=REFERENCES_VERSION
        )
        written.append(references_name(truth))
    return written


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


def trivial_of(row: dict) -> dict[str, np.ndarray]:
    """The trivial predictors' (`references.TRIVIAL`) `horizon_sums` of a `horizon_table` row."""
    return {name: row["references"][name] for name in TRIVIAL}


def _write_tracks(path: Path, tracks: dict, shared: bool = False, **extra) -> None:
    rounded = {
        name: [[[None if v != v else round(float(v), 1) for v in p] for p in frames] for frames in xy]
        for name, xy in tracks.items()
    }
    with atomic_write(path, shared=shared) as tmp:
        tmp.write_text(json.dumps({"tracker_version": TRACKER_VERSION, **extra, **rounded}, separators=(",", ":")))


def _headline(report: dict) -> dict:
    """The pooled and within-horizon metrics of a `score` report (ours, and the paper's tracker's)."""
    keep = ("pooled", "within", "detected_at_end")
    return {**{k: report[k] for k in keep}, "paper": {k: report["paper"][k] for k in keep}}


def run_pending(preset: Preset, run: GridRun, progress: bool = False) -> bool:
    """Run `run` unless it is done, holding its lock: one process at a time writes the run's
    checkpoints and record, and `grid --list` shows it running. Returns whether it ran."""
    path = paths.run_lock_path(preset, run.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path, fallback_to_soft=False):  # an OS lock, as in cache.cached: it dies with its holder
        if is_done(preset, run):
            return False  # another process finished it while this one waited
        run_one(preset, run, progress)
        return True


def select_runs(preset: Preset, only: str | None = None) -> list[GridRun]:
    """The unfinished runs whose id contains `only`."""
    if only is not None and not any(only in r.id for r in grid_runs(preset)):
        raise UserError(f"no grid run matches {only!r}; `lucid-dreamer grid --list` shows them")
    return [r for r in grid_runs(preset) if (only is None or only in r.id) and not is_done(preset, r)]


def run_grid(preset: Preset, only: str | None = None, limit: int | None = None, progress: bool = True) -> list[str]:
    """Run every unfinished run (whose id contains `only`), at most `limit` of them, in this process;
    returns their ids."""
    todo = select_runs(preset, only)[:limit]
    for run in tqdm(todo, desc="grid", unit="run", disable=not progress):
        run_pending(preset, run)
    return [r.id for r in todo]


def load_records(preset: Preset) -> list[dict]:
    """The finished runs' records (files written for other configurations, or not trusted, are left out)."""
    runs = {r.id: r for r in grid_runs(preset)}
    records = []
    for path in sorted(paths.grid_records_dir(preset).glob("*.json")):
        record = json.loads(path.read_text())
        if record["id"] in runs and _matches(record, preset, runs[record["id"]]):
            records.append(record)
    return records


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
