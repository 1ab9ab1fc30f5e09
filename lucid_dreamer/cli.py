"""`lucid-dreamer`: the pipeline's stages from the command line.

A user mistake prints one line (`error: ...`) and exits with 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import UserError

# Heavy modules (torch, MuJoCo) are imported inside the commands: `--help` stays instant and
# an import-time failure (a bad MUJOCO_GL) is reported as a one-line error.
PRESET_NAMES = ("smoke", "cpu", "paper")


def _report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())


def cmd_simulate(args) -> None:
    from . import stages
    from .presets import get_preset

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


def cmd_tokenize(args) -> None:
    from . import stages
    from .presets import get_preset

    preset = get_preset(args.preset)
    if args.frames is None:
        stages.tokenizer_stage(preset, progress=not args.quiet, force=args.force)
        folder = stages.latents_stage(preset, progress=not args.quiet, force=args.force)
        rt = _report(stages.tokenizer_stage(preset))["test_round_trip"]
        print(f"latents: {folder / 'latents.safetensors'} (stats: {folder / 'stats.json'})")
        print(
            f"round trip on test episodes: PSNR {rt['psnr_db']:.1f} dB, centroid moved "
            f"{rt['rmse_px']:.2f} px RMSE, detected {rt['detected']}/{rt['total']}"
        )
        return
    _tokenize_frames(args, preset)


def _tokenize_frames(args, preset) -> None:
    """Encode a user's folder of frames into one latent episode plus its statistics."""
    import torch

    from . import stages
    from safetensors.torch import save_file

    from .data import Normalizer, read_frames
    from .tokenizer import CosmosTokenizer

    if args.output is None:
        raise UserError("--frames needs --output FILE.safetensors")
    frames = read_frames(args.frames)
    if args.cosmos:
        tokenizer = CosmosTokenizer(args.cosmos)
    else:
        tokenizer = stages.load_tokenizer(preset, progress=not args.quiet)
    latents = tokenizer.encode(frames)[None]  # one episode [1, T, 16, h, w]
    if not torch.isfinite(latents).all():
        raise UserError("the tokenizer produced NaN or Inf latents for these frames")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    save_file({"latents": latents.contiguous()}, tmp)
    stats = {k: Normalizer.fit(latents, k).to_json() for k in ("channel", "scalar")}
    stats_path = out.with_suffix(".stats.json")
    stats_path.write_text(json.dumps(stats, indent=1))
    os.replace(tmp, out)
    print(f"latents {list(latents.shape)}: {out} (stats: {stats_path})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lucid-dreamer",
        description="Latent world models of a red cube: simulate, tokenize, train, dream, analyse.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--preset",
            help=f"one of {', '.join(PRESET_NAMES)} (default: $LUCID_DREAMER_PRESET, else cpu)",
        )
        p.add_argument("--force", action="store_true", help="rebuild even if a cached product exists")
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser(
        "simulate",
        help="render the red-cube episodes of a preset",
        description="Render the preset's MuJoCo episodes (frames, cube poses, projected centres) into "
        "artifacts/<preset>/simulate/ and report the tracker's error against the projected centre.",
    )
    common(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "tokenize",
        help="train the tokenizer if needed and encode frames to latents",
        description="Without --frames: train the preset's ConvTokenizer (if not cached), encode all of its "
        "episodes and write per-channel and scalar statistics of the training episodes. With --frames DIR: "
        "encode your own folder of PNG/JPEG frames (sorted by name) as one episode into --output.",
    )
    common(p)
    p.add_argument("--frames", type=Path, help="a folder of your own frames to encode")
    p.add_argument("--output", type=Path, help="with --frames: where to write the latents (.safetensors)")
    p.add_argument("--cosmos", type=Path, help="with --frames: a folder with Cosmos encoder.jit/decoder.jit to use")
    p.set_defaults(func=cmd_tokenize)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished stages are kept, the unfinished one will be redone", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
