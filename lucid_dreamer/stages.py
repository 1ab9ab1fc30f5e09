"""Cached pipeline stages: each is a function of a preset that returns its product's folder.

A product lives in `artifacts/<preset>/<stage>/<hash of the configs that made it>/`. It is
built in a hidden temporary folder and renamed into place only when complete, so a run that
is killed half way leaves nothing a later run would trust; the next run rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy, save_file as save_numpy
from safetensors.torch import load_file as load_torch, save_file as save_torch

from .data import Normalizer, split_episodes
from .errors import UserError
from .presets import Preset
from .tokenizer import ConvTokenizer, round_trip_report, train_tokenizer
from .track import track, tracking_error
from .world import simulate


def artifacts_root() -> Path:
    """Where products are cached: $LUCID_DREAMER_ARTIFACTS, else ./artifacts."""
    return Path(os.environ.get("LUCID_DREAMER_ARTIFACTS", "artifacts"))


def config_hash(*configs) -> str:
    """A short stable hash of dataclass configs."""
    text = json.dumps([[type(c).__name__, asdict(c)] for c in configs], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cached(stage: str, preset: Preset, configs: tuple, build: Callable[[Path], None], force: bool = False) -> Path:
    """The folder of `stage`'s product for `configs`, built by `build(folder)` if missing."""
    final = artifacts_root() / preset.name / stage / config_hash(*configs)
    if final.is_dir() and not force:
        return final
    tmp = final.with_name(f".{final.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)  # left by an interrupted run
    tmp.mkdir(parents=True)
    try:
        build(tmp)
        (tmp / "config.json").write_text(
            json.dumps({"stage": stage, "preset": preset.name, "configs": [asdict(c) for c in configs]}, indent=1)
        )
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n")


def simulate_stage(preset: Preset, progress: bool = True, force: bool = False) -> Path:
    """Render every episode; also measure the tracker against the projected cube centre."""

    def build(out: Path) -> None:
        start = time.perf_counter()
        episodes = simulate(preset.world, progress)
        seconds = time.perf_counter() - start
        episodes["in_view"] = episodes["in_view"].astype(np.uint8)
        save_numpy(episodes, out / "episodes.safetensors")
        truth = np.where(episodes["in_view"][..., None].astype(bool), episodes["pixel"], np.nan)
        err = tracking_error(track(episodes["frames"]), truth)
        _write_json(out / "report.json", {"seconds": seconds, "tracker_vs_truth": asdict(err)})

    return cached("simulate", preset, (preset.world,), build, force)


def load_episodes(preset: Preset, progress: bool = True) -> dict[str, np.ndarray]:
    """Frames [E, T, H, W, 3] and cube states of the preset's episodes (simulated if needed)."""
    episodes = load_numpy(simulate_stage(preset, progress) / "episodes.safetensors")
    episodes["in_view"] = episodes["in_view"].astype(bool)
    return episodes


def tokenizer_stage(preset: Preset, progress: bool = True, force: bool = False) -> Path:
    """Train the built-in tokenizer on training episodes; report its round trip on test ones."""

    def build(out: Path) -> None:
        episodes = load_episodes(preset, progress)
        splits = split_episodes(preset.world.episodes, preset.data)
        train = episodes["frames"][splits["train"]]
        centres = np.where(episodes["in_view"][..., None], episodes["pixel"], np.nan)[splits["train"]]
        start = time.perf_counter()
        tokenizer = train_tokenizer(train.reshape(-1, *train.shape[2:]), centres.reshape(-1, 2), preset.tokenizer, progress)
        seconds = time.perf_counter() - start
        tokenizer.save(out)
        report = round_trip_report(tokenizer, episodes["frames"][splits["test"]])
        _write_json(out / "report.json", {"train_seconds": seconds, "test_round_trip": report})

    return cached("tokenizer", preset, (preset.world, preset.tokenizer, preset.data), build, force)


def load_tokenizer(preset: Preset, progress: bool = True) -> ConvTokenizer:
    return ConvTokenizer.load(tokenizer_stage(preset, progress))


def latents_stage(preset: Preset, progress: bool = True, force: bool = False) -> Path:
    """Encode every episode; fit normalisation statistics on the training episodes only."""

    def build(out: Path) -> None:
        frames = load_episodes(preset, progress)["frames"]
        tokenizer = load_tokenizer(preset, progress)
        latents = tokenizer.encode(frames.reshape(-1, *frames.shape[2:]))
        latents = latents.reshape(*frames.shape[:2], *latents.shape[1:])
        save_torch({"latents": latents.contiguous()}, out / "latents.safetensors")
        train = latents[split_episodes(len(latents), preset.data)["train"]]
        _write_json(out / "stats.json", {k: Normalizer.fit(train, k).to_json() for k in ("channel", "scalar")})

    return cached("latents", preset, (preset.world, preset.tokenizer, preset.data), build, force)


def load_latents(preset: Preset, progress: bool = True) -> tuple[torch.Tensor, Normalizer]:
    """Raw latents [E, T, 16, h, w] and the preset's `Normalizer` (fit on training episodes)."""
    folder = latents_stage(preset, progress)
    try:
        latents = load_torch(folder / "latents.safetensors")["latents"]
        stats = json.loads((folder / "stats.json").read_text())
    except (OSError, ValueError, KeyError, SafetensorError) as e:
        raise UserError(f"the cached latents in {folder} are unreadable ({e}); delete that folder and rerun") from e
    return latents, Normalizer.from_json(stats[preset.data.normalization])
