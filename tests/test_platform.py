"""The package on any laptop: MUJOCO_GL=egl is set only on Linux, and the advice fits the platform."""

import os
import subprocess
import sys

import pytest

from lucid_dreamer.method import world


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_on_macos_and_windows_mujoco_keeps_its_own_default(monkeypatch, platform):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    world.set_default_gl()
    assert world.default_gl() is None and "MUJOCO_GL" not in os.environ
    advice = world.gl_help()
    assert "apt-get" not in advice and "MUJOCO_GL=glfw" in advice
    assert ("macOS" if platform == "darwin" else "Windows") in advice


def test_on_linux_egl_is_the_default_and_an_explicit_choice_is_kept(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    world.set_default_gl()
    assert os.environ["MUJOCO_GL"] == "egl" and "apt-get install libegl1" in world.gl_help()
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    world.set_default_gl()
    assert os.environ["MUJOCO_GL"] == "osmesa"


def test_importing_the_package_on_a_faked_macos_leaves_mujoco_gl_unset():
    code = (
        "import os, sys; sys.platform = 'darwin'; import lucid_dreamer.method.world as w; "
        "print(os.environ.get('MUJOCO_GL', 'unset'), 'apt-get' in w.GL_HELP)"
    )
    env = {k: v for k, v in os.environ.items() if k != "MUJOCO_GL"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["unset", "False"]
