import subprocess
import sys

import pytest

from lucid_dreamer import cli
from lucid_dreamer.pipeline.presets import PRESETS


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "lucid_dreamer.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def one_line_error(result, fragment):
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and fragment in lines[-1]


def test_preset_names_match():
    assert set(cli.PRESET_NAMES) == set(PRESETS)


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0 and "simulate" in result.stdout and "tokenize" in result.stdout


def test_unknown_preset_is_one_line():
    one_line_error(run_cli("simulate", "--preset", "huge"), "unknown preset 'huge'")


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(Exception, match="unknown preset"):
        cli.main(["--debug", "simulate", "--preset", "huge"])


def test_bad_gl_backend_is_one_line(tmp_path):
    import os

    env = {**os.environ, "MUJOCO_GL": "bogus", "LUCID_DREAMER_ARTIFACTS": str(tmp_path)}
    one_line_error(run_cli("simulate", "--preset", "smoke", env=env), "MUJOCO_GL")
    assert not any(tmp_path.iterdir())


def test_tokenize_frames_needs_output(tmp_path, capsys):
    assert cli.main(["tokenize", "--preset", "smoke", "--frames", str(tmp_path)]) == 2
    assert "--output" in capsys.readouterr().err


def test_tokenize_missing_frame_folder(tmp_path, capsys):
    code = cli.main(["tokenize", "--frames", str(tmp_path / "nope"), "--output", str(tmp_path / "z.safetensors")])
    assert code == 2 and "frame folder not found" in capsys.readouterr().err
    assert not (tmp_path / "z.safetensors").exists()
