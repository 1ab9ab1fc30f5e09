"""The grid: the conditions map, the paper's rivals and our ablations, every row with several seeds.

This module says what the grid's runs are (`grid_runs`, `find_run`). A run is a train stage and a dream
stage (cached and resumable, like the book's); `grid_runner` runs it and writes its record (metrics,
configs, provenance) to `figures/data/grid/<preset>/<run>.json` (`paths.grid_records_dir`), so the grid
can be filled over several sittings, or on a GPU, and the book renders from the committed files;
`grid_summaries` reads the records back. Runs execute here one after another, or in parallel as jobs
(`executors`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..method.conditions import condition
from ..method.errors import UserError
from ..method.models import ModelConfig
from ..method.recipe import PAPER_FRAMES
from ..method.train import TrainConfig
from ..method.world import WorldConfig
from .presets import Experiment, GridConfig, Preset


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
    """Where this run trains a claim row or a cell of the conditions map again at the budget the learning
    curve chose (`GridConfig.claim_steps`, which its id names); None: a run at the grid's own budget."""

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


CHAPTER_8_GROUPS = ("map", "one_trajectory")
"""The grid's groups that chapter 8 renders (the conditions map and the paper's own protocol); the
others are the comparison of chapter 7, in the preset's own world."""


def _claim_rows(g: GridConfig) -> list[CoreRow]:
    """`_rows` of the claim groups at the chosen budget, in `CLAIM_GROUPS` order (Hero, the slowest to
    train, last of the rivals)."""
    rows = sorted(
        (row for row in _rows(g) if row[0] in CLAIM_GROUPS),
        key=lambda row: (CLAIM_GROUPS.index(row[0]), row[:2] == ("rivals", "hero")),
    )
    return [_at(row, g.claim_steps) for row in rows]


def _at(row: tuple, steps: int) -> tuple:
    """A row (`Row` or `CoreRow`) trained for `steps`."""
    return (*row[:4], {**row[4], "steps": steps}, *row[5:])


MAP_GROUPS = ("map",)
"""The conditions map's group: trained again at the chosen budget after the claim rows."""

AGAIN_GROUPS = (*CLAIM_GROUPS, *MAP_GROUPS)
"""The groups trained again at the chosen budget: the claim rows, then the conditions map. Each set
stands in for its rows at the grid's budget only once every one of its runs has landed."""


def grid_runs(preset: Preset) -> list[GridRun]:
    """Every run of the preset's grid (rows x seeds); identical configs share their cached stages."""
    g = preset.grid
    base = replace(preset.experiments[-1].train, steps=g.steps, lr=g.lr, eval_every=max(1, min(100, g.steps)))
    runs = []
    # the learning curve, the claim rows and the map at its chosen budget, then the map, the paper's
    # protocol and the claim rows at the grid's budget: the long grid's order of priority
    map_rows = _map_rows(g, preset.world)
    rows = [((*row, None), seeds, None) for row, seeds in _curve_rows(g)]
    if g.claim_steps is not None:
        rows += [((*row, None), g.seeds, g.claim_steps) for row in _claim_rows(g)]
        rows += [(_at(row, g.claim_steps), g.seeds, g.claim_steps) for row in map_rows if row[0] in MAP_GROUPS]
    rows += [(row, g.seeds, None) for row in map_rows + [(*row, None) for row in _rows(g)]]
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


def runs_again(preset: Preset, groups: tuple[str, ...]) -> list[GridRun]:
    """The runs of `groups` that train again at the chosen budget (`GridConfig.claim_steps`)."""
    return [r for r in grid_runs(preset) if r.claim_steps is not None and r.group in groups]


def find_run(preset: Preset, run_id: str) -> GridRun:
    """The grid run called `run_id` (ids as `lucid-dreamer grid --list` prints them)."""
    for run in grid_runs(preset):
        if run.id == run_id:
            return run
    raise UserError(f"no grid run is called {run_id!r}; `lucid-dreamer grid --list` shows them")
