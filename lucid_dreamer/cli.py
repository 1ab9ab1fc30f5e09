"""`lucid-dreamer`: the pipeline's stages from the command line, mirroring the paper's scripts.

A user mistake prints one line (`error: ...`) and exits with 2; `--debug` shows the traceback.
Heavy modules (torch, MuJoCo) are imported inside the commands, so `--help` is instant and an
import-time failure (a bad MUJOCO_GL) is reported as a one-line error too.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from . import __version__
from .method.atomic import atomic_write, check_writable
from .method.errors import AtLeast, UserError, Within

PRESET_NAMES = ("smoke", "cpu", "paper")
PRECISION_CHOICES = {"auto": "auto", "bf16": True, "float32": False}
PRECISION_HELP = "auto (bf16 autocast only where the device computes bf16 natively), bf16 or float32"
EXECUTOR_NAMES = ("inline", "local", "slurm")


def _report(folder: Path, name: str = "report.json") -> dict:
    return json.loads((folder / name).read_text())


def _flag_bounds() -> dict[str, AtLeast]:
    """The bounds of each numeric flag: a config field's where the flag sets one (a batch of at most
    `train.MAX_BATCH`), and a dream of at most `dream.MAX_HORIZON` frames."""
    from .method.dream import MAX_HORIZON
    from .method.models import ModelConfig
    from .method.train import TrainConfig

    train = {flag: TrainConfig.BOUNDS[flag] for flag in ("steps", "batch_size", "lr", "rollout_steps")}
    others = {flag: AtLeast(1) for flag in ("epochs", "limit")}  # flags no config holds
    horizon = Within(1, high=MAX_HORIZON)
    return {**train, "context_window": ModelConfig.BOUNDS["context_frames"], "horizon": horizon, **others}


OUTPUTS = {"dream": ("output_path",), "tokenize": ("output",), "analyze": ("output_figure", "output_metrics")}
"""The file each command writes where its user says: checked writable before any work."""


def check_flags(args: argparse.Namespace) -> None:
    """Every flag's constraint, checked before a command does any work: the first bad flag is a
    one-line `UserError`, and nothing has been read or written yet."""
    for flag, bound in _flag_bounds().items():
        value = getattr(args, flag, None)
        if value is not None:
            bound.check(f"--{flag}", value)
    for flag in OUTPUTS.get(args.command, ()) + (("json",) if args.command == "bench" else ()):
        if getattr(args, flag) is not None:
            check_writable(getattr(args, flag), f"--{flag}")
    if args.command == "train":
        check_writable(args.output_dir, "--output_dir", folder=True)
    if args.command == "grid":
        _executor_config(args)  # the executor's own flags
    if args.command == "tokenize" and args.frames is None and args.cosmos is not None:
        raise UserError("--cosmos encodes your own episodes: pass them with --frames (and --output)")
    if args.command == "tokenize" and args.frames is not None and args.output is None:
        raise UserError("--frames needs --output FILE.safetensors")
    if args.command == "analyze":
        from matplotlib.backend_bases import FigureCanvasBase

        kind = args.output_figure.suffix[1:].lower()
        if kind and kind not in FigureCanvasBase.get_supported_filetypes():
            known = ", ".join(sorted(FigureCanvasBase.get_supported_filetypes()))
            raise UserError(f"--output_figure: cannot draw a .{kind} file; name it .png or one of {known}")


def cmd_simulate(args) -> None:
    import numpy as np

    from .method.conditions import describe, measure
    from .pipeline import stages
    from .pipeline.presets import get_preset

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


def cmd_tokenize(args) -> None:
    from .method.conditions import describe
    from .pipeline import stages
    from .pipeline.presets import get_preset

    preset = get_preset(args.preset)
    if args.frames is not None:
        return _tokenize_frames(args, preset)
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


def _tokenizer(args, preset):
    from .method.tokenizer import CosmosTokenizer
    from .pipeline import stages

    if getattr(args, "cosmos", None):
        return CosmosTokenizer(args.cosmos)
    return stages.load_tokenizer(preset, progress=not args.quiet)


def _tokenize_frames(args, preset) -> None:
    """Encode a user's episodes (folders of frames or videos) into latents plus their statistics."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    from .method.conditions import describe, measure
    from .method.data import Normalizer, read_episode

    episodes = [read_episode(path) for path in args.frames]
    sizes = {e.shape[1:3] for e in episodes}
    if len(sizes) > 1:
        raise UserError(f"episodes have different frame sizes {sorted(sizes)}; resize them to one size")
    length = min(len(e) for e in episodes)
    if any(len(e) > length for e in episodes):
        print(f"note: episodes have {sorted({len(e) for e in episodes})} frames; all are cut to the shortest, {length}")
    tokenizer = _tokenizer(args, preset)
    latents = torch.stack([tokenizer.encode(e[:length]) for e in episodes])  # [E, T, 16, h, w]
    if not torch.isfinite(latents).all():
        raise UserError("the tokenizer produced NaN or Inf latents for these frames")
    stats = {k: Normalizer.fit(latents, k).to_json() for k in ("channel", "scalar")}
    frames = np.stack([e[:length] for e in episodes])  # [E, T, H, W, 3]; latents [E, T, 16, h, w]
    conditions = measure(frames, latents=latents, cell_px=frames.shape[2] // latents.shape[-2])  # before writing
    stats_path = args.output.with_suffix(".stats.json")
    with atomic_write(stats_path) as tmp:
        tmp.write_text(json.dumps(stats, indent=1))
    with atomic_write(args.output) as tmp:
        save_file({"latents": latents.contiguous()}, tmp)
    print(f"latents {list(latents.shape)}: {args.output} (stats: {stats_path})")
    print(f"conditions (by our tracker): {describe(conditions)}")


def _user_latents(args, kind: str):
    """Raw latents and a `Normalizer` from --latents (and --stats), for training on the user's data.

    Statistics come from --stats (the paper's latent_stats.pt, or our .stats.json), else from the
    .stats.json beside the latents, else they are fitted on the training episodes by the caller (None).
    """
    from .method.data import Normalizer, load_paper_latents, read_sequences

    if args.latents.suffix == ".pt":
        return load_paper_latents(args.latents, args.stats)
    source = read_sequences(args.latents)
    if "latents" not in source:
        raise UserError(f"{args.latents} holds frames; encode them first with `lucid-dreamer tokenize --frames`")
    stats = args.stats or args.latents.with_suffix(".stats.json")
    if not stats.exists():
        if args.stats:
            raise UserError(f"stats file not found: {args.stats}")
        return source["latents"], None
    try:
        norm = Normalizer.from_json(json.loads(stats.read_text())[kind])
        return source["latents"], norm.check(source["latents"].shape[2], str(stats))
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{stats} is not a statistics file written by `lucid-dreamer tokenize` ({e})") from e


def cmd_train(args) -> None:
    from .method.data import Normalizer, split_episodes, user_splits
    from .method.train import train
    from .pipeline import stages
    from .pipeline.presets import get_preset

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
        latents, norm = _user_latents(args, preset.data.normalization)
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


def cmd_dream(args) -> None:
    import torch
    from safetensors.torch import save_file

    from .method import precision
    from .method.data import Normalizer, read_sequences, split_episodes, user_splits
    from .method.dream import dream
    from .method.train import load_model
    from .pipeline import stages
    from .pipeline.presets import get_preset

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


def _as_frames(source: dict, tokenizer_factory):
    from .method.tokenizer import decode_episodes

    return source["frames"] if "frames" in source else decode_episodes(tokenizer_factory(), source["latents"])


def cmd_analyze(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from .book.plots import tracking_analysis
    from .method.analyze import scale_to, score
    from .method.data import read_sequences
    from .method.track import expected_cube_area, track_all
    from .pipeline.presets import get_preset

    preset = get_preset(args.preset)
    truth_src, dream_src = read_sequences(args.ground_truth), read_sequences(args.dreamed)
    truth = _as_frames(truth_src, lambda: _tokenizer(args, preset))
    dreamed = _as_frames(dream_src, lambda: _tokenizer(args, preset))
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
    fig = tracking_analysis(truth_xy["cube"], dream_xy["cube"], report["pooled"], resolution, title=f"{args.dreamed}")
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
    from .pipeline.paths import artifacts_root

    path = artifacts_root() / preset.name / "results.json"
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(results, indent=1))
    return path


def cmd_reproduce(args) -> None:
    from .book.paper import PAPER_RESULTS
    from .method.references import REFERENCES
    from .pipeline import stages
    from .pipeline.presets import get_preset

    preset = get_preset(args.preset)
    progress = not args.quiet
    cmd_simulate(args)
    cmd_tokenize(argparse.Namespace(**{**vars(args), "frames": None}))
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
    rmse, detection, _ = PAPER_RESULTS["ResNet-Rollout"]
    print(
        f"{'the paper (its training video)':34} {rmse:7.2f} {'-':>7} {'-':>7} {detection:7.0%}   (512 px, paper's RMSE)"
    )
    print(
        "RMSE: frames where both detect (the paper's); strict: a missed frame costs the diagonal;\n"
        "h1/h4/h16: strict RMSE within the first 1, 4, 16 dreamed frames"
    )
    summary = artifacts_summary(preset, results)
    print(f"results: {summary}")


def cmd_bench(args) -> None:
    from .method.data import split_episodes
    from .pipeline import bench, bench_report, stages
    from .pipeline.presets import get_preset
    from .pipeline.provenance import provenance

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


def cmd_paper_scale(args) -> int:
    from .pipeline import paper_scale

    return paper_scale.main(args)


def _executor_config(args):
    """The grid's executor settings from its flags; a flag of another executor is a mistake."""
    from .pipeline.executors import ExecutorConfig

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


def cmd_grid(args) -> int:
    from .pipeline import executors, grid, grid_runner, paths
    from .pipeline.presets import get_preset

    preset = get_preset(args.preset)
    cfg = _executor_config(args)
    runs = grid.grid_runs(preset)
    if args.references:
        written = grid_runner.write_reference_tracks(preset, progress=not args.quiet)
        where = paths.grid_records_dir(preset) / "tracks"
        print(f"wrote the reference tracks of {len(written)} worlds and contexts under {where}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lucid-dreamer",
        description="Latent world models of a red cube: simulate, tokenize, train, dream, analyse.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, func, help, description, force=True):
        p = sub.add_parser(name, help=help, description=description)
        p.add_argument("--preset", help=f"one of {', '.join(PRESET_NAMES)} (default: $LUCID_DREAMER_PRESET, else cpu)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        if force:
            p.add_argument("--force", action="store_true", help="rebuild even if a cached product exists")
        p.set_defaults(func=func)
        return p

    command(
        "simulate",
        cmd_simulate,
        "render the red-cube episodes of a preset",
        "Render the preset's MuJoCo episodes (frames, cube poses, projected centres) into "
        "artifacts/<preset>/simulate/ and report the tracker's error against the projected centre.",
    )

    p = command(
        "tokenize",
        cmd_tokenize,
        "train the tokenizer if needed and encode frames to latents",
        "Without --frames: train the preset's ConvTokenizer (if not cached), encode all of its episodes and "
        "write per-channel and scalar statistics of the training episodes. With --frames PATH [PATH ...]: encode "
        "your own episodes (each a folder of PNG/JPEG frames sorted by name, or a video file) into --output, "
        "with their statistics beside it.",
    )
    p.add_argument(
        "--frames",
        type=Path,
        nargs="+",
        help="your own episodes to encode: folders of PNG/JPEG frames or video files, one episode each",
    )
    p.add_argument("--output", type=Path, help="with --frames: where to write the latents (.safetensors)")
    p.add_argument("--cosmos", type=Path, help="a folder with Cosmos encoder.jit/decoder.jit to use instead")

    p = command(
        "train",
        cmd_train,
        "train ResNet-Rollout on the preset's training episodes",
        "Train the preset's main model (the paper's settings unless overridden) on its training episodes, "
        "keeping the checkpoint with the best validation loss. Writes best.safetensors, last.safetensors, "
        "log.jsonl and summary.json into --output_dir.",
        force=False,
    )
    p.add_argument("--epochs", type=int, help="budget as passes over the training windows (the paper: 500)")
    p.add_argument("--steps", type=int, help="budget in optimizer steps (default: the preset's)")
    p.add_argument("--batch_size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--context_window", type=int, help="K, context frames (the paper: 4)")
    p.add_argument("--rollout_steps", type=int, help="R, rollout steps per window (the paper: 4)")
    p.add_argument("--seed", type=int)
    p.add_argument("--output_dir", type=Path, default=Path("checkpoints"))
    p.add_argument(
        "--latents",
        type=Path,
        help="train on these latents, not the preset's: `tokenize --frames` output or the paper's latent.pt",
    )
    p.add_argument(
        "--stats",
        type=Path,
        help="statistics for --latents (default: the .stats.json beside them), or the paper's latent_stats.pt",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --output_dir from its last checkpoint")
    p.add_argument("--precision", choices=PRECISION_CHOICES, help=f"{PRECISION_HELP} (default: auto)")

    p = command(
        "dream",
        cmd_dream,
        "roll a trained model out from the first K frames of each episode",
        "Dream every test episode of the preset (or of --latents, split as `train --latents` splits them) "
        "from its first K latent "
        "frames, for --horizon frames (default: to the end). Writes de-normalised latents to --output_path.",
        force=False,
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--output_path", type=Path, required=True)
    p.add_argument("--latents", type=Path, help="dream these latents (.safetensors or the paper's latent.pt)")
    p.add_argument("--horizon", type=int, help="frames to dream (default: the rest of each episode)")
    p.add_argument("--precision", choices=PRECISION_CHOICES, help=f"{PRECISION_HELP} (default: as trained)")

    p = command(
        "analyze",
        cmd_analyze,
        "track the cube in ground truth and dream; write metrics and a figure",
        "Each of --ground_truth and --dreamed is a folder of frames (e.g. frame_%%04d.png / dream_%%02d.png), "
        "a .safetensors file of frames or latents, or the paper's latent.pt; latents are decoded with the "
        "preset's tokenizer (or --cosmos). A dream covers the last frames of its ground truth. Metrics are in "
        "pixels of the frames given.",
        force=False,
    )
    p.add_argument("--ground_truth", type=Path, required=True)
    p.add_argument("--dreamed", type=Path, required=True)
    p.add_argument("--output_figure", type=Path, required=True)
    p.add_argument("--output_metrics", type=Path, required=True)
    p.add_argument("--cosmos", type=Path, help="decode latents with the Cosmos decoder in this folder")

    command(
        "reproduce",
        cmd_reproduce,
        "run every stage of a preset (cached) and print the results table",
        "Simulate, tokenize, train every experiment of the preset, dream the test episodes, and compare with "
        "copy-last-frame, constant velocity and the tokenizer's own floor. Finished stages are reused.",
    )

    p = command(
        "bench",
        cmd_bench,
        "time the paper's implementation against ours (training, dreaming, quality)",
        "Train and dream with the paper's implementation (Conv3d, per-sample Dataset + DataLoader, one episode "
        "at a time) and with ours, one optimisation at a time, alternating, several repeats; compare validation "
        "losses after the same steps from the same start. Uses the preset's latents (default cpu; smoke with "
        "--quick).",
        force=False,
    )
    p.add_argument("--quick", action="store_true", help="a short run for tests (under a minute)")
    p.add_argument("--json", type=Path, help="also write the results as JSON here")

    p = command(
        "grid",
        cmd_grid,
        "train and score the rivals and ablations, every row with several seeds (resumable)",
        "Run the preset's comparison grid (the paper's rival models, the ablations, the width sweeps, the "
        "protocols), skipping runs whose results are already in figures/data/grid/<preset>/. Each finished run "
        "writes its metrics there at once, so an interrupted grid loses at most the run in progress (and that "
        "run's training resumes from its last checkpoint). With --executor local or slurm, submitit runs them as "
        "jobs (worker processes here, or a Slurm job array) that share the cache safely; --list shows each run's "
        "state and, for a failed one, its error and log.",
        force=False,
    )
    p.add_argument("--only", help="only runs whose id contains this text (see --list)")
    p.add_argument("--limit", type=int, help="run at most this many of the unfinished runs")
    p.add_argument("--list", action="store_true", help="list the runs: done, running, queued, failed (why) or todo")
    p.add_argument(
        "--references",
        action="store_true",
        help="write the reference points' tracks (trivial predictors and the oracle) of every world and context "
        "size that has committed true tracks, as tracks/references__<data hash>__k<K>.json; trains nothing",
    )
    p.add_argument(
        "--executor",
        choices=EXECUTOR_NAMES,
        default="inline",
        help="inline: one run after another in this process (default); local: worker processes on this machine "
        "(waits for them); slurm: a job array (returns once submitted). Jobs share artifacts/ and log under "
        "artifacts/<preset>/jobs/",
    )
    p.add_argument("--workers", type=int, help="local: worker processes (default 2), each with cores/workers threads")
    p.add_argument("--slurm-partition", help="slurm: the partition to submit to (default: the cluster's)")
    p.add_argument("--gpus-per-job", type=int, help="slurm: GPUs per job (default 0)")
    p.add_argument(
        "--timeout-min",
        type=int,
        help="local or slurm: a job's time limit in minutes (default: 60 on Slurm, a week locally); "
        "a job that reaches it is requeued and resumes from its last checkpoint",
    )
    p.add_argument(
        "--slurm-option",
        action="append",
        metavar="KEY=VALUE",
        help="slurm: any other sbatch option, repeatable (e.g. account=lab, cpus-per-task=8, mem=16G, exclusive)",
    )
    p = sub.add_parser(
        "paper-scale",
        help="the paper preset on one CUDA GPU in one command that fits 8 minutes (records in --out)",
        description="On one CUDA GPU: build the paper-scale world (512 px, MuJoCo through EGL) and its tokenizer, "
        "train ResNet-Rollout at the paper's settings (1,500 steps, lr 1e-4, batch 32) and ours (lr 1e-3), dream "
        "the held-out episodes and the paper's one trajectory, track with both trackers, bench the paper's "
        "implementation against ours (bf16, channels-last, torch.compile), and write paper_scale.json (with "
        "provenance: GPU, precision, commit) and a few figures into --out. Stops between stages once --budget "
        "is spent; what finished is kept and recorded as such. The book's paper-scale page says what it does "
        "and how long it is estimated to take.",
    )
    p.add_argument("--out", type=Path, help="folder for the records and figures (a few small files)")
    p.add_argument("--budget", type=float, default=480.0, help="seconds after which no stage starts (default 480)")
    p.add_argument("--check", action="store_true", help="only say what is missing (one line each); exit 1 if any")
    p.add_argument("--dry-run", action="store_true", help="every stage at a reduced size, on the CPU")
    p.add_argument(
        "--install-wheels",
        type=Path,
        help="install missing packages from this folder of wheels first (`make wheels`; no package index)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_paper_scale)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_flags(args)
        code = args.func(args)
    except UserError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished stages are kept, an interrupted training resumes", file=sys.stderr)
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
