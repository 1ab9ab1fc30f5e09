"""The notebooks' py:percent sources and their executed .ipynb pairs must agree."""

import ast
import json
import re
from pathlib import Path

import pytest

from lucid_dreamer.book import notebook
from lucid_dreamer.pipeline.provenance import package_hash

jupytext = pytest.importorskip("jupytext", reason="the book extras are not installed")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.py"))


def cells(path):
    """Each cell's kind, source, tags and myst-nb options (captions): what the book renders of it."""
    nb = jupytext.read(path)
    return [
        (c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", [])), c.metadata.get("mystnb"))
        for c in nb.cells
        if "injected-parameters" not in c.metadata.get("tags", [])
    ]


ROOT = NOTEBOOKS[0].parent.parent
NUMBERS = "one two three four five six seven eight nine ten eleven twelve".split()


def test_the_book_the_makefile_and_the_readme_name_every_notebook():
    toc, makefile = (ROOT / "_toc.yml").read_text(), (ROOT / "Makefile").read_text()
    in_toc = re.findall(r"file: notebooks/(\w+)", toc)
    assert in_toc == [p.stem for p in NOTEBOOKS]
    assert all(name in makefile for name in in_toc)
    readme = (ROOT / "README.md").read_text()
    assert f"{NUMBERS[len(in_toc) - 1].capitalize()} notebooks" in readme, "the README miscounts the notebooks"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_is_in_sync(source):
    paired = source.with_suffix(".ipynb")
    fix = f"run `make notebooks NOTEBOOKS={source.stem}`"
    assert paired.exists(), f"{paired.name} is missing: {fix}"
    # tags too: a hidden cell shown in the book is out of sync (`jupytext --update` keeps the empty tags
    # papermill gives every cell over the source's, and `jupytext --sync` writes them back into the source)
    assert cells(source) == cells(paired), f"{source.name} and {paired.name} differ: {fix}"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_reads_the_preset_from_the_environment(source):
    nb = jupytext.read(source)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert 'preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")' in tagged[0].source


SCREEN_LINES, SCREEN_CHARS = 40, 4000
"""What a reader sees of a cell's printed output without scrolling: about a screen."""


def visible_text(output: dict) -> str:
    """The text a page shows for one cell output (glued values are stored hidden, not shown)."""
    if output.get("metadata", {}).get("scrapbook"):
        return ""
    if output["output_type"] == "stream":
        return "".join(output["text"])
    data = output.get("data", {})
    if {"text/html", "image/png", "application/vnd.jupyter.widget-view+json"} & set(data):
        return ""  # a table, a figure or a widget, sized by the page (which shows these before any text)
    return "".join(data.get("text/plain", ""))


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_committed_output_is_longer_than_a_screen(source):
    nb = json.loads(source.with_suffix(".ipynb").read_text())
    for number, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            text = visible_text(output)
            assert len(text) <= SCREEN_CHARS and text.count("\n") <= SCREEN_LINES, (
                f"cell {number} of {source.stem} prints {len(text)} characters, {text.count(chr(10))} lines: "
                "save data without printing it, and print only what a reader needs"
            )


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_committed_output_line_is_wider_than_the_column(source):
    nb = json.loads(source.with_suffix(".ipynb").read_text())
    for number, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            for line in visible_text(output).splitlines():
                assert len(line) <= notebook.HEADER_CHARS, (
                    f"cell {number} of {source.stem} prints a {len(line)}-character line"
                )


def test_the_cells_that_glue_and_save_are_hidden():
    """Plumbing (glue, saving) is hidden from the reader: removed, or collapsed where the code may interest."""
    cells = [c for p in NOTEBOOKS for c in jupytext.read(p).cells if c.cell_type == "code" and "glue(" in c.source]
    hidden = [c for c in cells if {"remove-input", "hide-input"} & set(c.metadata.get("tags", []))]
    assert len(hidden) >= 0.9 * len(cells), f"{len(cells) - len(hidden)} of {len(cells)} glue cells are shown"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_says_what_it_shows_needs_and_takes_and_what_it_found(source):
    text = "\n".join(c.source for c in jupytext.read(source).cells if c.cell_type == "markdown")
    for part in ("At a glance", "**Shows**", "**Needs**", "**Takes**", "## What this chapter"):
        assert part in text, f"{source.stem} lacks {part!r}"


def glued(nb: dict, name: str):
    """The value a notebook glued under `name` (its text/plain repr, evaluated), or None."""
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                text = next(v for k, v in output["data"].items() if k.endswith("text/plain"))
                return ast.literal_eval("".join(text))
    return None


def test_every_committed_chapter_was_executed_against_the_committed_package():
    """`make book` executes every chapter at one commit; a chapter left from an older package fails here."""
    package = package_hash()
    executed = {p.stem: json.loads(p.with_suffix(".ipynb").read_text()) for p in NOTEBOOKS}
    stale = [name for name, nb in executed.items() if glued(nb, "chapter_package") != package]
    assert not stale, f"executed against another version of lucid_dreamer: {', '.join(stale)} (run `make book`)"
