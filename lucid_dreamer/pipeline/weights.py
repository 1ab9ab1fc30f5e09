"""Shipped weights: the `cpu` preset's main trained models, kept in the repository (`weights/`).

A reader who clones the repository dreams and analyses (chapters 4 and 5) in minutes instead of
training for an hour: `cache.cached` takes a shipped entry when its configuration hash matches
the one asked for, and builds as usual otherwise, so a changed config never picks up stale
weights. `LUCID_DREAMER_SHIPPED=0` (or `make book FROM_SCRATCH=1`) ignores them and retrains
everything. `weights_refresh` copies the current entries in (`make weights`), only when their
config changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .paths import WEIGHTS_ROOT

SHIPPED_STAGES = ("tokenizer", "train")
"""Stages whose products are shipped: what costs training time."""
KEEP = (
    "shipped.json",
    "config.json",
    "report.json",
    "tokenizer.json",
    "tokenizer.safetensors",
    "best.safetensors",
    "summary.json",
    "log.jsonl",
)
"""Files of an entry that are shipped (not the optimizer's state in `last.safetensors`)."""
LIMIT_BYTES = 10 * 2**20
"""The most the shipped weights may weigh together."""


def enabled() -> bool:
    """Whether stages may take shipped entries ($LUCID_DREAMER_SHIPPED, default on)."""
    return os.environ.get("LUCID_DREAMER_SHIPPED", "1") not in ("0", "false", "no")


TOKENIZER_NOTE = "shipped.json"
"""In a shipped training entry: the tokenizer entry and the hash of the weights it was trained with."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def find(preset: str, stage: str, entry: str, cache: Path) -> Path | None:
    """The shipped folder for a cache entry under `cache` (artifacts/<preset>), if there is one and
    shipped weights are enabled. A model is used only with the tokenizer it was trained on: the one
    in the cache, if it is there, must be bit for bit the shipped one (a tokenizer trained here
    would give other latents)."""
    folder = WEIGHTS_ROOT / preset / stage / entry
    if stage not in SHIPPED_STAGES or not enabled() or not folder.is_dir():
        return None
    if stage == "train":
        note = json.loads((folder / TOKENIZER_NOTE).read_text())
        local = cache / "tokenizer" / note["tokenizer_entry"] / "tokenizer.safetensors"
        shipped = WEIGHTS_ROOT / preset / "tokenizer" / note["tokenizer_entry"]
        if local.exists():
            if sha256(local) != note["sha256"]:
                return None
        elif not shipped.is_dir():
            return None
    return folder


def copy_entry(source: Path, target: Path) -> None:
    """Copy the shipped files of an entry folder."""
    target.mkdir(parents=True, exist_ok=True)
    for name in KEEP:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
