"""`lucid-dreamer paper-scale`, the run itself: the `paper` preset at the run's sizes (`paper_scale.Sizes`),
its stages in order of value within the time budget (`paper_scale.run_stages`), and their records in
`out/paper_scale.json`, rewritten after each stage so a run killed part way keeps what finished.

The stages are the pipeline's own (`stages`, `bench`); the figures stage draws with the function the
caller passes (`draw_figures`: the book's, `paper_scale_book.draw_figures`), so the pipeline stays below
the book.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from ..method.atomic import atomic_write
from ..method.data import split_episodes
from ..method.errors import UserError
from ..method.precision import record as precision_record
from . import bench, bench_report, stages
from .paper_scale import DRY_RUN, GPU, RECORD, Sizes, Stage, check, expected_seconds, run_stages
from .presets import PRESETS, Experiment
from .provenance import provenance


def preset(sizes: Sizes):
    """The `paper` preset with the run's sizes; its two experiments (the paper's settings, ours) keep
    their own settings but the run's step budget and batch."""

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

    paper = p.experiments[0]
    return Experiment(
        "one_trajectory",
        "one trajectory, dreamed back (the paper's protocol and settings)",
        paper.model,
        paper.train,
        data=replace(p.data, protocol="paper"),
    )


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

    def __init__(
        self,
        sizes: Sizes,
        out: Path,
        draw_figures: Callable[[Run], list[str]],
        progress: bool = True,
        compile: bool = True,
    ):
        """`draw_figures(run)` draws the figures stage's files into `run.out` and returns their names."""
        self.sizes, self.out, self.progress, self.compile = sizes, out, progress, compile
        self.draw_figures = draw_figures
        self.preset = preset(sizes)
        self.dreams: dict[str, dict] = {}

    def world(self) -> dict:
        report = _json(stages.simulate_stage(self.preset, self.progress), "report.json")
        w = self.preset.world
        return {"episodes": w.episodes, "frames": w.frames_per_episode, "resolution": w.resolution, **report}

    def tokenizer(self) -> dict:
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
        train = _json(stages.train_stage(self.preset, experiment, self.progress), "summary.json")
        dream = _json(stages.dream_stage(self.preset, experiment, self.progress), "metrics.json")
        self.dreams[experiment.label] = dream
        return {"label": experiment.label, "settings": experiment.budget, "train": train, "dream": _trim(dream)}

    def paper_settings(self) -> dict:
        record = self._experiment(self.preset.experiments[0])
        k = self.preset.experiments[0].model.context_frames
        refs = _json(stages.references_stage(self.preset, k, self.progress), "metrics.json")
        return record | {"references": {name: _trim(m) for name, m in refs.items()}}

    def tuned(self) -> dict:
        return self._experiment(self.preset.experiments[-1])

    def one_trajectory(self) -> dict:
        return self._experiment(one_trajectory(self.preset))

    def figures(self) -> dict:
        return {"files": self.draw_figures(self)}

    def bench(self) -> dict:
        latents, _ = stages.load_latents(self.preset, self.progress)
        splits = split_episodes(len(latents), self.preset.data)
        cfg = bench.BenchConfig(**self.sizes.bench)
        result = bench.bench(
            latents[splits["train"]], latents[splits["val"]], cfg, progress=self.progress, compile=self.compile
        )
        print(bench_report.format_table(result))
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


def run(
    sizes: Sizes,
    out: Path,
    budget: float,
    draw_figures: Callable[[Run], list[str]],
    progress: bool = True,
    dry_run: bool = False,
) -> dict:
    """Every stage within `budget` seconds; the records (provenance, sizes, stages) in `out/paper_scale.json`."""
    import torch

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
    the_run = Run(sizes, out, draw_figures, progress, compile=device == "cuda")
    expected = expected_seconds(sizes, record["provenance"].get("gpu", "")) if device == "cuda" else None
    record["expected_s"] = expected
    run_stages(the_run.stages(), budget, write, expected=expected)
    return record


def main(args, draw_figures: Callable[[Run], list[str]]) -> int:
    """The command: `--check`, `--dry-run`, or the GPU run (its figures drawn by `draw_figures`)."""
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
        raise UserError("paper-scale needs --out DIR (where its records go)")
    if args.dry_run:
        print("paper-scale --dry-run: every stage at reduced sizes, on the CPU")
    sizes = DRY_RUN if args.dry_run else GPU
    record = run(sizes, args.out, args.budget, draw_figures, progress=not args.quiet, dry_run=args.dry_run)
    states = {name: s["status"] for name, s in record["stages"].items()}
    for name, s in record["stages"].items():
        detail = f"{s['seconds']:.0f} s" if "seconds" in s else s.get("reason", "")
        print(f"{name:15} {s['status']:8} {detail}" + (f"  {s['error']}" if "error" in s else ""))
    print(f"records: {args.out / RECORD} ({record['seconds']:.0f} s in all)")
    return 1 if "failed" in states.values() else 0
