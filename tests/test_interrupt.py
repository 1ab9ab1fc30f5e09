"""Runs killed with SIGKILL part way: nothing is lost and nothing is redone that was finished."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

pytestmark = pytest.mark.slow


def start(*args, env=None) -> subprocess.Popen:
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "lucid_dreamer.cli", *args, "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(process: subprocess.Popen, ready, timeout=300) -> None:
    """SIGKILL `process` as soon as `ready()` holds; fail if it ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()}"
        assert time.monotonic() < deadline, "timed out waiting for the run to reach the kill point"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


def run(*args, env=None) -> None:
    process = start(*args, env=env)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err


def test_a_killed_training_resumes_to_the_same_weights(tmp_path):
    save_file(
        {"latents": torch.randn(4, 16, 16, 8, 8, generator=torch.Generator().manual_seed(0))},
        tmp_path / "z.safetensors",
    )
    args = ["train", "--preset", "smoke", "--latents", str(tmp_path / "z.safetensors"), "--steps", "60"]
    run(*args, "--output_dir", str(tmp_path / "whole"))

    killed = tmp_path / "killed"
    process = start(*args, "--output_dir", str(killed))
    kill_when(process, lambda: (killed / "last.safetensors").exists())
    assert process.returncode == -signal.SIGKILL
    assert load_file(killed / "last.safetensors")  # checkpoints are renamed into place: never torn
    run(*args, "--output_dir", str(killed), "--resume")

    whole, resumed = load_file(tmp_path / "whole" / "best.safetensors"), load_file(killed / "best.safetensors")
    assert whole.keys() == resumed.keys()
    for name in whole:
        torch.testing.assert_close(resumed[name], whole[name], rtol=0, atol=0)


def test_a_killed_reproduce_redoes_only_the_interrupted_stage(tmp_path):
    env = {"LUCID_DREAMER_ARTIFACTS": str(tmp_path)}
    run("tokenize", "--preset", "smoke", env=env)  # simulate, tokenizer and latents stages
    finished = {p: p.stat().st_mtime_ns for p in (tmp_path / "smoke").rglob("*") if p.is_file()}

    train_dir = tmp_path / "smoke" / "train"
    process = start("reproduce", "--preset", "smoke", env=env)
    kill_when(process, lambda: train_dir.is_dir() and any(p.name.endswith(".partial") for p in train_dir.iterdir()))
    partial = [p for p in train_dir.iterdir() if p.name.endswith(".partial")]
    assert partial and not any(p.is_dir() and not p.name.startswith(".") for p in train_dir.iterdir())

    run("reproduce", "--preset", "smoke", env=env)
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was rebuilt"
    assert not any(p.name.endswith(".partial") for p in train_dir.iterdir())
    assert (tmp_path / "smoke" / "results.json").exists()
