import pytest
import torch

from lucid_dreamer.method import precision
from lucid_dreamer.method.errors import UserError
from lucid_dreamer.method.precision import Hardware, use_bf16

AVX2 = Hardware("cpu", native_bf16=False, capability="AVX2, no bf16 instructions")
AVX512_BF16 = Hardware("cpu", native_bf16=True, capability="AVX512, bf16 instructions: AVX-512 BF16")
AMPERE = Hardware("cuda", native_bf16=True, capability="A100, sm_80")
TURING = Hardware("cuda", native_bf16=False, capability="T4, sm_75")


@pytest.mark.parametrize("hardware, expected", [(AVX2, False), (AVX512_BF16, True), (AMPERE, True), (TURING, False)])
def test_auto_takes_bf16_only_where_the_hardware_computes_it_natively(hardware, expected):
    assert use_bf16("auto", hardware.device_type, hardware) is expected


@pytest.mark.parametrize("hardware", [AVX2, AVX512_BF16, AMPERE, TURING])
def test_true_and_false_force_the_precision(hardware):
    assert use_bf16(True, hardware.device_type, hardware) is True
    assert use_bf16(False, hardware.device_type, hardware) is False


@pytest.mark.parametrize("setting", ["yes", 1, 0, None, "bf16"])
def test_other_settings_are_user_errors(setting):
    with pytest.raises(UserError, match="bf16 must be 'auto', true or false"):
        use_bf16(setting, "cpu", AVX2)


def _cpu(monkeypatch, bf16_instructions: bool, dispatch: str, onednn_cap: str | None = None) -> Hardware:
    """What `detect` reads off a CPU whose reports we set."""
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: bf16_instructions)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: dispatch)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    if onednn_cap is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", onednn_cap)
    precision.detect.cache_clear()
    try:
        return precision.detect("cpu")
    finally:
        precision.detect.cache_clear()


def test_detect_reads_the_cpus_bf16_instructions(monkeypatch):
    assert _cpu(monkeypatch, True, "AVX512").native_bf16
    found = _cpu(monkeypatch, False, "AVX2")
    assert not found.native_bf16 and "no bf16 instructions" in found.capability


def test_bf16_instructions_that_torch_or_onednn_may_not_use_are_not_native(monkeypatch):
    # ATEN_CPU_CAPABILITY=avx2 or ONEDNN_MAX_CPU_ISA=AVX2 make torch emulate bf16 on such a CPU
    assert not _cpu(monkeypatch, True, "AVX2").native_bf16
    capped = _cpu(monkeypatch, True, "AVX512", onednn_cap="avx2")
    assert not capped.native_bf16 and "oneDNN capped at AVX2" in capped.capability
    assert _cpu(monkeypatch, True, "AVX512", onednn_cap="AVX512_CORE_AMX").native_bf16


def test_the_record_names_precision_setting_and_hardware():
    assert precision.record("auto", "cpu", AVX2) == {
        "precision": "float32",
        "setting": "auto",
        "hardware": "AVX2, no bf16 instructions",
    }
    assert precision.record("auto", "cpu", AVX512_BF16)["precision"] == "bf16 autocast"
    assert precision.record(True, "cpu", AVX2)["precision"] == "bf16 autocast"


@pytest.fixture
def autocast_seen(monkeypatch):
    """Whether bf16 autocast was on in each rollout-loss call of training."""
    import lucid_dreamer.method.train as train_module

    seen, real = [], train_module.rollout_loss

    def spy(*args, **kwargs):
        seen.append(torch.is_autocast_enabled("cpu"))
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "rollout_loss", spy)
    return seen


@pytest.mark.parametrize("hardware, expected", [(AVX2, "float32"), (AVX512_BF16, "bf16 autocast")])
def test_training_under_auto_computes_in_the_hardwares_precision(
    tmp_path, monkeypatch, autocast_seen, hardware, expected
):
    from lucid_dreamer.method.data import Normalizer
    from lucid_dreamer.method.models import ModelConfig
    from lucid_dreamer.method.train import TrainConfig, read_checkpoint, train

    monkeypatch.setattr(precision, "detect", lambda device_type="cpu": hardware)
    z = torch.randn(3, 10, 16, 4, 4)
    cfg = TrainConfig(steps=2, batch_size=2, eval_every=2, val_windows=2)
    summary = train(
        ModelConfig(width=8, blocks=1, groups=4),
        cfg,
        z,
        z,
        Normalizer(torch.zeros(16), torch.ones(16)),
        tmp_path,
        progress=False,
    )
    assert summary["precision"] == {"precision": expected, "setting": "auto", "hardware": hardware.capability}
    assert read_checkpoint(tmp_path / "best.safetensors")[1]["precision"]["precision"] == expected
    assert autocast_seen and set(autocast_seen) == {expected != "float32"}  # training and validation steps


@pytest.mark.parametrize("hardware", [AVX2, AVX512_BF16])
def test_dreaming_under_auto_computes_in_the_hardwares_precision(monkeypatch, hardware):
    from lucid_dreamer.method.dream import dream

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))
            self.autocast = []

        def forward(self, context):
            self.autocast.append(torch.is_autocast_enabled("cpu"))
            return context[:, -1] * self.scale

    monkeypatch.setattr(precision, "detect", lambda device_type="cpu": hardware)
    probe = Probe()
    dream(probe, torch.randn(2, 4, 16, 3, 3), 3)
    assert probe.autocast == [hardware.native_bf16] * 3


def test_a_gpu_that_only_emulates_bf16_is_not_native(monkeypatch):
    # torch counts emulated bf16 as supported unless asked not to: a T4 (sm_75) emulates it
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "Tesla T4")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: (7, 5))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    precision.detect.cache_clear()
    try:
        hardware = precision.detect("cuda")
    finally:
        precision.detect.cache_clear()
    assert hardware.native_bf16 is False and hardware.capability == "Tesla T4, sm_75"
    assert use_bf16("auto", "cuda", hardware) is False
