"""Shipped weights are used only for exactly their configuration, and can be switched off."""

import json

import pytest

from lucid_dreamer.pipeline import cache, weights
from lucid_dreamer.pipeline.presets import PRESETS

CPU = PRESETS["cpu"]
CONFIGS = ({"width": 64},)


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    monkeypatch.setenv("LUCID_DREAMER_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setattr(weights, "WEIGHTS_ROOT", tmp_path / "weights")
    tokenizer = tmp_path / "weights" / "cpu" / "tokenizer" / "tok123"
    tokenizer.mkdir(parents=True)
    (tokenizer / "tokenizer.safetensors").write_bytes(b"the tokenizer it was trained with")
    entry = tmp_path / "weights" / "cpu" / "train" / cache.config_hash(*CONFIGS)
    entry.mkdir(parents=True)
    (entry / "best.safetensors").write_bytes(b"shipped")
    (entry / "last.safetensors").write_bytes(b"optimizer state, never shipped")
    note = {"tokenizer_entry": "tok123", "sha256": weights.sha256(tokenizer / "tokenizer.safetensors")}
    (entry / weights.TOKENIZER_NOTE).write_text(json.dumps(note))
    return entry


def built(folder):
    (folder / "best.safetensors").write_bytes(b"trained here")


def test_a_shipped_entry_with_the_same_configs_is_used_instead_of_training(shipped):
    def fail(folder):
        raise AssertionError("trained although the weights are shipped")

    folder = cache.cached("train", CPU, CONFIGS, fail, resumable=True)
    assert (folder / "best.safetensors").read_bytes() == b"shipped"
    assert not (folder / "last.safetensors").exists()


def test_other_configs_train_as_usual(shipped):
    folder = cache.cached("train", CPU, ({"width": 32},), built)
    assert (folder / "best.safetensors").read_bytes() == b"trained here"


def test_shipped_weights_can_be_switched_off(shipped, monkeypatch):
    monkeypatch.setenv("LUCID_DREAMER_SHIPPED", "0")
    folder = cache.cached("train", CPU, CONFIGS, built)
    assert (folder / "best.safetensors").read_bytes() == b"trained here"


def cache_tokenizer(tmp_path, weights_bytes: bytes) -> None:
    """A tokenizer in the local cache under the shipped model's tokenizer entry."""
    local = tmp_path / "artifacts" / "cpu" / "tokenizer" / "tok123"
    local.mkdir(parents=True)
    (local / "tokenizer.safetensors").write_bytes(weights_bytes)


def test_a_model_is_not_taken_with_another_tokenizer_than_its_own(shipped, tmp_path):
    cache_tokenizer(tmp_path, b"a tokenizer trained here: other latents")
    folder = cache.cached("train", CPU, CONFIGS, built)
    assert (folder / "best.safetensors").read_bytes() == b"trained here"


def test_a_model_is_taken_with_its_own_tokenizer_in_the_cache(shipped, tmp_path):
    cache_tokenizer(tmp_path, b"the tokenizer it was trained with")
    assert weights.find("cpu", "train", shipped.name, tmp_path / "artifacts" / "cpu") == shipped


def test_only_training_stages_are_shipped(shipped):
    entry = shipped.parent.parent / "dream" / shipped.name
    entry.mkdir(parents=True)
    cache = shipped.parents[3] / "artifacts" / "cpu"
    assert weights.find("cpu", "dream", shipped.name, cache) is None
    assert weights.find("cpu", "train", shipped.name, cache) == shipped


def test_the_repositorys_shipped_weights_stay_under_the_limit():
    files = [f for f in weights.WEIGHTS_ROOT.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in files) <= weights.LIMIT_BYTES
    assert not any(f.name == "last.safetensors" for f in files)
