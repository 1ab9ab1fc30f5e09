from dataclasses import dataclass

import pytest

from lucid_dreamer.presets import PRESETS
from lucid_dreamer.stages import cached, config_hash

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
    assert not any((artifacts / "smoke" / "demo").iterdir())


def test_a_stale_partial_folder_is_not_trusted(artifacts):
    stale = artifacts / "smoke" / "demo" / f".{config_hash(Cfg())}.partial"
    stale.mkdir(parents=True)
    (stale / "product.txt").write_text("stale")
    out = cached("demo", PRESET, (Cfg(),), lambda d: (d / "product.txt").write_text("fresh"))
    assert (out / "product.txt").read_text() == "fresh"
    assert not stale.exists()
