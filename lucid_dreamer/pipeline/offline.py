"""The packages `lucid-dreamer paper-scale` imports beside torch, and their install from wheels on a machine
that reaches no package index (the GPU machine: Python 3.12, torch present).

Standard library only, so that `--check` can say what is missing before anything heavy is imported.
`scripts/gather_wheels.sh` (`make wheels`) downloads `wheels()` into `wheels/` (ignored, never committed);
that folder travels beside the checkout, and `install` (`python3 -m lucid_dreamer.pipeline.offline --install
wheels`, run before the command line, which imports the whole package) puts what is missing into `TARGET`.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WHEELS_DIR = Path("wheels")
"""Where `make wheels` puts them (relative to the repository's root, ignored by git)."""
TARGET = Path("/tmp/lucid-dreamer-site")
"""Where `install` puts packages (not the system's site-packages: the GPU machine's torch stays untouched)."""


@dataclass(frozen=True)
class Package:
    module: str
    """What the code imports."""
    distribution: str
    """What pip installs, at the version this project was tested with."""
    version: str
    gathered: bool = True
    """Whether `make wheels` downloads it: False for the large ones the GPU machine's image already holds
    (opencv-python-headless is 50 MB; the carried tree may be 64 MiB in all)."""


PACKAGES = (
    Package("mujoco", "mujoco", "4.0.0"),
    Package("mujoco", "mujoco-core", "4.0.0"),  # mujoco 4 ships its compiled core as a second wheel
    Package("OpenGL", "PyOpenGL", "3.1.10"),  # MuJoCo's EGL rendering goes through it
    Package("safetensors", "safetensors", "0.8.0"),
    Package("tqdm", "tqdm", "4.70.1"),
    Package("filelock", "filelock", "4.3.2"),
    Package("submitit", "submitit", "1.5.4"),  # the command line imports the executors
    Package("cloudpickle", "cloudpickle", "3.1.3"),  # submitit's
    Package("cv2", "opencv-python-headless", "5.1.0.95", gathered=False),
    Package("numpy", "numpy", "2.4.6", gathered=False),
    Package("scipy", "scipy", "1.17.1", gathered=False),
    Package("matplotlib", "matplotlib", "3.11.2", gathered=False),
)
"""Every package beyond torch and the standard library that the command line imports, with the packages
those need beyond torch's (a test lists `sys.modules` after importing the command line)."""


def _distribution_present(name: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(name)
        return True
    except PackageNotFoundError:
        return False


def missing(packages: tuple[Package, ...] | None = None) -> list[Package]:
    """The packages neither importable nor installed (a module found without its distribution's record,
    mujoco-core's, counts as missing: mujoco 4 needs both)."""
    return [
        p
        for p in (PACKAGES if packages is None else packages)
        if importlib.util.find_spec(p.module) is None or not _distribution_present(p.distribution)
    ]


def requirements(all_packages: bool = False) -> list[str]:
    """`NAME==VERSION` lines of the wheels `make wheels` gathers (`all_packages`: every package)."""
    return [f"{p.distribution}=={p.version}" for p in PACKAGES if p.gathered or all_packages]


def install(packages: list[Package], wheels: Path = WHEELS_DIR, target: Path = TARGET) -> None:
    """Install `packages` from the wheels in `wheels` (no index, no dependencies: each one is named)
    into `target`, and put `target` first on `sys.path` for this process."""
    names = [f"{p.distribution}=={p.version}" for p in packages]
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile"]
    command += ["--find-links", str(wheels), "--target", str(target), "--upgrade", *names]
    subprocess.run(command, check=True)
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))
    importlib.invalidate_caches()


if __name__ == "__main__":
    # `python3 -m lucid_dreamer.pipeline.offline [--all]`: the wheels to gather, one a line;
    # `... --install DIR`: install what is missing from the wheels in DIR into `TARGET`, before the command
    # line (which imports the whole package) starts with `TARGET` on its PYTHONPATH
    if sys.argv[1:2] == ["--install"]:
        if lacking := missing():
            install(lacking, Path(sys.argv[2]))
        print(TARGET)
    else:
        print("\n".join(requirements("--all" in sys.argv[1:])))
