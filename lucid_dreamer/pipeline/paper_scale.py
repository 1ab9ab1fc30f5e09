"""`lucid-dreamer paper-scale`: the `paper` preset's world and recipe on one CUDA GPU, in one command that
fits one short slice of GPU time, with its records in one small folder.

The stages, in order of value, each the pipeline's own (`stages`, `bench`):

1. `world`: the paper-scale world (512 px, 101-frame episodes; MuJoCo renders through EGL);
2. `tokenizer`: its tokenizer, the latents (16 x 64 x 64) and the world's conditions;
3. `paper_settings`: ResNet-Rollout at the paper's settings (1,500 steps, lr 1e-4, batch 32), its dreams of
   the held-out test episodes tracked by both trackers, and the reference points (copy-last, constant
   velocity, the tokenizer's floor);
4. `tuned`: the same network at our tuned settings (lr 1e-3), dreamed and tracked the same way;
5. `one_trajectory`: the paper's protocol (one trajectory, trained on and dreamed back) at the paper's settings;
6. `figures`: a few small figures of the above;
7. `bench`: the paper's implementation against ours (bf16, channels-last, torch.compile): training and
   dreaming throughput at 64 x 64 latents.

A stage starts only while the time budget lasts (`--budget`, 480 s by default: 8 of the 10 minutes a
command may take there); a stage that did not start is recorded as not run, never as a number. After each
stage `paper_scale.json` is rewritten, so a run killed part way keeps what finished. The command's default
sizes (`GPU`) are cut from the `paper` preset's to fit that budget on an H100/H200-class GPU by the estimate
of `paper_estimate` (the book's paper-scale page); `--dry-run` runs every stage at `DRY_RUN` sizes on the CPU.

This module imports only the standard library at the top, so `--check` can say what is missing first.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import offline
from .paths import PAPER_SCALE_ESTIMATE

RECORD = "paper_scale.json"
"""The records' file in the output folder: provenance, sizes, and each stage's status and results."""
FIGURES = ("dreams.png", "error_by_horizon.png", "training.png")
"""The figures' files in the output folder (small PNGs)."""


@dataclass(frozen=True)
class Sizes:
    """How much of the `paper` preset one run does (the rest of its settings are the preset's)."""

    episodes: int = 64
    frames: int = 101
    """Frames per episode (the paper's video has 101)."""
    resolution: int = 512
    val_episodes: int = 8
    test_episodes: int = 16
    tokenizer_steps: int = 1000
    """The preset's 6,000 are cut to 1,000 to fit the budget (the estimate)."""
    train_steps: int = 1500
    """The paper's budget, kept."""
    batch_size: int = 32
    bench: dict = field(
        default_factory=lambda: {
            "latent_sizes": (64,),
            "batch_size": {64: 32},
            "timed_steps": 5,
            "repeats": 3,
            "dream_episodes": 16,
            "dream_horizon": 97,
            "quality_steps": 20,
        }
    )
    """`bench.BenchConfig` fields."""


GPU = Sizes()
"""The command's sizes on the GPU: the paper's resolution, frames, model and training settings, with 64
episodes (16 held out for testing) and a 1,000-step tokenizer (the preset's 6,000 do not fit 8 minutes)."""
DRY_RUN = Sizes(
    episodes=5,
    frames=12,
    resolution=128,
    val_episodes=1,
    test_episodes=1,
    tokenizer_steps=5,
    train_steps=3,
    batch_size=4,
    bench={
        "latent_sizes": (16,),
        "batch_size": {16: 4},
        "timed_steps": 1,
        "repeats": 1,
        "dream_episodes": 2,
        "dream_horizon": 4,
        "quality_steps": 1,
    },
)
"""Every stage on the CPU in about a minute or two: 128 px frames, 5 episodes of 12 frames, a few steps."""


def check(need_gpu: bool = True, wheels: Path | None = None) -> list[str]:
    """One line per thing the run lacks (an empty list: ready). With `wheels`, missing packages are first
    installed from that folder (`offline.install`), and only what is still missing is reported."""
    lacking = offline.missing()
    if lacking and wheels is not None and wheels.is_dir():
        offline.install(lacking, wheels)
        lacking = offline.missing()
    where = wheels or offline.WHEELS_DIR
    lines = [
        f"missing: {p.distribution}=={p.version} (import {p.module}); `make wheels` gathers it into {where}/, "
        f"`--install-wheels {where}` installs it"
        for p in lacking
    ]
    if importlib_missing("torch"):
        lines.append("missing: torch (the GPU machine's own; not gathered)")
    elif need_gpu:
        import torch

        if not torch.cuda.is_available():
            lines.append("missing: a CUDA GPU (torch sees none); `--dry-run` runs every stage on the CPU")
    return lines


def importlib_missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


# --- The preset at the run's sizes ----------------------------------------------------------------


def preset(sizes: Sizes):
    """The `paper` preset with the run's sizes; its two experiments (the paper's settings, ours) keep
    their own settings but the run's step budget and batch."""
    from .presets import PRESETS

    paper = PRESETS["paper"]
    train = {"steps": sizes.train_steps, "batch_size": sizes.batch_size, "eval_every": min(100, sizes.train_steps)}
    return replace(
        paper,
        world=replace(
            paper.world, episodes=sizes.episodes, frames_per_episode=sizes.frames, resolution=sizes.resolution
        ),
        tokenizer=replace(
            paper.tokenizer, steps=sizes.tokenizer_steps, crop=min(paper.tokenizer.crop, sizes.resolution)
        ),
        data=replace(paper.data, val_episodes=sizes.val_episodes, test_episodes=sizes.test_episodes),
        experiments=tuple(replace(e, train=replace(e.train, **train)) for e in paper.experiments),
    )


def one_trajectory(p):
    """The paper's protocol: one trajectory (episode 0) trained on, validated on and dreamed back, with
    the paper's settings (the preset's first experiment)."""
    from .presets import Experiment

    paper = p.experiments[0]
    return Experiment(
        "one_trajectory",
        "one trajectory, dreamed back (the paper's protocol and settings)",
        paper.model,
        paper.train,
        data=replace(p.data, protocol="paper"),
    )


# --- Stages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[], dict]
    """Does the stage's work; returns what its record holds."""
    needs: tuple[str, ...] = ()
    """Stages whose products it uses: it runs only after they are done (else it would build them itself)."""


def run_stages(
    stages: list[Stage],
    budget: float,
    write: Callable[[dict], None],
    clock=time.monotonic,
    expected: dict[str, float] | None = None,
) -> dict:
    """Run `stages` in order within `budget` seconds; every stage gets a record, written by `write(records)`
    after each stage, so what finished is on disk whatever happens next:

    - `done`, with its seconds and results;
    - `failed`, with its error (the stages that need it are then not run);
    - `not run`, with why: the budget is spent; or, with `expected` seconds per stage, its expected time
      (scaled by how the finished stages ran against theirs) would not fit in what is left; or a stage it
      needs is not done. A stage that started always finishes: the budget stops between stages.
    """
    start, records = clock(), {}
    spent, planned = 0.0, 0.0  # seconds of finished stages, and what `expected` gave them
    for stage in stages:
        elapsed, reason = clock() - start, None
        lacking = [need for need in stage.needs if records.get(need, {}).get("status") != "done"]
        if lacking:
            reason = f"it needs {', '.join(lacking)}, which did not finish"
        elif elapsed >= budget:
            reason = f"the time budget of {budget:.0f} s was spent ({elapsed:.0f} s elapsed before it)"
        elif expected and stage.name in expected:
            pace = max(0.25, spent / planned) if planned else 1.0
            need = expected[stage.name] * pace
            if elapsed + need > budget:
                reason = (
                    f"expected to take {need:.0f} s (the estimate x{pace:.2f}, the finished stages' pace), "
                    f"and {budget - elapsed:.0f} s of the budget of {budget:.0f} s were left"
                )
        if reason is not None:
            records[stage.name] = {"status": "not run", "reason": reason}
            continue
        began = clock()
        try:
            result = stage.run()
        except Exception as e:  # a GPU slice is rare: keep what finished, say what broke, go on where possible
            traceback.print_exc()
            records[stage.name] = {"status": "failed", "seconds": clock() - began, "error": f"{type(e).__name__}: {e}"}
        else:
            records[stage.name] = {"status": "done", "seconds": clock() - began, **result}
            if expected and stage.name in expected:
                spent, planned = spent + records[stage.name]["seconds"], planned + expected[stage.name]
        write(records)
    write(records)
    return records


def _trim(metrics: dict) -> dict:
    """A dream's or reference's metrics without the per-episode lists (the records stay small)."""
    keep = ("resolution", "pooled", "within", "by_horizon", "detected_at_end", "dream_seconds", "precision")
    out = {k: metrics[k] for k in keep if k in metrics}
    if "paper" in metrics:
        out["paper_tracker"] = {k: metrics["paper"][k] for k in ("pooled", "within") if k in metrics["paper"]}
    return out


def _json(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


class Run:
    """One paper-scale run: the stages over a preset at `sizes`, its records and figures in `out`."""

    def __init__(self, sizes: Sizes, out: Path, progress: bool = True, compile: bool = True):
        self.sizes, self.out, self.progress, self.compile = sizes, out, progress, compile
        self.preset = preset(sizes)
        self.dreams: dict[str, dict] = {}

    def world(self) -> dict:
        from . import stages

        report = _json(stages.simulate_stage(self.preset, self.progress), "report.json")
        w = self.preset.world
        return {"episodes": w.episodes, "frames": w.frames_per_episode, "resolution": w.resolution, **report}

    def tokenizer(self) -> dict:
        from . import stages

        report = _json(stages.tokenizer_stage(self.preset, self.progress), "report.json")
        latents, _ = stages.load_latents(self.preset, self.progress)
        conditions = stages.load_conditions(self.preset, self.progress)
        return {
            "steps": self.preset.tokenizer.steps,
            "latent_shape": list(latents.shape),
            **report,
            "conditions": conditions,
        }

    def _experiment(self, experiment) -> dict:
        from . import stages

        train = _json(stages.train_stage(self.preset, experiment, self.progress), "summary.json")
        dream = _json(stages.dream_stage(self.preset, experiment, self.progress), "metrics.json")
        self.dreams[experiment.label] = dream
        return {"label": experiment.label, "settings": experiment.budget, "train": train, "dream": _trim(dream)}

    def paper_settings(self) -> dict:
        from . import stages

        record = self._experiment(self.preset.experiments[0])
        k = self.preset.experiments[0].model.context_frames
        refs = _json(stages.references_stage(self.preset, k, self.progress), "metrics.json")
        return record | {"references": {name: _trim(m) for name, m in refs.items()}}

    def tuned(self) -> dict:
        return self._experiment(self.preset.experiments[-1])

    def one_trajectory(self) -> dict:
        return self._experiment(one_trajectory(self.preset))

    def figures(self) -> dict:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        from ..book import plots
        from ..method.data import split_episodes
        from . import stages
        from .provenance import device_name

        source = f"lucid-dreamer paper-scale | {device_name()}"
        p, written = self.preset, []
        fig = plots.error_by_horizon(self.dreams, p.world.resolution, source)
        fig.savefig(self.out / FIGURES[1], dpi=80)
        written.append(FIGURES[1])
        logs = {}
        for e in p.experiments:
            lines = (stages.train_stage(p, e, self.progress) / "log.jsonl").read_text().splitlines()
            logs[e.label] = [json.loads(line) for line in lines]
        fig = plots.training_curves(logs, source)
        fig.savefig(self.out / FIGURES[2], dpi=80)
        written.append(FIGURES[2])
        # six frames of the first test episode: the truth and each setting's dream
        k = p.experiments[0].model.context_frames
        first = split_episodes(p.world.episodes, p.data)["test"][0]
        truth = stages.load_episodes(p, self.progress)["frames"][first, k:]
        every = np.linspace(0, len(truth) - 1, 6).astype(int)
        rows = [truth[every]] + [stages.load_dream_frames(p, e, self.progress)[0][every] for e in p.experiments]
        labels = ["truth", *("dream: " + ("paper's" if i == 0 else "ours") for i in range(len(p.experiments)))]
        fig = plots.frame_grid(np.stack(rows), [f"frame {k + 1 + t}" for t in every], labels, source)
        fig.savefig(self.out / FIGURES[0], dpi=80)
        written.append(FIGURES[0])
        plt.close("all")
        return {"files": written}

    def bench(self) -> dict:
        from ..method.data import split_episodes
        from . import bench, stages

        latents, _ = stages.load_latents(self.preset, self.progress)
        splits = split_episodes(len(latents), self.preset.data)
        cfg = bench.BenchConfig(**self.sizes.bench)
        result = bench.bench(
            latents[splits["train"]], latents[splits["val"]], cfg, progress=self.progress, compile=self.compile
        )
        print(bench.format_table(result))
        return result

    def stages(self) -> list[Stage]:
        needs = {
            "world": (),
            "tokenizer": ("world",),
            "paper_settings": ("tokenizer",),
            "tuned": ("tokenizer",),
            "one_trajectory": ("tokenizer",),
            "figures": ("paper_settings", "tuned"),
            "bench": ("tokenizer",),
        }
        return [Stage(name, getattr(self, name), deps) for name, deps in needs.items()]


def expected_seconds(sizes: Sizes, gpu_name: str = "") -> dict[str, float] | None:
    """Each stage's estimated seconds at `sizes` on the GPU of the estimate nearest `gpu_name` (H100 unless
    the name says H200), from the committed estimate; None where there is none for these sizes."""
    try:
        estimate = json.loads(PAPER_SCALE_ESTIMATE.read_text())
    except (OSError, ValueError):
        return None
    for name, recorded in estimate.get("sizes", {}).items():
        if recorded == json.loads(json.dumps(asdict(sizes))):
            by_gpu = estimate["seconds"][name]
            return by_gpu["H200" if "H200" in gpu_name else "H100 SXM"]
    return None


def run(sizes: Sizes, out: Path, budget: float, progress: bool = True, dry_run: bool = False) -> dict:
    """Every stage within `budget` seconds; the records (provenance, sizes, stages) in `out/paper_scale.json`."""
    import torch

    from ..method.atomic import atomic_write
    from ..method.precision import record as precision_record
    from .provenance import provenance

    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() and not dry_run else "cpu"
    record = {
        "provenance": provenance("lucid-dreamer paper-scale" + (" --dry-run" if dry_run else ""), "paper"),
        "dry_run": dry_run,
        "budget_s": budget,
        "sizes": asdict(sizes),
        "stages": {},
    }
    # the copy of the tree on a GPU machine has no git history: the command line can name the commit
    if os.environ.get("LUCID_DREAMER_COMMIT"):
        record["provenance"]["commit"] = os.environ["LUCID_DREAMER_COMMIT"]
    record["provenance"]["precision"] = precision_record("auto", device)
    if device == "cuda":
        record["provenance"]["gpu"] = torch.cuda.get_device_name(0)

    def write(stages: dict) -> None:
        record["stages"] = stages
        record["seconds"] = time.monotonic() - began
        with atomic_write(out / RECORD) as tmp:
            tmp.write_text(json.dumps(record, indent=1, default=str) + "\n")

    began = time.monotonic()
    the_run = Run(sizes, out, progress, compile=device == "cuda")
    expected = expected_seconds(sizes, record["provenance"].get("gpu", "")) if device == "cuda" else None
    record["expected_s"] = expected
    run_stages(the_run.stages(), budget, write, expected=expected)
    return record


def main(args) -> int:
    """The command: `--check`, `--dry-run`, or the GPU run."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    lines = check(need_gpu=not args.dry_run, wheels=args.install_wheels)
    if args.check or lines:
        for line in lines:
            print(line, file=sys.stderr if lines else sys.stdout)
        if lines:
            print(f"paper-scale: {len(lines)} missing; nothing was run", file=sys.stderr)
            return 1
        print("paper-scale: ready (every package is there" + (")" if args.dry_run else ", and a CUDA GPU)"))
        return 0
    if args.out is None:
        from ..method.errors import UserError

        raise UserError("paper-scale needs --out DIR (where its records go)")
    if args.dry_run:
        print("paper-scale --dry-run: every stage at reduced sizes, on the CPU")
    sizes = DRY_RUN if args.dry_run else GPU
    record = run(sizes, args.out, args.budget, progress=not args.quiet, dry_run=args.dry_run)
    states = {name: s["status"] for name, s in record["stages"].items()}
    for name, s in record["stages"].items():
        detail = f"{s['seconds']:.0f} s" if "seconds" in s else s.get("reason", "")
        print(f"{name:15} {s['status']:8} {detail}" + (f"  {s['error']}" if "error" in s else ""))
    print(f"records: {args.out / RECORD} ({record['seconds']:.0f} s in all)")
    return 1 if "failed" in states.values() else 0
