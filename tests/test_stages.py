import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace

import pytest

from lucid_dreamer.pipeline import cache, stages
from lucid_dreamer.pipeline.cache import BUILD_LOG, cached, config_hash
from lucid_dreamer.pipeline.presets import PRESETS

PRESET = PRESETS["smoke"]


@dataclass(frozen=True)
class Cfg:
    value: int = 1


def test_config_hash_is_stable_and_sensitive():
    assert config_hash(Cfg(1)) == config_hash(Cfg(1))
    assert config_hash(Cfg(1)) != config_hash(Cfg(2))


def test_a_product_is_built_once(artifacts):
    calls = []

    def build(out):
        calls.append(out)
        (out / "product.txt").write_text("made")

    first = cached("demo", PRESET, (Cfg(),), build)
    second = cached("demo", PRESET, (Cfg(),), build)
    assert first == second and len(calls) == 1
    assert (first / "product.txt").read_text() == "made"
    assert first.parent == artifacts / "smoke" / "demo"
    cached("demo", PRESET, (Cfg(),), build, force=True)
    assert len(calls) == 2


def test_a_failed_build_leaves_nothing_behind(artifacts):
    def build(out):
        (out / "half.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached("demo", PRESET, (Cfg(),), build)
    assert [p.name for p in (artifacts / "smoke" / "demo").iterdir()] == [f".{config_hash(Cfg())}.lock"]


def test_a_stale_partial_folder_is_not_trusted(artifacts):
    stale = artifacts / "smoke" / "demo" / f".{config_hash(Cfg())}.partial"
    stale.mkdir(parents=True)
    (stale / "product.txt").write_text("stale")
    out = cached("demo", PRESET, (Cfg(),), lambda d: (d / "product.txt").write_text("fresh"))
    assert (out / "product.txt").read_text() == "fresh"
    assert not stale.exists()


# A process that builds the entry {"value": 1} of a stage "demo": it says "ready" once imported,
# waits for the file argv[1] to exist, and builds for argv[2] seconds.
BUILDER = """
import sys, time
from pathlib import Path
from lucid_dreamer.pipeline.presets import PRESETS
from lucid_dreamer.pipeline.cache import cached

go, seconds = Path(sys.argv[1]), float(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)

def build(out):
    (out / "half.txt").write_text("half")
    time.sleep(seconds)
    (out / "product.txt").write_text("made")

print(cached("demo", PRESETS["smoke"], ({"value": 1},), build), flush=True)
"""


def builder(go, seconds, log):
    process = subprocess.Popen(
        [sys.executable, "-c", BUILDER, str(go), str(seconds)],
        env={**os.environ, BUILD_LOG: str(log)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "ready\n"
    return process


def finish(process, timeout=900) -> str:
    """Its output; a process still running after `timeout` seconds (a hang, far beyond any load's
    delay) is killed and fails the test."""
    try:
        return process.communicate(timeout=timeout)[0].strip()
    finally:
        process.kill()


def builds(log) -> list[str]:
    return [json.loads(line)["stage"] for line in log.read_text().splitlines()] if log.exists() else []


def test_processes_that_start_together_build_an_entry_once(artifacts, tmp_path):
    go, log = tmp_path / "go", tmp_path / "builds.jsonl"
    processes = [builder(go, 1.0, log) for _ in range(2)]
    go.touch()
    folders = {finish(process) for process in processes}
    assert [process.returncode for process in processes] == [0, 0]
    assert builds(log) == ["demo"]
    assert len(folders) == 1  # the process that waited got the same, finished product
    assert (artifacts / "smoke" / "demo" / config_hash({"value": 1}) / "product.txt").read_text() == "made"


def test_a_builder_killed_mid_build_frees_its_entry_and_leaves_nothing_trusted(artifacts, tmp_path):
    go, log = tmp_path / "go", tmp_path / "builds.jsonl"
    go.touch()
    process = builder(go, 600, log)
    partial = artifacts / "smoke" / "demo" / f".{config_hash({'value': 1})}.partial"
    while not (partial / "half.txt").exists():
        assert process.poll() is None
        time.sleep(0.01)  # leave the CPU to the builder on a loaded machine
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not [p for p in partial.parent.iterdir() if not p.name.startswith(".")]  # no entry, only hidden files
    # the dead builder's lock died with it: another process builds at once (a lock that outlived it would hang)
    assert finish(builder(go, 0, log)).endswith(config_hash({"value": 1}))
    assert builds(log) == ["demo"]
    assert (partial.parent / config_hash({"value": 1}) / "product.txt").read_text() == "made"


def test_the_training_stage_is_keyed_by_its_training_settings(monkeypatch, tmp_path):
    # a training setting left out of the key would silently reuse stale weights
    keys = []
    monkeypatch.setattr(cache, "cached", lambda stage, preset, key, *a, **k: keys.append(config_hash(*key)) or tmp_path)
    experiment = PRESETS["smoke"].experiments[0]
    for changed in (experiment, replace(experiment, train=replace(experiment.train, lr=0.5))):
        stages.train_stage(PRESETS["smoke"], changed, progress=False)
    stages.train_stage(PRESETS["smoke"], replace(experiment, model=replace(experiment.model, width=3)), progress=False)
    assert len(set(keys)) == 3
