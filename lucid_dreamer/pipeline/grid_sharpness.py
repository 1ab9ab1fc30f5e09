"""Whether the grid's dreams blur: the sharpness of a run's dreamed frames around the true cube, per test
episode, against the tokenizer's own reconstruction of the same frames (`stages.dream_sharpness_stage`).

The grid's records keep tracks, not frames, so this is a step of its own (`lucid-dreamer grid
--sharpness`): for the rows a claim about blur names (`SHARPNESS_ROWS`), it reads each finished run's
dreams from the cache (where the cache lacks them, the run is trained and dreamed again, and its best
validation loss must come within `RETRAINED_TOLERANCE` of its record's) and writes
`figures/data/grid/<preset>/sharpness/<run>.json` beside the record, with the run's configs, the
tracker's version and provenance; a file counts only as a record does (`grid_runner.trusted`).
`sharpness_cells` turns them into the audit's cells.
"""

from __future__ import annotations

import json

import numpy as np
from tqdm.auto import tqdm

from ..method.analyze import mean_interval
from ..method.atomic import atomic_write
from ..method.errors import UserError
from ..method.track import TRACKER_VERSION
from . import paths, stages
from .grid import GridRun, grid_runs
from .grid_runner import load_records, run_configs, run_identity, trusted
from .presets import Preset
from .provenance import provenance

SHARPNESS_ROWS = (("rivals", "rollout_unet"), ("rivals", "resnet_rollout"))
"""(group, variant) of the rows whose dreams' sharpness is measured: the Rollout U-Net the report calls
blurry, and ResNet-Rollout beside it."""


def write_dream_sharpness(preset: Preset, only: str | None = None, progress: bool = True) -> list[str]:
    """The sharpness file of every finished run of `SHARPNESS_ROWS` (whose id contains `only`) that has
    none for its configs yet; returns the runs' ids."""
    runs = [r for r in grid_runs(preset) if (r.group, r.variant) in SHARPNESS_ROWS and (only is None or only in r.id)]
    if not runs:
        raise UserError(f"no run of the Rollout U-Net or ResNet-Rollout matches {only!r}; `lucid-dreamer grid --list`")
    done = {r["id"]: r for r in load_records(preset)}
    todo = [run for run in runs if run.id in done and _load(preset, run.id, run_configs(preset, run)) is None]
    for run in tqdm(todo, desc="sharpness", unit="run", disable=not progress):
        made_by = provenance("lucid-dreamer grid --sharpness", preset.name)
        best_val_loss = _check_model(preset, run, done[run.id])
        stage = stages.dream_sharpness_stage(preset, run.experiment, progress=False)
        measured = json.loads((stage / "metrics.json").read_text())
        metrics = {name: [None if v != v else v for v in measured[name]] for name in ("dream", "reference")}
        metrics |= {"best_val_loss": best_val_loss, "tracker_version": TRACKER_VERSION}
        record = {"id": run.id, "metrics": metrics, "configs": run_configs(preset, run), "provenance": made_by}
        path = paths.sharpness_path(preset, run.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as tmp:
            tmp.write_text(json.dumps(record, indent=1) + "\n")
    return [run.id for run in todo]


RETRAINED_TOLERANCE = 0.01
"""How far (a share) the best validation loss of a run trained again may lie from its record's: CPU
training here is not repeatable bit for bit (the runs trained again landed within about 0.1% of their
records' losses), so a cache made afresh holds a model of the same configs and seed, not the record's
very model."""


def _check_model(preset: Preset, run: GridRun, record: dict) -> float:
    """The best validation loss of the model whose dreams are measured: the record's, or that of the
    same configs and seed trained again, which must reach the record's within `RETRAINED_TOLERANCE`."""
    trained = json.loads((stages.train_stage(preset, run.experiment, progress=False) / "summary.json").read_text())
    mine, theirs = trained["best_val_loss"], record["train"]["best_val_loss"]
    if abs(mine - theirs) > RETRAINED_TOLERANCE * theirs:
        raise UserError(
            f"{run.id} trained again is another model (best validation loss {mine:.6g}, its record's "
            f"{theirs:.6g}, more than {RETRAINED_TOLERANCE:.0%} apart): its dreams would not stand for the record's"
        )
    return mine


def _load(preset: Preset, run_id: str, configs: dict) -> dict | None:
    """A run's sharpness file, if it was measured for these configs and counts as a record would."""
    path = paths.sharpness_path(preset, run_id)
    if not path.exists():
        return None
    found = json.loads(path.read_text())
    same = run_identity(found["configs"]) == run_identity(configs)
    return found if same and trusted(found, committed=preset.name != "smoke") else None


def sharpness_cells(preset: Preset, records: list[dict]) -> dict[tuple[str, str], dict]:
    """(group, variant) -> the `summarize` cell of its dreams' sharpness over the tokenizer's, for the
    rows whose every record has a sharpness file: the mean over seeds of the ratio of the episodes'
    summed sharpness, with a 95% interval that resamples the seeds and, within each, the episodes
    (the same draws for the dream and the reconstruction). Rows without every file are left out."""
    by_row: dict[tuple[str, str], list[np.ndarray]] = {}
    missing = set()
    for r in records:
        key = (r["group"], r["variant"])
        if key not in SHARPNESS_ROWS:
            continue
        found = _load(preset, r["id"], r["configs"])
        if found is None:
            missing.add(key)
            continue
        pairs = np.array([found["metrics"]["dream"], found["metrics"]["reference"]], dtype=float).T
        found_cube = pairs[~np.isnan(pairs).any(axis=1)]  # the episodes in which the true cube is found
        if not len(found_cube):
            missing.add(key)
            continue
        by_row.setdefault(key, []).append(found_cube)

    def ratio(sums):
        return sums[..., 0] / sums[..., 1]

    cells = {}
    for key, per_seed in by_row.items():
        if key in missing:
            continue
        mean, low, high = mean_interval(per_seed, ratio)
        cells[key] = {"mean": mean, "low": low, "high": high, "values": [float(ratio(s.sum(0))) for s in per_seed]}
    return cells
