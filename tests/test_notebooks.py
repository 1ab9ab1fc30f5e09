"""The notebooks' py:percent sources and their executed .ipynb pairs must agree."""

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the book extras are not installed")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.py"))


def cells(path):
    nb = jupytext.read(path)
    return [
        (c.cell_type, c.source.strip()) for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])
    ]


def test_the_book_and_the_makefile_run_every_notebook():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:7] == [
        "01_tokenization",
        "02_posterior_collapse",
        "03_training",
        "04_dreaming",
        "05_analysis",
        "06_performance",
        "07_comparison",
    ]
    root = NOTEBOOKS[0].parent.parent
    toc, makefile = (root / "_toc.yml").read_text(), (root / "Makefile").read_text()
    for name in names:
        assert f"notebooks/{name}" in toc and name in makefile


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_is_in_sync(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} is missing: run `jupytext --to ipynb --update {source}`"
    assert cells(source) == cells(paired), f"{source.name} and {paired.name} differ: run `jupytext --sync {source}`"


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
    if "text/html" in data or "image/png" in data:
        return ""  # a table or a figure, sized by the page
    return "".join(data.get("text/plain", ""))


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_committed_output_is_longer_than_a_screen(source):
    import json

    nb = json.loads(source.with_suffix(".ipynb").read_text())
    for number, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            text = visible_text(output)
            assert len(text) <= SCREEN_CHARS and text.count("\n") <= SCREEN_LINES, (
                f"cell {number} of {source.stem} prints {len(text)} characters, {text.count(chr(10))} lines: "
                "save data without printing it, and print only what a reader needs"
            )
