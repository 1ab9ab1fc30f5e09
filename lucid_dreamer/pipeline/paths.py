"""Where every product and record goes: the one module that decides the pipeline's paths.

- `artifacts_root()`: the stage cache (`artifacts/<preset>/<stage>/<config hash>/`) and the grid's job
  bookkeeping (`jobs_dir`, `run_lock_path`), rebuilt at will, never committed;
- `figures_root(preset)`: figures and their numbers (`figures/`, or `artifacts/smoke/figures/` for the
  `smoke` preset, so CI never overwrites published results), with the grid's records under it
  (`grid_records_dir`, `tracks_path`), committed;
- `WEIGHTS_ROOT`: the shipped weights (`weights/`), and `PAPER_SCALE_DATA`: the paper-scale run's
  estimate and records, both in the package's own repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..method.atomic import check_writable

if TYPE_CHECKING:  # for annotations only: paths stays light (`paper_scale --check` imports it first)
    from .presets import Preset

PACKAGE_REPOSITORY = Path(__file__).resolve().parents[2]
"""The repository this package was installed from (editable installs and a checkout alike)."""
WEIGHTS_ROOT = PACKAGE_REPOSITORY / "weights"
"""`weights/<preset>/<stage>/<config hash>/`, laid out like the stage cache."""
PAPER_SCALE_DATA = Path("figures/data/paper_scale")
"""The paper-scale run's committed records and figures, relative to the repository root."""
PAPER_SCALE_ESTIMATE = PACKAGE_REPOSITORY / PAPER_SCALE_DATA / "estimate.json"
"""The paper-scale estimate (`paper_estimate`), which sizes the paper-scale run."""


def artifacts_root() -> Path:
    """Where products are cached: $LUCID_DREAMER_ARTIFACTS, else ./artifacts (a `UserError` if that
    names a file, or a path under one)."""
    root = Path(os.environ.get("LUCID_DREAMER_ARTIFACTS", "artifacts"))
    what = "LUCID_DREAMER_ARTIFACTS" if "LUCID_DREAMER_ARTIFACTS" in os.environ else "the artifacts folder"
    check_writable(root, what, folder=True, probe=False)
    return root


def repo_root() -> Path:
    """The folder holding `_toc.yml`, searched upwards from the working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists():
            return folder
    return here


def figures_root(preset: Preset) -> Path:
    """Where figures and their data go: `figures/`, or `artifacts/smoke/figures/` for the smoke preset."""
    return repo_root() / ("artifacts/smoke/figures" if preset.name == "smoke" else "figures")


def grid_records_dir(preset: Preset) -> Path:
    """`figures/data/grid/<preset>/`: one record per grid run (`<run id>.json`), committed."""
    return figures_root(preset) / "data" / "grid" / preset.name


def sharpness_path(preset: Preset, run_id: str) -> Path:
    """A grid run's dream sharpness per test episode (`grid_sharpness`), beside its record."""
    return grid_records_dir(preset) / "sharpness" / f"{run_id}.json"


def tracks_path(preset: Preset, name: str) -> Path:
    """Per-frame centroids by both trackers (px of the rendered frames, to 0.1 px, NaN as null), so a
    new metric never needs a run again: a run's dreams (`<run id>.json`, naming its truth file) and
    the true tracks of its world's test episodes (`truth__<data hash>__k<K>.json`)."""
    return grid_records_dir(preset) / "tracks" / f"{name}.json"


def jobs_dir(preset: Preset) -> Path:
    """`artifacts/<preset>/jobs/`: the runs' locks, the executors' bookkeeping and the job folders."""
    return artifacts_root() / preset.name / "jobs"


def run_lock_path(preset: Preset, run_id: str) -> Path:
    """The lock a process holds while it runs `run_id`."""
    return jobs_dir(preset) / "runs" / f"{run_id}.lock"
