from dataclasses import replace

import torch

from lucid_dreamer.method.data import Windows
from lucid_dreamer.method.models import ModelConfig, ResNetRollout3d
from lucid_dreamer.method.precision import Hardware
from lucid_dreamer.method.train import TrainConfig
from lucid_dreamer.pipeline import bench, bench_report, costs

MODEL = ModelConfig(name="resnet_rollout_3d", width=16, blocks=1)
TRAIN = TrainConfig(batch_size=4)
AVX2 = Hardware("cpu", native_bf16=False, capability="AVX2, no bf16 instructions")
AVX512_BF16 = Hardware("cpu", native_bf16=True, capability="AVX512, bf16 instructions: AVX-512 BF16")


def latents(episodes=3, frames=12, size=4):
    return torch.randn(episodes, frames, 16, size, size, generator=torch.Generator().manual_seed(0))


def test_papers_dataset_gives_the_same_windows_as_ours():
    z = latents()
    paper, ours = bench.PaperWindows(z, 4, 4), Windows(z, 4, 4)
    assert len(paper) == len(ours) == 3 * (12 - 8 + 1)
    for i in (0, 4, 5, 14):
        for a, b in zip(paper[i], ours[i]):
            torch.testing.assert_close(a, b[0], rtol=0, atol=0)


def test_reference_and_ours_compute_the_same_function():
    z, variants = latents(), bench.ladder(torch.device("cpu"))
    assert variants[0].conv3d and variants[0].dataloader and not variants[-1].conv3d
    init = ResNetRollout3d(MODEL)
    runners = [bench.Runner(v, MODEL, TRAIN, z, torch.device("cpu"), bench._copy(init)) for v in variants]
    context = runners[0].norm.normalize(z[:, :4])
    for r in runners[1:]:
        # float32 variants agree to rounding; bf16 autocast to bf16's 8 bits of mantissa
        tolerance = 2e-2 if r.variant.autocast else 1e-5
        assert abs(r.val_loss(z) - runners[0].val_loss(z)) <= tolerance * runners[0].val_loss(z)
        torch.testing.assert_close(
            r.dream(context, 3), runners[0].dream(context, 3), rtol=10 * tolerance, atol=10 * tolerance
        )


def test_a_runner_learns():
    z = latents()
    runner = bench.Runner(
        bench.ladder(torch.device("cpu"))[-1], MODEL, TRAIN, z, torch.device("cpu"), ResNetRollout3d(MODEL)
    )
    before = runner.val_loss(z)
    for _ in range(30):
        runner.step()
    assert runner.val_loss(z) < before


def test_sample_cost_counts_a_third_of_the_flops_in_conv2d_form():
    cfg = ModelConfig(width=16, blocks=1)
    flat = costs.sample_cost(cfg, TrainConfig(), 8, conv3d=False)
    deep = costs.sample_cost(cfg, TrainConfig(), 8, conv3d=True)
    # the Conv3d kernel is 3 deep over a time axis of 1: three times the multiply-adds of the conv layers
    assert 2.9 < deep["flops"] / flat["flops"] <= 3.0
    # stem: 2 * (8*8 positions) * (64 in * 16 out * 9) MACs forward; backward costs about twice that
    assert flat["flops"] > 4 * 2 * 64 * 64 * 16 * 9
    assert flat["bytes"] > 0


def test_utilisation_divides_by_the_limit_of_each_variants_precision():
    result = {
        "limits": {"fp32_flops_per_s": 100.0, "bf16_flops_per_s": 200.0, "copy_bytes_per_s": 10.0},
        "conv3d": {"ref": True, "ours": False},
        "bf16": {"ref": False, "ours": True},
        "train": {
            "16": {
                "samples_per_s": {"ref": {"median": 2.0}, "ours": {"median": 4.0}},
                "cost_per_sample": {"conv3d": {"flops": 30.0, "bytes": 1.0}, "conv2d": {"flops": 10.0, "bytes": 2.0}},
            }
        },
    }
    u = bench_report.utilisation(result)["16"]
    assert u["ref"] == {"flops": 2 * 10 / 100, "bytes": 2 * 2 / 10}  # useful work: the Conv2d count
    assert u["ours"] == {"flops": 4 * 10 / 200, "bytes": 4 * 2 / 10}


def test_ours_is_bf16_autocast_only_where_the_hardware_computes_bf16_natively():
    cpu = torch.device("cpu")
    without = bench.ladder(cpu, AVX2)
    assert not any(v.autocast or v.pure_bf16 for v in without)
    assert without[-1].name.startswith("ours") and without[-1].batched_dream and not without[-1].conv3d
    with_bf16 = bench.ladder(cpu, AVX512_BF16)
    assert with_bf16[-1].autocast and with_bf16[-1].name.startswith("ours")
    assert [v.name for v in with_bf16[:-1]] == [v.name for v in without[:-1]] + ["+ batched dreaming"]


TINY = bench.BenchConfig(
    latent_sizes=(4,), timed_steps=1, repeats=1, dream_episodes=2, dream_horizon=2, quality_steps=1
)


def test_the_bench_records_the_hardware_the_machines_load_and_float32_speedups(monkeypatch):
    monkeypatch.setattr(bench, "machine_limits", lambda device, bf16: {"fp32_flops_per_s": 1.0, "bf16": bf16})
    loads = iter([(3.5, 0, 0), (1.25, 0, 0)])
    monkeypatch.setattr(bench.os, "getloadavg", lambda: next(loads))
    result = bench.bench(latents(), latents(2), TINY, torch.device("cpu"), progress=False, hardware=AVX2)
    assert result["hardware"] == {"device_type": "cpu", "native_bf16": False, "capability": AVX2.capability}
    assert result["precision"] == "float32" and result["limits"]["bf16"] is False
    assert result["load"] == {"cores": bench.os.cpu_count(), "before": 3.5, "after": 1.25}
    f32 = result["float32"]
    assert f32["variant"] == result["variants"][-1]
    # without native bf16, ours is float32: its float32 speed-up is the headline speed-up
    assert f32["train_speedup"]["4"] == result["train_speedup"] and f32["dream_speedup"] == result["dream_speedup"]


def test_where_the_reference_computes_in_bf16_no_float32_speedup_is_claimed(monkeypatch):
    # the paper's CUDA path casts everything to bf16: no variant is float32, so there is no float32 pair
    all_bf16 = [replace(v, pure_bf16=True) for v in bench.ladder(torch.device("cpu"), AVX2)]
    monkeypatch.setattr(bench, "ladder", lambda device, hardware: all_bf16)
    monkeypatch.setattr(bench, "machine_limits", lambda device, bf16: {"fp32_flops_per_s": 1.0})
    result = bench.bench(latents(), latents(2), TINY, torch.device("cpu"), progress=False, hardware=AVX2)
    assert "float32" not in result and result["precision"] == "bf16 autocast"
