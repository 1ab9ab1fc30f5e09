"""Shipped weights are used only for exactly their configuration, and can be switched off."""

import pytest

from lucid_dreamer import stages, weights
from lucid_dreamer.presets import PRESETS

CPU = PRESETS["cpu"]
CONFIGS = ({"width": 64},)


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    monkeypatch.setenv("LUCID_DREAMER_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setattr(weights, "WEIGHTS_ROOT", tmp_path / "weights")
    entry = tmp_path / "weights" / "cpu" / "train" / stages.config_hash(*CONFIGS)
    entry.mkdir(parents=True)
    (entry / "best.safetensors").write_bytes(b"shipped")
    (entry / "last.safetensors").write_bytes(b"optimizer state, never shipped")
    return entry


def built(folder):
    (folder / "best.safetensors").write_bytes(b"trained here")


def test_a_shipped_entry_with_the_same_configs_is_used_instead_of_training(shipped):
    def fail(folder):
        raise AssertionError("trained although the weights are shipped")

    folder = stages.cached("train", CPU, CONFIGS, fail, resumable=True)
    assert (folder / "best.safetensors").read_bytes() == b"shipped"
    assert not (folder / "last.safetensors").exists()


def test_other_configs_train_as_usual(shipped):
    folder = stages.cached("train", CPU, ({"width": 32},), built)
    assert (folder / "best.safetensors").read_bytes() == b"trained here"


def test_shipped_weights_can_be_switched_off(shipped, monkeypatch):
    monkeypatch.setenv("LUCID_DREAMER_SHIPPED", "0")
    folder = stages.cached("train", CPU, CONFIGS, built)
    assert (folder / "best.safetensors").read_bytes() == b"trained here"


def test_only_training_stages_are_shipped(shipped):
    entry = shipped.parent.parent / "dream" / shipped.name
    entry.mkdir(parents=True)
    assert weights.find("cpu", "dream", shipped.name) is None
    assert weights.find("cpu", "train", shipped.name) == shipped


def test_the_repositorys_shipped_weights_stay_under_the_limit():
    files = [f for f in weights.WEIGHTS_ROOT.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in files) <= weights.LIMIT_BYTES
    assert not any(f.name == "last.safetensors" for f in files)
