"""Where a result came from: commit, device, versions and preset, for captions and JSON."""

from __future__ import annotations

import hashlib
import io
import platform
import subprocess
import tarfile
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .. import __version__
from ..method.precision import record as precision_record

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def _commit() -> str:
    """The commit, with "+dirty" if the code (package or notebook sources) differs from it.

    Executed notebooks and figures are outputs: a book build rewrites them, which is not dirt.
    """
    here = Path(__file__).resolve().parent

    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=here)

    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode:
            return "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ":/lucid_dreamer", ":/notebooks/*.py").stdout
        return head.stdout.strip() + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_hash(root: Path = PACKAGE_ROOT) -> str:
    """A short hash of the package's source (every module's path and text): two runs that agree on it ran
    the same code, whatever their commits (the book's test that every chapter ran against the committed
    package compares it)."""
    return _hash_sources((path.relative_to(root).as_posix(), path.read_bytes()) for path in sorted(root.rglob("*.py")))


def _hash_sources(sources) -> str:
    """The hash of (path inside the package, text) pairs, in path order."""
    digest = hashlib.sha256()
    for name, text in sources:
        digest.update(name.encode() + b"\0" + text + b"\0")
    return digest.hexdigest()[:12]


_PACKAGE_AT: dict[tuple[str, Path], str] = {}
"""`package_hash_at`'s answers so far (only the ones git gave: a failure is asked again)."""


def package_hash_at(commit: str, repo: Path = PACKAGE_ROOT.parent) -> str | None:
    """`package_hash` of the package as committed at `commit` in `repo` (None where git cannot read it): a
    record from a tree whose only dirt lay outside the package (a notebook being edited) ran that commit's
    code when its package hash equals this."""
    if (commit, repo) in _PACKAGE_AT:
        return _PACKAGE_AT[commit, repo]
    try:
        tar = subprocess.run(
            ["git", "archive", commit, "--", "lucid_dreamer"], capture_output=True, timeout=30, cwd=repo
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if tar.returncode:
        return None
    with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as archive:
        modules = sorted(
            (m for m in archive.getmembers() if m.isfile() and m.name.endswith(".py")), key=lambda m: m.name
        )
        found = _hash_sources((m.name.removeprefix("lucid_dreamer/"), archive.extractfile(m).read()) for m in modules)
    _PACKAGE_AT[commit, repo] = found
    return found


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    threads = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {threads} thread{'s' if threads > 1 else ''})"


def versions() -> dict:
    """The versions of this package and of every library its numbers pass through (by distribution
    name, so nothing heavy is imported); a library that is not installed is named as missing."""

    def of(*names):
        for name in names:
            try:
                return version(name)
            except PackageNotFoundError:
                pass
        return "missing"

    return {
        "lucid_dreamer": __version__,
        "numpy": of("numpy"),
        "scipy": of("scipy"),
        "opencv": of("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless"),
        "matplotlib": of("matplotlib"),
        "pandas": of("pandas"),
        "safetensors": of("safetensors"),
    }


def provenance(notebook: str, preset: str) -> dict:
    """A record of how a result was made; `precision` is what the default setting (`auto`) computes
    in on this device, and the hardware it read (a run's own record names what it used)."""
    import torch

    return {
        "notebook": notebook,
        "preset": preset,
        "commit": _commit(),
        "package": package_hash(),
        "device": device_name(),
        "precision": precision_record("auto", "cuda" if torch.cuda.is_available() else "cpu"),
        "torch": torch.__version__,
        "mujoco": version("mujoco"),
        "python": platform.python_version(),
        **versions(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def caption(record: dict) -> str:
    """One line for the foot of a figure."""
    r = record
    used = f", {r['precision']['precision']} ({r['precision']['hardware']})" if "precision" in r else ""
    return f"{r['notebook']} | preset {r['preset']} | commit {r['commit']} | {r['device']}{used} | {r['date']}"
