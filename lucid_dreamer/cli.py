"""`lucid-dreamer`: the pipeline's stages from the command line, mirroring the paper's scripts.

The command line parses the flags, checks them all before any work (`check_flags`), and calls the
pipeline's function for the command (`pipeline.commands`, `pipeline.paper_scale_run`), handing it what
only the book has (a figure to draw, the paper's reported numbers). A user mistake prints one line
(`error: ...`) and exits with 2; `--debug` shows the traceback. MuJoCo is loaded only when a world is
simulated, so a bad MUJOCO_GL is reported as a one-line error too.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from matplotlib.backend_bases import FigureCanvasBase

from . import __version__
from .book.paper import PAPER_RESULTS
from .book.paper_scale_book import draw_figures
from .book.plots import tracking_analysis
from .method.atomic import check_writable
from .method.dream import MAX_HORIZON
from .method.errors import AtLeast, UserError, Within
from .method.models import ModelConfig
from .method.train import TrainConfig
from .pipeline import commands, paper_scale_run

PRESET_NAMES = ("smoke", "cpu", "paper")
PRECISION_HELP = "auto (bf16 autocast only where the device computes bf16 natively), bf16 or float32"


def _flag_bounds() -> dict[str, AtLeast]:
    """The bounds of each numeric flag: a config field's where the flag sets one (a batch of at most
    `train.MAX_BATCH`), and a dream of at most `dream.MAX_HORIZON` frames."""
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
        commands.executor_config(args)  # the executor's own flags
    if args.command == "tokenize" and args.frames is None and args.cosmos is not None:
        raise UserError("--cosmos encodes your own episodes: pass them with --frames (and --output)")
    if args.command == "tokenize" and args.frames is not None and args.output is None:
        raise UserError("--frames needs --output FILE.safetensors")
    if args.command == "analyze":
        kind = args.output_figure.suffix[1:].lower()
        if kind and kind not in FigureCanvasBase.get_supported_filetypes():
            known = ", ".join(sorted(FigureCanvasBase.get_supported_filetypes()))
            raise UserError(f"--output_figure: cannot draw a .{kind} file; name it .png or one of {known}")


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
        commands.simulate_command,
        "render the red-cube episodes of a preset",
        "Render the preset's MuJoCo episodes (frames, cube poses, projected centres) into "
        "artifacts/<preset>/simulate/ and report the tracker's error against the projected centre.",
    )

    p = command(
        "tokenize",
        commands.tokenize_command,
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
        commands.train_command,
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
    p.add_argument("--precision", choices=commands.PRECISION_CHOICES, help=f"{PRECISION_HELP} (default: auto)")

    p = command(
        "dream",
        commands.dream_command,
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
    p.add_argument("--precision", choices=commands.PRECISION_CHOICES, help=f"{PRECISION_HELP} (default: as trained)")

    p = command(
        "analyze",
        partial(commands.analyze_command, draw=tracking_analysis),
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
        partial(commands.reproduce_command, paper_row=PAPER_RESULTS["ResNet-Rollout"]),
        "run every stage of a preset (cached) and print the results table",
        "Simulate, tokenize, train every experiment of the preset, dream the test episodes, and compare with "
        "copy-last-frame, constant velocity and the tokenizer's own floor. Finished stages are reused.",
    )

    p = command(
        "bench",
        commands.bench_command,
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
        commands.grid_command,
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
        "--sharpness",
        action="store_true",
        help="write the sharpness of the Rollout U-Net's and ResNet-Rollout's dreams around the cube for every "
        "finished run of theirs (whose id contains --only), as sharpness/<run>.json, from the runs' cached dreams "
        "(a run without them trains and dreams again, within 1%% of its record's best validation loss)",
    )
    p.add_argument(
        "--executor",
        choices=commands.EXECUTOR_NAMES,
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
    p.set_defaults(func=partial(paper_scale_run.main, draw_figures=draw_figures))
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
