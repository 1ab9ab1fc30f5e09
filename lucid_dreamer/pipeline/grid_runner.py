"""Running the grid: one run at a time (`run_one`, under its lock: `run_pending`), its record beside its
tracks (`paths.grid_records_dir`, `paths.tracks_path`), and the records read back (`load_records`).

A run is done when its record is there and was made by the same configs and code (`is_done`); a run whose
twin (the same training at another grid row) is done reuses its dreams.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from filelock import FileLock
from safetensors.numpy import load_file as load_numpy
from tqdm.auto import tqdm

from ..method.atomic import atomic_write
from ..method.errors import UserError
from ..method.models import build_model, count_parameters
from ..method.precision import name as precision_name
from ..method.references import REFERENCES, REFERENCES_VERSION
from ..method.track import TRACKER_VERSION
from . import cache, paths, stages
from .grid import GridRun, grid_runs
from .presets import Preset
from .provenance import package_hash_at, provenance


def run_configs(preset: Preset, run: GridRun) -> dict:
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


def run_identity(configs: dict) -> dict:
    """What makes a record the result of a run: its configs, with the precision setting `auto` and
    `True` counted as one. Records made before `auto` existed forced bf16, which is what `auto`
    computes on machines like theirs; each record names the precision it used (`record_precision`),
    and a run forced to float32 stays a run of its own."""
    bf16 = configs["train"]["bf16"]
    return {**configs, "train": {**configs["train"], "bf16": "auto" if bf16 in (True, "auto") else bf16}}


def trusted(record: dict, committed: bool = True) -> bool:
    """Whether a record's numbers can stand: made by today's trackers and, for the records the book
    commits (every preset's but smoke's, which CI makes afresh), by a commit's package: a clean tree, or
    one whose dirt lay outside the package (its package hash is the commit's, as the record says it read
    with git when it was written, or git says now). A record from a changed package or an older analysis
    is run again, never trusted. (Records written before `_still` checked the package kept their starting
    package hash even if it changed mid-run; a run imports its modules when it starts.)"""
    made_by = record["provenance"]
    commit = made_by["commit"]
    base = commit.removesuffix("+dirty")
    package = made_by.get("package")
    commits_package = made_by.get("commit_package") or (package is not None and package_hash_at(base))
    clean = commit != "unknown" and (base == commit or (package is not None and package == commits_package))
    return (clean or not committed) and record["metrics"].get("tracker_version") == TRACKER_VERSION


def _matches(record: dict, preset: Preset, run: GridRun) -> bool:
    committed = preset.name != "smoke"
    return trusted(record, committed) and run_identity(record["configs"]) == run_identity(run_configs(preset, run))


def record_precision(record: dict) -> str:
    """The precision a run computed in (records older than the `auto` setting name only their setting)."""
    if "precision" in record["train"]:
        return record["train"]["precision"]["precision"]
    return precision_name(record["configs"]["train"]["bf16"] is True)


def is_done(preset: Preset, run: GridRun) -> bool:
    path = paths.grid_records_dir(preset) / f"{run.id}.json"
    try:
        return _matches(json.loads(path.read_text()), preset, run)
    except (OSError, ValueError, KeyError):
        return False


def _twin(preset: Preset, run: GridRun) -> dict | None:
    """A committed record of another run with `run`'s very configs (a claim row at the budget of a
    learning-curve point, say), made by today's trackers and a commit's package (`trusted`); None if there is none."""
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
        "configs": run_configs(preset, run),
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
    """The provenance taken when a run started, marked dirty if the tree changed while it ran, with the
    package of the commit it names (`commit_package`, so that trusting it needs no git later); if the
    package itself changed, it names no package hash (its numbers then belong to no one commit)."""
    now = provenance(made_by["notebook"], made_by["preset"])
    unchanged = now["commit"] == made_by["commit"] and now["package"] == made_by["package"]
    if unchanged and not made_by["commit"].endswith("+dirty"):
        return made_by
    base = made_by["commit"].removesuffix("+dirty")
    moved = {**made_by, "commit": base + "+dirty"}
    if now["package"] != made_by["package"]:
        del moved["package"]
    elif (commits_package := package_hash_at(base)) is not None:
        moved["commit_package"] = commits_package
    return moved


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


def write_reference_tracks(preset: Preset, progress: bool = True, missing_only: bool = False) -> list[str]:
    """The reference points' tracks (`references.REFERENCES`, both trackers) of every world and context that
    has committed true tracks (`missing_only`: of those that have none beside them yet), from the references
    stage, beside them as `references__<data hash>__k<K>.json`: any record can then be scored against them at
    every horizon without running anything. Checks that the stage's true tracks are the committed ones (the
    same episodes and tracker). Returns the names written."""
    written = []
    todo = [
        (truth, w)
        for truth, w in world_contexts(preset).items()
        if paths.tracks_path(preset, truth).exists()
        and not (missing_only and paths.tracks_path(preset, references_name(truth)).exists())
    ]
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


def run_grid(preset: Preset, only: str | None = None, limit: int | None = None, progress: bool = True) -> list[str]:
    """Run every unfinished run (whose id contains `only`), at most `limit` of them, in this process, then
    the reference tracks of any world that has none yet; returns the runs' ids."""
    todo = select_runs(preset, only)[:limit]
    for run in tqdm(todo, desc="grid", unit="run", disable=not progress):
        run_pending(preset, run)
    write_reference_tracks(preset, progress=False, missing_only=True)  # the book scores every record against them
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


def select_runs(preset: Preset, only: str | None = None) -> list[GridRun]:
    """The unfinished runs whose id contains `only`."""
    if only is not None and not any(only in r.id for r in grid_runs(preset)):
        raise UserError(f"no grid run matches {only!r}; `lucid-dreamer grid --list` shows them")
    return [r for r in grid_runs(preset) if (only is None or only in r.id) and not is_done(preset, r)]
