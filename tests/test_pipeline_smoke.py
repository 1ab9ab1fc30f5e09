"""The first half of the pipeline at the smoke preset, end to end (slow: renders and trains)."""

import json

import pytest
import torch

from lucid_dreamer import cli, stages
from lucid_dreamer.data import Windows, split_episodes
from lucid_dreamer.presets import PRESETS

pytestmark = pytest.mark.slow
SMOKE = PRESETS["smoke"]


@pytest.fixture(scope="module")
def smoke_artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("artifacts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LUCID_DREAMER_ARTIFACTS", str(root))
        stages.latents_stage(SMOKE, progress=False)
        yield root


@pytest.fixture(autouse=True)
def use_smoke_artifacts(smoke_artifacts, monkeypatch):
    monkeypatch.setenv("LUCID_DREAMER_ARTIFACTS", str(smoke_artifacts))


def report(folder):
    return json.loads((folder / "report.json").read_text())


def test_tracker_floor_on_ground_truth():
    err = report(stages.simulate_stage(SMOKE, progress=False))["tracker_vs_truth"]
    assert err["detection_rate"] == 1.0
    assert err["rmse"] < 1.0  # pixels at 64 px


def test_tokenizer_meets_the_bar_on_test_episodes():
    rt = report(stages.tokenizer_stage(SMOKE, progress=False))["test_round_trip"]
    assert rt["detection_rate"] >= 0.99
    assert rt["rmse_px"] <= 1.5 * rt["resolution"] / 128
    assert rt["psnr_db"] > 18


def test_latents_stats_and_windows():
    latents, norm = stages.load_latents(SMOKE, progress=False)
    w = SMOKE.world
    assert latents.shape == (w.episodes, w.frames_per_episode, 16, w.resolution // 8, w.resolution // 8)
    train = norm.normalize(latents[split_episodes(w.episodes, SMOKE.data)["train"]])
    per_channel = train.transpose(0, 2).reshape(16, -1)
    torch.testing.assert_close(per_channel.mean(1), torch.zeros(16), atol=1e-3, rtol=0)
    ctx, tgt = Windows(train, 4, 4)[[0, 1]]
    assert ctx.shape[1] == 4 and tgt.shape[1] == 4


def test_cached_stages_are_reused():
    folder = stages.latents_stage(SMOKE, progress=False)
    mtime = (folder / "latents.safetensors").stat().st_mtime_ns
    assert stages.latents_stage(SMOKE, progress=False) == folder
    assert (folder / "latents.safetensors").stat().st_mtime_ns == mtime


def test_cli_encodes_a_users_frames(tmp_path, capsys):
    import imageio.v3 as iio
    from safetensors.torch import load_file

    frames = stages.load_episodes(SMOKE, progress=False)["frames"][0, :6]
    for i, f in enumerate(frames):
        iio.imwrite(tmp_path / f"frame_{i:04d}.png", f)
    out = tmp_path / "mine" / "latents.safetensors"
    assert cli.main(["tokenize", "--preset", "smoke", "--quiet", "--frames", str(tmp_path), "--output", str(out)]) == 0
    z = load_file(out)["latents"]
    assert z.shape == (1, 6, 16, 8, 8)
    expected, _ = stages.load_latents(SMOKE, progress=False)
    torch.testing.assert_close(z[0], expected[0, :6])
    stats = json.loads(out.with_suffix(".stats.json").read_text())
    assert len(stats["channel"]["mean"]) == 16 and len(stats["scalar"]["mean"]) == 1
    assert "latents [1, 6, 16, 8, 8]" in capsys.readouterr().out
