"""The stage cache: how a product is found, taken from the shipped weights, or built, exactly once.

A product lives in `artifacts/<preset>/<stage>/<hash of the configs that made it>/` (`paths`). It is
built in a hidden temporary folder and renamed into place only when complete, so a run that is killed
half way leaves nothing a later run would trust; the next run rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from functools import partial
from pathlib import Path

import torch
from filelock import FileLock

from ..method.atomic import atomic_write
from . import paths, weights
from .presets import Preset


def _plain(config):
    return [type(config).__name__, asdict(config)] if is_dataclass(config) else config


def config_hash(*configs) -> str:
    """A short stable hash of configs (dataclasses or JSON values)."""
    text = json.dumps([_plain(c) for c in configs], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


BUILD_LOG = "LUCID_DREAMER_BUILD_LOG"
"""Environment variable naming a file to which every finished build appends a JSON line (stage, entry,
host, pid, threads, whether it continued an unfinished build): which worker built what, and how."""


def cached(
    stage: str,
    preset: Preset,
    configs: tuple,
    build: Callable[[Path], None],
    force: bool = False,
    resumable: bool = False,
) -> Path:
    """The folder of `stage`'s product for `configs`, built by `build(folder)` if missing.

    A `resumable` stage keeps its unfinished folder when interrupted, and `build` continues
    from what is there (training resumes from its last checkpoint); any other stage starts over.

    Processes that share the cache (grid workers) build an entry once: the build runs holding an
    OS lock on `.<hash>.lock` beside the entry, which dies with its holder, and a process that waited
    for it finds the product finished. Builds lock downstream before upstream (a training waits for
    the latents, never the reverse), so waiting builds never form a cycle.
    """
    final = paths.artifacts_root() / preset.name / stage / config_hash(*configs)
    if final.is_dir() and not force:
        return final  # entries appear by a rename, complete: reading one needs no lock
    final.parent.mkdir(parents=True, exist_ok=True)
    if not force and (shipped := weights.find(preset.name, stage, final.name, final.parent.parent)) is not None:
        build = partial(weights.copy_entry, shipped)  # the repository's weights for exactly these configs
        resumable = False
    # Without flock (some network filesystems) filelock would fall back to a lock file, which a worker
    # killed on another node leaves behind for good, blocking the others: an error is better.
    with FileLock(final.with_name(f".{final.name}.lock"), fallback_to_soft=False):
        if final.is_dir() and not force:
            return final  # another process built it while this one waited
        with atomic_write(final, keep_partial=resumable) as tmp:
            if not resumable or force:
                shutil.rmtree(tmp, ignore_errors=True)
            resumed = tmp.is_dir() and any(tmp.iterdir())
            tmp.mkdir(parents=True, exist_ok=True)
            build(tmp)
            (tmp / "config.json").write_text(
                json.dumps({"stage": stage, "preset": preset.name, "configs": [_plain(c) for c in configs]}, indent=1)
            )
        _log_build(stage, final, resumed)
    return final


def _log_build(stage: str, folder: Path, resumed: bool) -> None:
    if path := os.environ.get(BUILD_LOG):
        line = {"stage": stage, "entry": folder.name, "host": socket.gethostname(), "pid": os.getpid()}
        line |= {"threads": torch.get_num_threads(), "resumed": resumed}  # float sums depend on the threads
        with open(path, "a") as log:  # one short append per line: whole lines from concurrent local workers
            log.write(json.dumps(line) + "\n")
