"""The command line's commands, each a function of its parsed flags (`cli` parses and checks them first).

Each runs the pipeline's stages for a preset, or works on the user's own files (frames, latents,
checkpoints), and prints what it made and where. What only the book can draw or knows (a figure, the
paper's reported numbers) is handed in by `cli`, so the pipeline stays below the book.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from matplotlib.figure import Figure

from ..method import precision
from ..method.analyze import scale_to, score
from ..method.atomic import atomic_write
from ..method.conditions import describe, measure
from ..method.data import Normalizer, read_sequences, split_episodes, user_splits
from ..method.dream import dream
from ..method.errors import UserError
from ..method.references import REFERENCES
from ..method.track import expected_cube_area, track_all
from ..method.train import load_model, train
from . import bench, bench_report, executors, grid, grid_runner, grid_sharpness, paths, stages
from .executors import ExecutorConfig
from .paths import artifacts_root
from .presets import get_preset
from .provenance import provenance
from .user_data import as_frames, encode_frames, tokenizer_for, user_latents

PRECISION_CHOICES = {"auto": "auto", "bf16": True, "float32": False}


def _report(folder: Path, name: str = "report.json") -> dict:
    return json.loads((folder / name).read_text())


def simulate_command(args) -> None:
    import numpy as np

    preset = get_preset(args.preset)
    folder = stages.simulate_stage(preset, progress=not args.quiet, force=args.force)
    report = _report(folder)
    err = report["tracker_vs_truth"]
    print(f"episodes: {folder / 'episodes.safetensors'}")
    print(
        f"rendered {preset.world.episodes} x {preset.world.frames_per_episode} frames at "
        f"{preset.world.resolution}px in {report['seconds']:.1f} s; tracker vs projected centre: "
        f"RMSE {err['rmse']:.2f} px, detected {err['detected']}/{err['total']}"
    )
    episodes = stages.load_episodes(preset, progress=False)
    centres = np.where(episodes["in_view"][..., None], episodes["pixel"], np.nan)
    print(f"conditions: {describe(measure(episodes['frames'], centres))}")


def tokenize_command(args) -> None:
    preset = get_preset(args.preset)
    if args.frames is not None:
        return encode_frames(args, preset)
    tokenizer_dir = stages.tokenizer_stage(preset, progress=not args.quiet, force=args.force)
    folder = stages.latents_stage(preset, progress=not args.quiet, force=args.force)
    report = _report(tokenizer_dir)
    rt = report["test_round_trip"]
    print(f"latents: {folder / 'latents.safetensors'} (stats: {folder / 'stats.json'})")
    print(
        f"tokenizer trained in {report['train_seconds']:.0f} s; round trip on test episodes: PSNR "
        f"{rt['psnr_db']:.1f} dB, centroid moved {rt['rmse_px']:.2f} px RMSE, detected {rt['detected']}/{rt['total']}"
    )
    stages.conditions_stage(preset, progress=not args.quiet, force=args.force)  # of the latents just made
    print(f"conditions: {describe(stages.load_conditions(preset, progress=not args.quiet))}")


def train_command(args) -> None:
    preset = get_preset(args.preset)
    main = preset.experiments[0]
    context_frames = main.model.context_frames if args.context_window is None else args.context_window
    model_cfg = replace(main.model, context_frames=context_frames)
    cfg = replace(
        main.train,
        **{
            k: v
            for k, v in {
                "batch_size": args.batch_size,
                "lr": args.lr,
                "rollout_steps": args.rollout_steps,
                "steps": args.steps,
                "seed": args.seed,
                "bf16": PRECISION_CHOICES.get(args.precision),
            }.items()
            if v is not None
        },
    )
    out = args.output_dir
    if (out / "last.safetensors").exists() and not args.resume:
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --output_dir")
    if args.latents is None:
        latents, norm = stages.load_latents(preset, progress=not args.quiet)
        splits = split_episodes(len(latents), preset.data)
    else:
        latents, norm = user_latents(args, preset.data.normalization)
        splits, note = user_splits(len(latents))
        print(f"{args.latents}: {note}")
        if norm is None:
            norm = Normalizer.fit(latents[splits["train"]], preset.data.normalization)
    if args.epochs is not None:  # the paper's unit: passes over all training windows
        windows = len(splits["train"]) * (latents.shape[1] - model_cfg.context_frames - cfg.rollout_steps + 1)
        cfg = replace(cfg, steps=args.epochs * math.ceil(max(windows, 1) / cfg.batch_size))
    z = norm.normalize(latents)
    summary = train(model_cfg, cfg, z[splits["train"]], z[splits["val"]], norm, out, args.resume, not args.quiet)
    print(
        f"{summary['steps']} steps in {summary['train_seconds']:.0f} s ({summary['samples_per_s']:.0f} rollout "
        f"samples/s on {summary['device']}, {summary['precision']['precision']}); best validation loss "
        f"{summary['best_val_loss']:.4f}: {out / 'best.safetensors'}"
    )


def dream_command(args) -> None:
    import torch
    from safetensors.torch import save_file

    preset = get_preset(args.preset)
    model, meta = load_model(args.checkpoint)
    norm = Normalizer.from_json(meta["normalizer"])
    k = model.cfg.context_frames
    if args.latents is not None:
        source = read_sequences(args.latents)
        if "latents" not in source:
            raise UserError(f"{args.latents} holds frames; encode them first with `lucid-dreamer tokenize --frames`")
        splits, note = user_splits(len(source["latents"]))
        episodes = torch.as_tensor(splits["test"])
        latents = source["latents"][episodes]
        print(f"{args.latents}: dreaming the test episodes {episodes.tolist()} ({note})")
    else:
        latents, _ = stages.load_latents(preset, progress=not args.quiet)
        episodes = torch.as_tensor(split_episodes(len(latents), preset.data)["test"])
        latents = latents[episodes]
    if latents.shape[1] < k or (args.horizon is None and latents.shape[1] == k):
        raise UserError(
            f"episodes have {latents.shape[1]} frames; the model needs {k} context frames and more to dream"
        )
    horizon = latents.shape[1] - k if args.horizon is None else args.horizon
    # as trained unless overridden; checkpoints older than the setting trained in float32
    setting = PRECISION_CHOICES[args.precision] if args.precision else meta["train"].get("bf16", False)
    dreamed = norm.denormalize(dream(model, norm.normalize(latents[:, :k]), horizon, bf16=setting))
    with atomic_write(args.output_path) as tmp:
        save_file({"latents": dreamed.contiguous(), "episodes": episodes}, tmp)
    used = precision.name(precision.use_bf16(setting, next(model.parameters()).device.type))
    print(f"dreamed {dreamed.shape[1]} frames for {dreamed.shape[0]} episodes ({used}): {args.output_path}")


def analyze_command(args, draw: Callable[..., Figure]) -> None:
    """Score a user's dream against the truth; `draw` is the tracking figure (the book's `plots.tracking_analysis`)."""
    import matplotlib

    matplotlib.use("Agg")
    preset = get_preset(args.preset)
    truth_src, dream_src = read_sequences(args.ground_truth), read_sequences(args.dreamed)
    truth = as_frames(truth_src, lambda: tokenizer_for(args, preset))
    dreamed = as_frames(dream_src, lambda: tokenizer_for(args, preset))
    if len(truth) != len(dreamed):
        if "episodes" not in dream_src or int(dream_src["episodes"].max()) >= len(truth):
            raise UserError(f"ground truth has {len(truth)} episodes and the dream {len(dreamed)}; they do not match")
        truth = truth[dream_src["episodes"]]
    if truth.shape[1] < dreamed.shape[1] or truth.shape[2:] != dreamed.shape[2:]:
        raise UserError(
            f"ground truth {list(truth.shape[1:4])} and dream {list(dreamed.shape[1:4])} (frames, height, width) "
            "do not fit: the ground truth needs at least as many frames, of the same size"
        )
    truth = truth[:, truth.shape[1] - dreamed.shape[1] :]  # a dream covers the last frames of its episode
    area = expected_cube_area(truth)  # the cube's size, from the true frames
    truth_xy, dream_xy = track_all(truth, area, decoded=False), track_all(dreamed, area, decoded=True)
    resolution = truth.shape[2]
    report = score(dream_xy, truth_xy, resolution)
    metrics = {**report["pooled"], **report, "scaled_to_512": scale_to(report)["pooled"]}
    fig = draw(truth_xy["cube"], dream_xy["cube"], report["pooled"], resolution, title=f"{args.dreamed}")
    with atomic_write(args.output_figure) as tmp:
        fig.savefig(tmp, dpi=120, format=args.output_figure.suffix[1:].lower() or "png")
    with atomic_write(args.output_metrics) as tmp:
        tmp.write_text(json.dumps(metrics, indent=1))
    m, paper = report["pooled"], report["paper"]["pooled"]
    print(
        f"RMSE {m['rmse']:.2f} px (strict {m['strict_rmse']:.2f}), detection {m['valid_frames']}/{m['total_frames']} "
        f"at {resolution} px; the paper's tracker: RMSE {paper['rmse']:.2f} px, detection "
        f"{paper['valid_frames']}/{paper['total_frames']}; metrics: {args.output_metrics}, figure: {args.output_figure}"
    )


def artifacts_summary(preset, results: dict) -> Path:
    """Write the reproduce table's data to artifacts/<preset>/results.json."""

    path = artifacts_root() / preset.name / "results.json"
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(results, indent=1))
    return path


def reproduce_command(args, paper_row: tuple) -> None:
    """The preset's whole pipeline and its results table, with the paper's own row (`paper_row`: its RMSE,
    detection rate and size, from the book's `paper.PAPER_RESULTS`) beside it."""
    preset = get_preset(args.preset)
    progress = not args.quiet
    simulate_command(args)
    tokenize_command(argparse.Namespace(**{**vars(args), "frames": None}))
    results = {}
    for exp in preset.experiments:
        stages.train_stage(preset, exp, progress)
        results[exp.label] = _report(stages.dream_stage(preset, exp, progress), "metrics.json")
    k = preset.experiments[0].model.context_frames
    refs = _report(stages.references_stage(preset, k, progress), "metrics.json")
    results |= {REFERENCES[k]: v for k, v in refs.items()}
    res = preset.world.resolution
    print(f"\nheld-out test episodes, pixels of {res} px frames (x{512 // res} for 512 px)")
    print(f"{'':34} {'RMSE':>7} {'strict':>7} {'@512':>7} {'detect':>7} {'h1':>7} {'h4':>7} {'h16':>7}")
    for label, r in results.items():
        p, w = r["pooled"], r["within"]
        hs = " ".join(f"{w[h]['strict_rmse']:7.2f}" if h in w else f"{'-':>7}" for h in ("1", "4", "16"))
        print(
            f"{label:34} {p['rmse']:7.2f} {p['strict_rmse']:7.2f} {p['strict_rmse'] * 512 / res:7.1f} "
            f"{p['detection_rate']:7.1%} {hs}"
        )
    rmse, detection, _ = paper_row
    print(
        f"{'the paper (its training video)':34} {rmse:7.2f} {'-':>7} {'-':>7} {detection:7.0%}   (512 px, paper's RMSE)"
    )
    print(
        "RMSE: frames where both detect (the paper's); strict: a missed frame costs the diagonal;\n"
        "h1/h4/h16: strict RMSE within the first 1, 4, 16 dreamed frames"
    )
    summary = artifacts_summary(preset, results)
    print(f"results: {summary}")


def bench_command(args) -> None:
    preset = get_preset(args.preset or ("smoke" if args.quick else None))
    latents, _ = stages.load_latents(preset, not args.quiet)
    splits = split_episodes(len(latents), preset.data)
    cfg = bench.QUICK if args.quick else bench.BenchConfig()
    result = bench.bench(latents[splits["train"]], latents[splits["val"]], cfg, progress=not args.quiet)
    result["provenance"] = provenance("lucid-dreamer bench" + (" --quick" if args.quick else ""), preset.name)
    print(bench_report.format_table(result))
    if args.json:
        with atomic_write(args.json) as tmp:
            tmp.write_text(json.dumps(result, indent=1) + "\n")
        print(f"results: {args.json}")


def grid_command(args) -> int:
    preset = get_preset(args.preset)
    cfg = executor_config(args)
    runs = grid.grid_runs(preset)
    if args.references:
        written = grid_runner.write_reference_tracks(preset, progress=not args.quiet)
        where = paths.grid_records_dir(preset) / "tracks"
        print(f"wrote the reference tracks of {len(written)} worlds and contexts under {where}")
        return 0
    if args.sharpness:
        written = grid_sharpness.write_dream_sharpness(preset, args.only, progress=not args.quiet)
        where = paths.grid_records_dir(preset) / "sharpness"
        print(f"wrote the dream sharpness of {len(written)} runs under {where}")
        return 0
    if args.list:
        states = executors.run_states(preset, runs)
        for run in runs:
            state = states[run.id]
            print(f"{state.state:8} {run.id}" + (f"  {state.detail}" if state.detail else ""))
        counts = Counter(state.state for state in states.values())
        print(", ".join(f"{counts[s]} {s}" for s in ("done", "running", "queued", "failed", "todo") if counts[s]))
        return 0
    if cfg.kind == "inline":
        done = grid_runner.run_grid(preset, args.only, args.limit, progress=not args.quiet)
        left = sum(not grid_runner.is_done(preset, r) for r in runs)
        print(
            f"ran {len(done)} runs; {len(runs) - left} of {len(runs)} done; results in {paths.grid_records_dir(preset)}"
        )
        return 0
    unfinished = grid_runner.select_runs(preset, args.only)
    todo = executors.runs_to_submit(preset, unfinished)[: args.limit]
    if len(todo) < len(unfinished) and args.limit is None:
        print(f"{len(unfinished) - len(todo)} unfinished runs are queued or running in earlier jobs; left to them")
    if not todo:
        print("nothing to submit; `lucid-dreamer grid --list` shows where each run stands")
        return 0
    jobs = executors.submit(preset, todo, cfg)
    logs = paths.jobs_dir(preset)
    if cfg.kind == "slurm":
        print(
            f"submitted {len(todo)} runs as {len(jobs)} Slurm jobs (array {jobs[0].job_id.split('_')[0]}); "
            f"`lucid-dreamer grid --list` shows where each stands; logs under {logs}"
        )
        return 0
    executors.wait(preset, todo, jobs, progress=not args.quiet)
    states = executors.run_states(preset, todo)
    failed = [run.id for run in todo if states[run.id].state != "done"]
    for run_id in failed:
        print(f"failed {run_id}: {states[run_id].detail}", file=sys.stderr)
    left = sum(not grid_runner.is_done(preset, r) for r in runs)
    print(
        f"ran {len(todo) - len(failed)} runs with {len(jobs)} local workers ({len(failed)} failed); "
        f"{len(runs) - left} of {len(runs)} done; results in {paths.grid_records_dir(preset)}; logs under {logs}"
    )
    return 1 if failed else 0


EXECUTOR_NAMES = ("inline", "local", "slurm")


def executor_config(args):
    """The grid's executor settings from its flags; a flag of another executor is a mistake."""

    given = {
        "--workers": args.workers,
        "--slurm-partition": args.slurm_partition,
        "--gpus-per-job": args.gpus_per_job,
        "--slurm-option": args.slurm_option,
        "--timeout-min": args.timeout_min,
    }
    given = {flag: value for flag, value in given.items() if value is not None}
    takes = {"inline": (), "local": ("--workers", "--timeout-min")}
    takes["slurm"] = ("--slurm-partition", "--gpus-per-job", "--slurm-option", "--timeout-min")
    for flag in given:
        if flag not in takes[args.executor]:
            users = " or ".join(name for name in EXECUTOR_NAMES if flag in takes[name])
            raise UserError(f"{flag} is for --executor {users}, not {args.executor}")
    for flag, least in (("--workers", 1), ("--gpus-per-job", 0), ("--timeout-min", 1)):
        if given.get(flag, least) < least:
            raise UserError(f"{flag} must be at least {least}, got {given[flag]}")
    options = []
    for option in args.slurm_option or []:
        key, equals, value = option.partition("=")
        if not key.strip("-") or " " in key:
            raise UserError(f"--slurm-option takes an sbatch option as KEY=VALUE (or KEY for a flag), got {option!r}")
        options.append((key.strip("-"), value if equals else True))
    if args.executor == "slurm" and not (shutil.which("sbatch") and shutil.which("srun")):
        raise UserError("--executor slurm needs Slurm's sbatch and srun; run it where they are (a login node)")
    return ExecutorConfig(
        kind=args.executor,
        workers=args.workers or 2,
        partition=args.slurm_partition,
        gpus_per_job=args.gpus_per_job or 0,
        timeout_min=args.timeout_min,
        slurm_options=tuple(options),
    )
