"""The book's paper-scale page (`book/paper_scale.md`), written from the records: the `cpu` preset's rows beside
the paper-scale run's where `figures/data/paper_scale/run/` holds one, "not run: no GPU was available" where it
does not (never a number that was not measured), and the GPU-time estimate with its assumptions.

`python -m lucid_dreamer.paper_scale_book` (`make paper-page`) rewrites the page; the book never runs code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..method.data import split_episodes
from ..method.references import REFERENCES
from ..pipeline import stages
from ..pipeline.paper_scale import FIGURES, RECORD
from ..pipeline.paper_scale_run import Run
from ..pipeline.paths import PAPER_SCALE_DATA
from ..pipeline.provenance import device_name
from . import plots

RUN = PAPER_SCALE_DATA / "run"
"""Where a GPU run's --out folder is committed (paper_scale.json and the figures)."""
PAGE = Path("book/paper_scale.md")
NOT_RUN = "not run: no GPU was available"

ROWS = (
    # (the run's stage and key, label, the cpu preset's report in figures/data/results.json)
    (
        ("paper_settings", None),
        "ResNet-Rollout, the paper's settings (1,500 steps, lr 1e-4)",
        "ResNet-Rollout (paper's settings)",
    ),
    (("tuned", None), "ResNet-Rollout, ours (lr 1e-3)", "ResNet-Rollout (ours: lr 1e-3)"),
    (("one_trajectory", None), "one trajectory, dreamed back (the paper's protocol)", None),
) + tuple((("paper_settings", key), label, label) for key, label in REFERENCES.items())


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _cells(metrics: dict | None) -> tuple[str, str]:
    """Strict RMSE in px at 512 px and detection rate; '-' where there is nothing."""
    if not metrics or "pooled" not in metrics:
        return "-", "-"
    p, scale = metrics["pooled"], 512 / metrics.get("resolution", 512)
    rmse = p["strict_rmse"] * scale
    return (f"{rmse:.1f}" if math.isfinite(rmse) else "-"), f"{p['detection_rate']:.0%}"


def _run_metrics(run: dict, stage: str, key: str | None) -> tuple[dict | None, str | None]:
    """A row's metrics in the run, or why there are none (the stage's status)."""
    record = run["stages"].get(stage, {})
    if record.get("status") != "done":
        return None, f"{record.get('status', 'not run')}: {record.get('reason') or record.get('error') or ''}".strip(
            ": "
        )
    return (record["dream"] if key is None else record["references"][key]), None


def results_table(root: Path = Path(".")) -> list[str]:
    cpu = (_read(root / "figures/data/results.json") or {}).get("data", {}).get("reports", {})
    one = (_read(root / "figures/data/grid/cpu/one_trajectory__paper__seed0.json") or {}).get("metrics")
    run = _read(root / RUN / RECORD)
    lines = [
        "| model | cpu preset: strict RMSE (px at 512) | cpu preset: detection | paper scale: strict RMSE (px at 512) "
        "| paper scale: detection |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (stage, key), label, cpu_name in ROWS:
        here = _cells(cpu.get(cpu_name) if cpu_name else one)
        if run is None:
            there = (NOT_RUN, NOT_RUN)
        else:
            metrics, why = _run_metrics(run, stage, key)
            there = _cells(metrics) if why is None else (why, why)
        lines.append(f"| {label} | {here[0]} | {here[1]} | {there[0]} | {there[1]} |")
    return lines


def bench_table(root: Path = Path(".")) -> list[str]:
    cpu = (_read(root / "figures/data/bench.json") or {}).get("data")
    run = _read(root / RUN / RECORD)
    gpu = (run or {}).get("stages", {}).get("bench", {})
    lines = [
        "| variant | cpu: train 64x64 (samples/s) | cpu: dream 16x16 (frames/s) | GPU: train 64x64 (samples/s) "
        "| GPU: dream 64x64 (frames/s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    names = list(dict.fromkeys((cpu or {}).get("variants", []) + gpu.get("variants", [])))
    for name in names:
        cells = []
        gpu_done = gpu if gpu.get("status") == "done" else None
        for column, result, size in (("cpu", cpu, "64"), ("gpu", gpu_done, "64")):
            if result is None:
                missing = "-" if column == "cpu" else NOT_RUN if run is None else gpu.get("status", "not run")
                cells += [missing] * 2
                continue
            train = result["train"].get(size, {}).get("samples_per_s", {}).get(name)
            dream = result["dream"]["frames_per_s"].get(name)
            cells += [f"{train['median']:.1f}" if train else "-", f"{dream['median']:.0f}" if dream else "-"]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return lines


ESTIMATE_STAGES = {
    "startup": "start-up",
    "paper_settings": "the paper's settings",
    "tuned": "ours (lr 1e-3)",
    "one_trajectory": "one trajectory",
}
"""The estimate's stages as the page's table heads them (the others by their own name)."""


def estimate_section(root: Path = Path(".")) -> list[str]:
    est = _read(root / PAPER_SCALE_DATA / "estimate.json")
    if est is None:
        return ["No estimate is committed; `make paper-estimate` writes one."]
    stages = [
        k for k in next(iter(next(iter(est["seconds"].values())).values())) if k not in ("dreamed_frames", "total")
    ]
    lines = [
        "| sizes | GPU | total | " + " | ".join(ESTIMATE_STAGES.get(k, k) for k in stages) + " |",
        "| --- | --- | --- |" + " --- |" * len(stages),
    ]
    for name, by_gpu in est["seconds"].items():
        for gpu, s in by_gpu.items():
            total = f"{s['total']:.0f} s ({s['total'] / 60:.1f} min)"
            lines.append(f"| {name} | {gpu} | {total} | {' | '.join(f'{s[k]:.0f}' for k in stages)} |")
    lines += ["", "What it assumes (not measured here):", ""]
    lines += [f"- `{k}` = {a['value']}: {a['meaning']}." for k, a in est["assumptions"].items()]
    lines += [
        f"- {gpu}: {g['bf16_tflops']:.0f} TFLOP/s dense bf16, {g['tf32_tflops']:.0f} TF32, "
        f"{g['hbm_tb_per_s']} TB/s (data sheet)."
        for gpu, g in est["gpus"].items()
    ]
    m = est["measured_on_cpu"]
    lines += [
        "",
        f"What it measured on this CPU ({m['note']}; load average {m['load_average']:.1f}): our tracker "
        f"{m['cube_tracker_s_per_frame'] * 1e3:.1f} ms and the paper's {m['paper_tracker_s_per_frame'] * 1e3:.1f} ms "
        f"per 512 px frame, the expected cube area {m['cube_area_s_per_frame'] * 1e3:.1f} ms per frame, a tokenizer "
        f"step's crops {m['tokenizer_crops_s_per_step'] * 1e3:.0f} ms. What it counted: "
        f"{est['counted']['train_sample']['flops'] / 1e9:.1f} GFLOP per training sample at 64x64 latents "
        f"(`figures/data/bench.json`), {est['counted']['tokenizer_step']['flops'] / 1e9:.1f} GFLOP per tokenizer step.",
        "",
        "If the least certain assumptions are wrong (the command's sizes on the H200): "
        + "; ".join(f"{k}: {v / 60:.1f} min" for k, v in est.get("sensitivity", {}).items())
        + ". The run paces itself by this estimate: a stage that would not fit the budget at the pace of the "
        "finished stages is not started, and is recorded as not run.",
    ]
    return lines


def render(root: Path = Path(".")) -> str:
    run = _read(root / RUN / RECORD)
    if run is None:
        status = (
            f"**{NOT_RUN}.** No paper-scale records are committed under `{RUN}/`; the columns for the paper "
            "scale say so and hold no number."
        )
    else:
        p = run["provenance"]
        status = (
            f"Paper-scale records: `{RUN / RECORD}`, made on {p.get('gpu', p['device'])} in "
            f"{p['precision']['precision']} at commit {p['commit']} on {p['date']}, {run['seconds']:.0f} s in all "
            f"(budget {run['budget_s']:.0f} s). Stages: "
            + ", ".join(f"{k} {v['status']}" for k, v in run["stages"].items())
            + "."
        )
    figures = [f"![{name}](../{RUN}/{name})" for name in FIGURES if (root / RUN / name).exists()] if run else []
    text = [
        "# The paper's scale on one GPU",
        "",
        "Every verdict elsewhere in this book is made at the `cpu` preset: 128 px frames and 16x16 latents. The "
        "paper's results are at 512 px with 64x64 latents, trained on a GPU. One command runs the `paper` preset's "
        "world and recipe on one CUDA GPU within 8 minutes and writes its records into one folder:",
        "",
        "```bash",
        "make wheels                                   # once, where pip reaches an index: wheels/ (ignored by git)",
        "make paper-scale OUT_DIR=paper_scale_out      # on the GPU machine, wheels/ beside the checkout",
        "scripts/gpu_run.sh OUT_DIR COMMIT             # the same where the machine lacks EGL loaders or git",
        "lucid-dreamer paper-scale --check             # what is missing there, one line each",
        "lucid-dreamer paper-scale --dry-run --out DIR # every stage at a reduced size on the CPU (a slow test)",
        "```",
        "",
        "It renders 64 episodes of 101 frames at 512 px (MuJoCo through EGL), trains the tokenizer for 1,000 steps "
        "(the preset's 6,000 do not fit), trains ResNet-Rollout at the paper's settings (1,500 steps, lr 1e-4, "
        "batch 32) and at ours (lr 1e-3), dreams the 16 held-out test episodes and the paper's one trajectory, "
        "tracks them with both trackers, and benches the paper's implementation against ours (bf16, channels-last, "
        "torch.compile). `paper_scale.json` names the GPU, the precision and the commit. Copied to "
        f"`{RUN}/` and committed, the records fill the columns below (`make paper-page`).",
        "",
        status,
        "",
        "## Results: held-out test episodes",
        "",
        "Strict RMSE: a frame where the tracker misses the cube costs the frame's diagonal; the cpu preset's "
        "distances are scaled to 512 px. The one-trajectory row's cpu value is the grid's seed 0.",
        "",
        *results_table(root),
        "",
        "## Speed: the paper's implementation against ours",
        "",
        *bench_table(root),
        "",
        *figures,
        "## How long it should take, estimated before any GPU run",
        "",
        "From `figures/data/paper_scale/estimate.json` (`make paper-estimate`), seconds per stage:",
        "",
        *estimate_section(root),
        "",
    ]
    return "\n".join(text)


def draw_figures(run: Run) -> list[str]:
    """The paper-scale run's figures (`paper_scale.FIGURES`), drawn into `run.out`: the error by horizon,
    the training curves, and six frames of the first test episode with each setting's dream."""
    source = f"lucid-dreamer paper-scale | {device_name()}"
    p, written = run.preset, []
    fig = plots.error_by_horizon(run.dreams, p.world.resolution, source)
    fig.savefig(run.out / FIGURES[1], dpi=80)
    written.append(FIGURES[1])
    logs = {}
    for e in p.experiments:
        lines = (stages.train_stage(p, e, run.progress) / "log.jsonl").read_text().splitlines()
        logs[e.label] = [json.loads(line) for line in lines]
    fig = plots.training_curves(logs, source)
    fig.savefig(run.out / FIGURES[2], dpi=80)
    written.append(FIGURES[2])
    # six frames of the first test episode: the truth and each setting's dream
    k = p.experiments[0].model.context_frames
    first = split_episodes(p.world.episodes, p.data)["test"][0]
    truth = stages.load_episodes(p, run.progress)["frames"][first, k:]
    every = np.linspace(0, len(truth) - 1, 6).astype(int)
    rows = [truth[every]] + [stages.load_dream_frames(p, e, run.progress)[0][every] for e in p.experiments]
    labels = ["truth", *("dream: " + ("paper's" if i == 0 else "ours") for i in range(len(p.experiments)))]
    fig = plots.frame_grid(np.stack(rows), [f"frame {k + 1 + t}" for t in every], labels, source)
    fig.savefig(run.out / FIGURES[0], dpi=80)
    written.append(FIGURES[0])
    plt.close("all")
    return written


if __name__ == "__main__":
    PAGE.write_text(render())
    print(f"page: {PAGE}")
