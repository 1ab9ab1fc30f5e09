"""Helpers the notebooks share: where to write, provenance, figures and their data.

Figures go to `figures/` and their numbers to `figures/data/` for real presets; the `smoke`
preset (CI) writes under `artifacts/smoke/figures/` so it never overwrites published results
(`pipeline.paths.figures_root` decides).
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..method.atomic import atomic_write
from ..pipeline import paths
from ..pipeline.presets import Preset, get_preset, seeds
from ..pipeline.provenance import caption, provenance
from .figure_style import wrap

HEADER_CHARS = 76
"""The widest line a notebook prints: the book's output boxes hold 77 characters at 1280 px (narrower
windows scroll them)."""
SAVE_DPI = 220
"""Figures saved to `figures/` at twice the book's 110 dpi, sharp on a phone or a high-density screen."""


@dataclass
class Notebook:
    """One notebook's run: its preset, provenance and output folders."""

    name: str
    preset: Preset
    record: dict = field(init=False)
    figures: Path = field(init=False)
    started: float = field(init=False, default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.record = provenance(self.name, self.preset.name) | {"seeds": seeds(self.preset)}
        self.figures = paths.figures_root(self.preset)
        (self.figures / "data").mkdir(parents=True, exist_ok=True)

    @property
    def source(self) -> str:
        """The provenance line printed under each figure."""
        return caption(self.record)

    @property
    def header(self) -> str:
        """The provenance line as a notebook prints it at its top: wrapped to the book's column."""
        return wrap(self.source, HEADER_CHARS)

    def say(self, *parts, sep: str = " ") -> None:
        """`print`, each line wrapped to the book's column (`HEADER_CHARS`); a wrapped line's
        continuation is indented two spaces deeper than the line."""
        for line in sep.join(map(str, parts)).split("\n"):
            indent = " " * (len(line) - len(line.lstrip()))
            print(textwrap.fill(line, HEADER_CHARS, subsequent_indent=indent + "  ") if line.strip() else line)

    def runtime(self) -> str:
        """How long the notebook has run since `start`, for its opening's "Takes" line, and the machine's
        load (5-minute average) where it exceeded the cores."""
        seconds = time.monotonic() - self.started
        took = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
        # a build that shares the machine takes longer than the same chapter alone: say so
        load, cores = (os.getloadavg()[1] if hasattr(os, "getloadavg") else 0.0), os.cpu_count() or 1
        return f"{took}, on a machine busy with other work (load {load:.1f} on {cores} cores)" if load > cores else took

    def save_figure(self, fig, name: str):
        with atomic_write(self.figures / f"{name}.png") as tmp:
            fig.savefig(tmp, format="png", dpi=SAVE_DPI)
        return fig

    def video_html(self, path: Path, width: int) -> str:
        """A player for a saved video that loads its first frame to show and the rest only when played,
        rather than embedding it in the page: from the built book's root (where `_config.yml`'s
        `html_extra_path` copies `figures/<name>.mp4`) or, in Jupyter, from the repository beside the
        notebooks folder; the browser takes the first source it finds."""
        local = path.resolve().relative_to(paths.repo_root()).as_posix()
        return (
            f'<video controls loop muted preload="metadata" width="{width}" style="max-width: 100%; height: auto">'
            f'<source src="../{path.name}" type="video/mp4"><source src="../{local}" type="video/mp4"></video>'
        )

    def save_data(self, name: str, data) -> None:
        """Write `data` with its provenance to `figures/data/<name>.json` (silently: a notebook cell that
        ends with it prints nothing)."""
        record = {"provenance": self.record, "data": data}
        with atomic_write(self.figures / "data" / f"{name}.json") as tmp:
            tmp.write_text(json.dumps(record, indent=1, default=float) + "\n")


def start(name: str, preset: str | None = None) -> Notebook:
    """Begin a notebook: run from the repository root (so `artifacts/` is shared), pick the preset, and
    show figures at twice their pixel density (sharp on a phone) at the book's column width."""
    os.chdir(paths.repo_root())
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # outside Jupyter the figures are saved, not shown
        pass
    return Notebook(name, get_preset(preset))
