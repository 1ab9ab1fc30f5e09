import os
import sys

import pytest

# As lucid_dreamer.method.world does: EGL renders headless on Linux; elsewhere MuJoCo's own default.
if sys.platform.startswith("linux"):
    os.environ.setdefault("MUJOCO_GL", "egl")


@pytest.fixture
def artifacts(tmp_path, monkeypatch):
    """An empty artifacts root for tests that run stages."""
    monkeypatch.setenv("LUCID_DREAMER_ARTIFACTS", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"
