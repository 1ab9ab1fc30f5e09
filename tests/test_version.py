"""The package's version: one source, shown by `lucid-dreamer --version`, the same in the metadata."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import lucid_dreamer

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_printed_by_the_command():
    out = subprocess.run([sys.executable, "-m", "lucid_dreamer.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"lucid-dreamer {lucid_dreamer.__version__}"


def test_one_version_everywhere():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lucid_dreamer.__version__"}
    assert project["project"]["requires-python"] == ">=3.11"
    assert project["project"]["license"] == "MIT"  # PEP 639
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(lucid_dreamer.__version__)}$", cff, re.M)
    assert f"## {lucid_dreamer.__version__}" in (ROOT / "CHANGELOG.md").read_text()
    assert f"version={{{lucid_dreamer.__version__}}}" in (ROOT / "book" / "cite.md").read_text()  # the BibTeX


def test_the_citation_is_complete():
    cff = (ROOT / "CITATION.cff").read_text()
    for field in ("repository-code:", "abstract:", "version:", "date-released:", "authors:"):
        assert re.search(rf"^{field}", cff, re.M), field
