import numpy as np
import pytest
import torch
from torch import nn

from lucid_dreamer.method.errors import UserError
from lucid_dreamer.method.tokenizer import (
    ConvTokenizer,
    CosmosTokenizer,
    TokenizerConfig,
    psnr,
    to_uint8,
    to_unit_range,
)

SMALL = TokenizerConfig(widths=(4, 8, 8))


def frames(n=3, h=32, w=48, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_unit_range_round_trip_is_exact():
    f = frames()
    x = to_unit_range(f)
    assert x.shape == (3, 3, 32, 48) and x.min() >= -1 and x.max() <= 1
    assert np.array_equal(to_uint8(x), f)


def test_conv_tokenizer_shapes():
    tok = ConvTokenizer(SMALL, batch=2)
    z = tok.encode(frames())
    assert z.shape == (3, 16, 4, 6) and z.dtype == torch.float32
    out = tok.decode(z)
    assert out.shape == (3, 32, 48, 3) and out.dtype == np.uint8


def test_save_and_load_give_the_same_function(tmp_path):
    tok = ConvTokenizer(SMALL)
    tok.save(tmp_path)
    again = ConvTokenizer.load(tmp_path)
    assert again.cfg == tok.cfg
    f = frames()
    assert torch.equal(again.encode(f), tok.encode(f))


def test_load_rejects_truncated_weights(tmp_path):
    ConvTokenizer(SMALL).save(tmp_path)
    path = tmp_path / "tokenizer.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match="cannot read the tokenizer"):
        ConvTokenizer.load(tmp_path)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 32, 32, 3), np.float32), "uint8"),
        (np.zeros((2, 32, 32), np.uint8), "uint8 RGB"),
        (np.zeros((2, 30, 32, 3), np.uint8), "multiple of 8"),
    ],
)
def test_bad_frames_are_user_errors(bad, message):
    with pytest.raises(UserError, match=message):
        ConvTokenizer(SMALL).encode(bad)


def test_psnr():
    a = np.zeros((4, 4), np.uint8)
    assert psnr(a, a) == float("inf")
    assert psnr(a, a + 1) == pytest.approx(20 * np.log10(255))


class TinyEncoder(nn.Module):
    """Cosmos-like: [-1, 1] images in, a tuple holding 16-channel latents at 1/8 size out."""

    def forward(self, x):
        assert x.shape[-1] % 16 == 0 and x.shape[-2] % 16 == 0, "the adapter must pad to 16"
        pooled = nn.functional.avg_pool2d(x, 8)
        return (pooled.repeat(1, 6, 1, 1)[:, :16],)


class TinyDecoder(nn.Module):
    def forward(self, z):
        assert z.shape[-1] % 2 == 0 and z.shape[-2] % 2 == 0
        return nn.functional.interpolate(z[:, :3], scale_factor=8.0, mode="nearest")


@pytest.fixture
def cosmos_dir(tmp_path):
    torch.jit.script(TinyEncoder()).save(str(tmp_path / "encoder.jit"))
    torch.jit.script(TinyDecoder()).save(str(tmp_path / "decoder.jit"))
    return tmp_path


def test_cosmos_adapter_pads_crops_and_round_trips_flat_colour(cosmos_dir):
    tok = CosmosTokenizer(cosmos_dir, device="cpu")
    f = np.zeros((2, 24, 40, 3), np.uint8)  # neither side a multiple of 16
    f[..., 0], f[..., 1], f[..., 2] = 255, 0, 128
    z = tok.encode(f)
    assert z.shape == (2, 16, 3, 5) and z.dtype == torch.float32
    np.testing.assert_allclose(z[:, 0], 1.0)
    np.testing.assert_allclose(z[:, 1], -1.0)
    out = tok.decode(z)
    assert out.shape == (2, 24, 40, 3)
    assert np.abs(out.astype(int) - f).max() <= 1


@pytest.mark.parametrize(
    "native, setting, dtype",
    [
        (False, "auto", torch.float32),
        (True, "auto", torch.bfloat16),
        (True, False, torch.float32),
        (False, True, torch.bfloat16),
    ],
)
def test_cosmos_adapter_casts_to_bf16_by_the_precision_rule(cosmos_dir, monkeypatch, native, setting, dtype):
    from lucid_dreamer.method import precision

    monkeypatch.setattr(precision, "detect", lambda device_type="cpu": precision.Hardware("cpu", native, "test"))
    tok = CosmosTokenizer(cosmos_dir, device="cpu", bf16=setting)
    assert tok.dtype == dtype
    assert tok.encode(np.zeros((1, 16, 16, 3), np.uint8)).dtype == torch.float32


def test_cosmos_adapter_needs_both_files(tmp_path, cosmos_dir):
    with pytest.raises(UserError, match="no encoder.jit"):
        CosmosTokenizer(tmp_path / "nowhere")
    (cosmos_dir / "decoder.jit").write_bytes(b"not torchscript")
    with pytest.raises(UserError, match="not a TorchScript file"):
        CosmosTokenizer(cosmos_dir, device="cpu")
