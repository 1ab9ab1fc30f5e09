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

This module (the sizes, the start-up check and the stage runner) imports only the standard library and
`offline`, so `--check` can say what is missing first; the run itself is `paper_scale_run`.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
