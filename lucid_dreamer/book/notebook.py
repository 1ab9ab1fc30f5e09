"""Helpers the notebooks share: where to write, provenance, figures and their data.

Figures go to `figures/` and their numbers to `figures/data/` for real presets; the `smoke`
preset (CI) writes under `artifacts/smoke/figures/` so it never overwrites published results
(`pipeline.paths.figures_root` decides).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..method.atomic import atomic_write
from ..pipeline import paths
from ..pipeline.presets import Preset, get_preset, seeds
from ..pipeline.provenance import caption, provenance


@dataclass
class Notebook:
    """One notebook's run: its preset, provenance and output folders."""

    name: str
    preset: Preset
    record: dict = field(init=False)
    figures: Path = field(init=False)

    def __post_init__(self) -> None:
        self.record = provenance(self.name, self.preset.name) | {"seeds": seeds(self.preset)}
        self.figures = paths.figures_root(self.preset)
        (self.figures / "data").mkdir(parents=True, exist_ok=True)

    @property
    def source(self) -> str:
        """The provenance line printed under each figure."""
        return caption(self.record)

    def save_figure(self, fig, name: str):
        with atomic_write(self.figures / f"{name}.png") as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        return fig

    def video_html(self, path: Path, width: int) -> str:
        """A player for a saved video that loads it only when played, rather than embedding it in the
        page: from the built book's root (where `_config.yml`'s `html_extra_path` copies
        `figures/<name>.mp4`) or, in Jupyter, from the repository beside the notebooks folder; the
        browser takes the first source it finds."""
        local = path.resolve().relative_to(paths.repo_root()).as_posix()
        return (
            f'<video controls loop muted preload="none" width="{width}" style="max-width: 100%; height: auto">'
            f'<source src="../{path.name}" type="video/mp4"><source src="../{local}" type="video/mp4"></video>'
        )

    def save_data(self, name: str, data) -> None:
        """Write `data` with its provenance to `figures/data/<name>.json` (silently: a notebook cell that
        ends with it prints nothing)."""
        record = {"provenance": self.record, "data": data}
        with atomic_write(self.figures / "data" / f"{name}.json") as tmp:
            tmp.write_text(json.dumps(record, indent=1, default=float) + "\n")


def start(name: str, preset: str | None = None) -> Notebook:
    """Begin a notebook: run from the repository root (so `artifacts/` is shared) and pick the preset."""
    os.chdir(paths.repo_root())
    return Notebook(name, get_preset(preset))
