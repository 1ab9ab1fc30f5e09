"""How long `lucid-dreamer paper-scale` should take on one H100/H200-class GPU, estimated before any GPU run.

The estimate is arithmetic on three kinds of numbers, each labelled as what it is in the JSON it writes
(`figures/data/paper_scale/estimate.json`, which the book's paper-scale page shows):

- **counted**: FLOPs and tensor bytes of each piece of GPU work (a training sample of ResNet-Rollout at
  64 x 64 latents, from the committed CPU benchmark `figures/data/bench.json`; a tokenizer training step, a
  frame encoded and decoded, a dreamed frame: counted here by torch's FLOP counter);
- **measured on this CPU**: the CPU work that stays on the CPU on the GPU machine too (both trackers on a
  512 px frame, a tokenizer step's crop sampling), timed here on a few frames;
- **assumed**: the GPU's arithmetic (dense bf16 / TF32 tensor-core rates and HBM bandwidth from NVIDIA's
  data sheets, the share of them small convolutions reach, a floor per step for kernel launches), MuJoCo's
  rendering rate through EGL, and how much the GPU machine's 16 cores speed up tracking.

Each stage's time is the largest of its arithmetic, its memory traffic and its launch floor, plus its CPU
work; a stage's CPU and GPU work are not overlapped in the pipeline, so they add.

`python -m lucid_dreamer.paper_estimate` rewrites the JSON; `--from-json` prints the committed one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

from ..method import track
from ..method.models import ModelConfig, build_model
from ..method.tokenizer import ConvAutoencoder, sample_crops
from ..method.world import World
from .costs import flops_and_bytes
from .paper_scale import GPU, Sizes
from .paths import PAPER_SCALE_ESTIMATE
from .presets import PRESETS
from .provenance import provenance

GPUS = {
    # NVIDIA's data sheets (SXM parts, dense, i.e. without 2:4 sparsity)
    "H100 SXM": {"bf16_tflops": 989.0, "tf32_tflops": 494.0, "hbm_tb_per_s": 3.35},
    "H200": {"bf16_tflops": 989.0, "tf32_tflops": 494.0, "hbm_tb_per_s": 4.8},
}
"""Peak rates assumed (data sheets; an 8192^3 bf16 matmul measured 770 to 800 TFLOP/s on this workplace's
H200, about 80% of the sheet)."""

ASSUMPTIONS = {
    "conv_share_of_peak": 0.2,
    "memory_share_of_peak": 0.5,
    "train_step_floor_s": 0.004,
    "tokenizer_step_floor_s": 0.002,
    "dream_frame_floor_s": 0.0008,
    "render_s_per_frame": 0.004,
    "tracking_speedup": 8.0,
    "compile_s": 90.0,
    "startup_s": 20.0,
    "figures_s": 10.0,
}
"""What the estimate assumes, each explained in `EXPLAINED`."""

EXPLAINED = {
    "conv_share_of_peak": "share of the dense tensor-core rate that the small convolutions (16 to 96 channels) reach",
    "memory_share_of_peak": "share of HBM bandwidth reached; the byte counts (every operator's inputs and outputs, "
    "float32) are an upper bound on traffic",
    "train_step_floor_s": "least time of one training step (R = 4 rollout, backward, AdamW): kernel launches",
    "tokenizer_step_floor_s": "least time of one tokenizer step: kernel launches",
    "dream_frame_floor_s": "least time of one dreamed frame for all episodes together: kernel launches",
    "render_s_per_frame": "MuJoCo physics, EGL rendering and read-back of one 512 px frame on the GPU machine",
    "tracking_speedup": "tracking spread over the GPU machine's 16 cores (threads; measured here on 1 core)",
    "compile_s": "torch.compile's first calls in the bench (training and dreaming shapes)",
    "startup_s": "Python, torch and CUDA start-up, and installing the wheels",
    "figures_s": "the three figures",
}


def _flops_bytes(fn) -> tuple[float, float]:
    """`costs.flops_and_bytes`, imported only when an estimate is made (torch is heavy)."""
    return flops_and_bytes(fn)


def counted(sizes: Sizes) -> dict:
    """FLOPs and bytes of each piece of GPU work at `sizes` (counted on the CPU, shapes only matter)."""
    import torch

    tok = PRESETS["paper"].tokenizer
    net = ConvAutoencoder(tok.widths)
    crop = min(tok.crop, sizes.resolution)
    batch = torch.randn(tok.batch_size, 3, crop, crop)
    frame = torch.randn(1, 3, sizes.resolution, sizes.resolution)
    latent = torch.randn(1, 16, sizes.resolution // 8, sizes.resolution // 8)
    with torch.no_grad():
        encode = _flops_bytes(lambda: net.encoder(frame))
        decode = _flops_bytes(lambda: net.decoder(latent))
        model = build_model(ModelConfig()).eval()
        dream = _flops_bytes(lambda: model(torch.randn(1, 4, 16, sizes.resolution // 8, sizes.resolution // 8)))
    step = _flops_bytes(lambda: net.decoder(net.encoder(batch)).abs().mean().backward())
    bench = json.loads(Path("figures/data/bench.json").read_text())["data"]
    cost = (
        bench["train"][str(sizes.resolution // 8)]["cost_per_sample"]
        if str(sizes.resolution // 8) in bench["train"]
        else None
    )
    return {
        "train_sample": cost["conv2d"] if cost else None,
        "train_sample_conv3d": cost["conv3d"] if cost else None,
        "tokenizer_step": {"flops": step[0], "bytes": step[1]},
        "encode_frame": {"flops": encode[0], "bytes": encode[1]},
        "decode_frame": {"flops": decode[0], "bytes": decode[1]},
        "dream_frame": {"flops": dream[0], "bytes": dream[1]},
        "source": "train samples: figures/data/bench.json (cost_per_sample, float32 counts); the rest counted "
        "here by torch.utils.flop_counter",
        "cpu_bench": {
            "device": bench["hardware"]["capability"],
            "samples_per_s": {k: v["median"] for k, v in bench["train"]["64"]["samples_per_s"].items()},
        },
    }


def _best(fn, repeats: int = 3) -> float:
    """The least of `repeats` CPU-time readings of `fn()` in seconds: the process's own CPU seconds, which
    other jobs sharing the cores do not inflate the way they inflate wall time."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def measured(sizes: Sizes, frames: int = 24) -> dict:
    """CPU seconds per 512 px frame of each tracker pass, and of a tokenizer step's crop sampling (the CPU
    work that stays on the CPU on the GPU machine), timed here on a few rendered frames."""
    import cv2
    import numpy as np
    import torch

    threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)  # one core's rate; `tracking_speedup` is the GPU machine's cores
    cv2.setNumThreads(1)
    try:
        world = replace(PRESETS["paper"].world, resolution=sizes.resolution, frames_per_episode=frames)
        start = time.perf_counter()
        with World(world) as w:
            rendered = w.episode(0).frames
        render = (time.perf_counter() - start) / frames
        tok = PRESETS["paper"].tokenizer
        centres = np.full((frames, 2), sizes.resolution / 2)
        data, rng = torch.from_numpy(rendered), np.random.default_rng(0)
        area = track.expected_cube_area(rendered)

        def crops():
            for _ in range(10):
                track.red_mask(sample_crops(data, centres, tok, rng).numpy())

        area_s = _best(lambda: track.expected_cube_area(rendered)) / frames
        cube_s = _best(lambda: track.track_cube(rendered, area)) / frames
        paper_s = _best(lambda: track.track_paper(rendered, dreamed=True)) / frames
        crop_s = _best(crops) / 10
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv2_threads)
    return {
        "cube_area_s_per_frame": area_s,
        "cube_tracker_s_per_frame": cube_s,
        "paper_tracker_s_per_frame": paper_s,
        "tokenizer_crops_s_per_step": crop_s,
        "cpu_render_s_per_frame": render,
        "frames": frames,
        "load_average": os.getloadavg()[0],
        "note": "CPU seconds of one thread on this workplace's 2-core CPU (AMD EPYC), shared with other jobs "
        "(load_average: runnable processes then; CPU time, unlike wall time, is barely inflated by them); "
        "each the least of 3 readings; the render time is wall time of MuJoCo's software EGL here, not used",
    }


def stage_seconds(sizes: Sizes, gpu: dict, c: dict, m: dict, a: dict = ASSUMPTIONS) -> dict:
    """Seconds of each stage of `paper_scale` at `sizes` on `gpu`, from counts `c`, CPU timings `m` and
    assumptions `a`."""
    bf16 = gpu["bf16_tflops"] * 1e12 * a["conv_share_of_peak"]
    tf32 = gpu["tf32_tflops"] * 1e12 * a["conv_share_of_peak"]
    bandwidth = gpu["hbm_tb_per_s"] * 1e12 * a["memory_share_of_peak"]

    def gpu_s(cost: dict, n: float, rate: float, floor: float = 0.0) -> float:
        return max(n * cost["flops"] / rate, n * cost["bytes"] / bandwidth, floor)

    k = 4
    every, test = sizes.episodes * sizes.frames, sizes.test_episodes * sizes.frames
    dreamed = sizes.test_episodes * (sizes.frames - k)
    track_one = (m["cube_tracker_s_per_frame"]) / a["tracking_speedup"]
    track_both = (m["cube_tracker_s_per_frame"] + m["paper_tracker_s_per_frame"]) / a["tracking_speedup"]
    area = m["cube_area_s_per_frame"] / a["tracking_speedup"]

    def training(steps: int) -> float:
        step = gpu_s(c["train_sample"], sizes.batch_size, bf16, a["train_step_floor_s"])
        validations = max(1, steps // min(100, steps)) * -(-256 // sizes.batch_size)  # 256 windows, forward only
        return steps * step + validations * a["train_step_floor_s"] / 3

    def dreaming(episodes: int, horizon: int) -> float:
        rollout = horizon * gpu_s(c["dream_frame"], episodes, bf16, a["dream_frame_floor_s"])
        decode = gpu_s(c["decode_frame"], episodes * horizon, tf32)
        return rollout + decode + episodes * horizon * track_both

    encode_all = gpu_s(c["encode_frame"], every, tf32)
    tok_step = gpu_s(c["tokenizer_step"], 1, tf32, a["tokenizer_step_floor_s"]) + m["tokenizer_crops_s_per_step"]
    conditions = every * (area + track_one)
    references = 2 * test * track_both + gpu_s(c["decode_frame"], test, tf32)
    b = sizes.bench
    variants = 7  # reference, Conv2d, indexed, batched dreaming, bf16 autocast, channels_last, compiled
    bench_train = (
        variants
        * (1 + b["repeats"] * b["timed_steps"])
        * gpu_s(
            c["train_sample"],
            b["batch_size"][64] if 64 in b["batch_size"] else sizes.batch_size,
            bf16,
            a["train_step_floor_s"],
        )
    )
    # the reference's Conv3d does 3x the arithmetic, in pure bf16, and its DataLoader builds each window on the CPU
    bench_train += (1 + b["repeats"] * b["timed_steps"]) * 2 * gpu_s(c["train_sample"], 32, bf16)
    bench_dream = (
        variants * b["repeats"] * b["dream_horizon"] * a["dream_frame_floor_s"] * (1 + b["dream_episodes"] / 2)
    )
    bench_quality = 2 * b["quality_steps"] * a["train_step_floor_s"]
    seconds = {
        "startup": a["startup_s"],
        "world": every * a["render_s_per_frame"] + every * (area + track_one),
        "tokenizer": sizes.tokenizer_steps * tok_step
        + gpu_s(c["encode_frame"], test, tf32)
        + gpu_s(c["decode_frame"], test, tf32)
        + test * (area + 2 * track_one)
        + encode_all
        + conditions,
        "paper_settings": training(sizes.train_steps) + dreaming(sizes.test_episodes, sizes.frames - k) + references,
        "tuned": training(sizes.train_steps) + dreaming(sizes.test_episodes, sizes.frames - k),
        # the paper's protocol fits its statistics on episode 0: its latents and conditions are a new entry
        "one_trajectory": training(sizes.train_steps)
        + encode_all
        + conditions
        + dreaming(1, sizes.frames - k)
        + 2 * sizes.frames * track_both,
        "figures": a["figures_s"],
        "bench": bench_train + bench_dream + bench_quality + a["compile_s"] + 5.0,
    }
    seconds["total"] = sum(seconds.values())
    seconds["dreamed_frames"] = dreamed
    return seconds


def estimate(sizes_by_name: dict[str, Sizes] | None = None) -> dict:
    """The estimate for the command's sizes and the `paper` preset's full ones, on each GPU of `GPUS`."""
    paper = PRESETS["paper"]
    full = replace(GPU, tokenizer_steps=paper.tokenizer.steps, episodes=paper.world.episodes)
    sizes_by_name = sizes_by_name or {"command": GPU, "full paper preset": full}
    c, m = counted(GPU), measured(GPU)
    result = {
        "what": "estimated seconds of `lucid-dreamer paper-scale` per stage, before any GPU run",
        "gpus": GPUS,
        "assumptions": {name: {"value": v, "meaning": EXPLAINED[name]} for name, v in ASSUMPTIONS.items()},
        "counted": c,
        "measured_on_cpu": m,
        "sizes": {name: asdict(s) for name, s in sizes_by_name.items()},
        "seconds": {
            name: {gpu: stage_seconds(s, spec, c, m) for gpu, spec in GPUS.items()} for name, s in sizes_by_name.items()
        },
    }
    # how far the total moves if the least certain assumptions are wrong (the command's sizes, on the H200)
    worse = {"tracking_speedup": 1.0, "conv_share_of_peak": 0.05, "train_step_floor_s": 0.012}
    result["sensitivity"] = {
        f"{name} = {value}": stage_seconds(GPU, GPUS["H200"], c, m, {**ASSUMPTIONS, name: value})["total"]
        for name, value in worse.items()
    }

    result["provenance"] = provenance("lucid-dreamer.paper_estimate", "paper")
    return result


def summary(result: dict) -> list[str]:
    """One line per size and GPU: the total in minutes and the largest stages."""
    lines = []
    for name, by_gpu in result["seconds"].items():
        for gpu, s in by_gpu.items():
            stages = {k: v for k, v in s.items() if k not in ("total", "dreamed_frames")}
            top = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])[:3])
            lines.append(f"{name} on {gpu}: {s['total'] / 60:.1f} min ({top})")
    for what, seconds in result.get("sensitivity", {}).items():
        lines.append(f"command on H200 if {what}: {seconds / 60:.1f} min")
    return lines


if __name__ == "__main__":
    import sys

    from ..method.atomic import atomic_write

    if "--from-json" in sys.argv:
        print("\n".join(summary(json.loads(PAPER_SCALE_ESTIMATE.read_text()))))
    else:
        out = estimate()
        PAPER_SCALE_ESTIMATE.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(PAPER_SCALE_ESTIMATE) as tmp:
            tmp.write_text(json.dumps(out, indent=1) + "\n")
        print("\n".join(summary(out)))
        print(f"estimate: {PAPER_SCALE_ESTIMATE}")
