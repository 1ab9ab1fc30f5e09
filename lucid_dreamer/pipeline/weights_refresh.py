"""`make weights`: refresh the shipped weights (`weights/<preset>/`) from the stage cache.

The entries shipped are what chapters 4 and 5 need (`main_entries`), built if missing; `weights` is
how the stages find and copy them back.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from . import grid, paths, stages, weights
from .presets import get_preset, one_step_experiment


def main_entries(preset_name: str = "cpu") -> list[Path]:
    """The cache folders of what chapters 4 and 5 need: the tokenizer, both ResNet-Rollout runs, the
    one-step model and Probabilistic Plus (seed 0 of the grid), built if missing."""
    preset = get_preset(preset_name)
    rival = grid.find_run(preset, "rivals__probabilistic_plus__seed0").experiment
    experiments = (*preset.experiments, one_step_experiment(preset), rival)
    return [stages.tokenizer_stage(preset)] + [stages.train_stage(preset, e) for e in experiments]


def refresh(preset_name: str = "cpu") -> list[Path]:
    """Make `weights/<preset>/` hold exactly the main entries (unchanged ones are left alone)."""
    entries = main_entries(preset_name)
    wanted = {(folder.parent.name, folder.name): folder for folder in entries}
    root = paths.WEIGHTS_ROOT / preset_name
    tokenizer = entries[0]
    note = {"tokenizer_entry": tokenizer.name, "sha256": weights.sha256(tokenizer / "tokenizer.safetensors")}
    for stage_dir in root.glob("*/*"):
        if (stage_dir.parent.name, stage_dir.name) not in wanted:
            shutil.rmtree(stage_dir)
    for (stage, entry), folder in wanted.items():
        if not (root / stage / entry).is_dir():
            weights.copy_entry(folder, root / stage / entry)
            if stage == "train":
                (root / stage / entry / weights.TOKENIZER_NOTE).write_text(json.dumps(note, indent=1) + "\n")
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    if size > weights.LIMIT_BYTES:
        raise RuntimeError(
            f"the shipped weights weigh {size / 2**20:.1f} MiB, more than {weights.LIMIT_BYTES / 2**20:.0f}"
        )
    return sorted(root / stage / entry for stage, entry in wanted)


if __name__ == "__main__":
    for path in refresh(os.environ.get("LUCID_DREAMER_PRESET", "cpu")):
        print(path)
