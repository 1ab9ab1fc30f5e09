"""Frames <-> latents: the `Tokenizer` protocol, our conv autoencoder and a Cosmos adapter.

Every tokenizer maps uint8 frames [N, H, W, 3] to float latents [N, 16, H/8, W/8] (the shape
of NVIDIA's Cosmos CI8x8 image tokenizer) and back. `ConvTokenizer` is trained here on the
simulated frames because no model can be downloaded at run time; `CosmosTokenizer` runs the
real Cosmos TorchScript files when a user has them on disk.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from .errors import UserError
from .precision import Setting, use_bf16
from .track import expected_cube_area, red_mask, track_cube, tracking_error

LATENT_CHANNELS = 16
SPATIAL_FACTOR = 8


class Tokenizer(Protocol):
    def encode(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 frames [N, H, W, 3] -> float32 latents [N, 16, H/8, W/8] on the CPU."""

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Latents [N, 16, h, w] -> uint8 frames [N, 8h, 8w, 3]."""


def check_frames(frames: np.ndarray) -> None:
    """Raise a `UserError` unless `frames` is uint8 [N, H, W, 3] with H, W multiples of 8."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise UserError(f"frames must be uint8 RGB [N, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    h, w = frames.shape[1:3]
    if h % SPATIAL_FACTOR or w % SPATIAL_FACTOR:
        raise UserError(f"frame size {w}x{h} is not a multiple of {SPATIAL_FACTOR}; crop or resize the frames")


def to_unit_range(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] in [-1, 1] (the Cosmos convention)."""
    x = torch.as_tensor(frames).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float [N, 3, H, W] in [-1, 1] -> uint8 [N, H, W, 3]."""
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


@dataclass(frozen=True)
class TokenizerConfig:
    """Architecture and training of the built-in `ConvTokenizer`."""

    widths: tuple[int, int, int] = (24, 48, 96)
    """Channels at full, half and quarter resolution (the eighth uses the last)."""
    steps: int = 3000
    """Optimizer steps of training."""
    batch_size: int = 16
    """Crops per step."""
    crop: int = 64
    """Side of the training crops (the network is fully convolutional)."""
    cube_crop_fraction: float = 0.75
    """Share of crops placed around the cube rather than anywhere in the frame."""
    lr: float = 2e-3
    """Peak AdamW learning rate; cosine decay to 1% over the run."""
    red_weight: float = 10.0
    """Extra L1 weight on (slightly dilated) red pixels: the cube is what the tracker reads."""
    seed: int = 0
    """Seed of initialisation and crop sampling."""


def _device() -> torch.device:
    """Where the built-in tokenizer trains and runs: the GPU if there is one."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class ConvAutoencoder(nn.Module):
    """Three stride-2 stages down to 16 channels at 1/8 size, mirrored up."""

    def __init__(self, widths: tuple[int, int, int]):
        super().__init__()
        c1, c2, c3 = widths

        def conv(i, o, k=3, s=1):  # 3x3 keeps the size, 4x4 with stride 2 halves it
            return [nn.Conv2d(i, o, k, s, padding=1), nn.SiLU()]

        def up(i, o):
            return [nn.ConvTranspose2d(i, i, 4, 2, 1), nn.SiLU(), *conv(i, o)]

        self.encoder = nn.Sequential(
            *conv(3, c1),
            *conv(c1, c2, 4, 2),
            *conv(c2, c2),
            *conv(c2, c3, 4, 2),
            *conv(c3, c3),
            *conv(c3, c3, 4, 2),
            nn.Conv2d(c3, LATENT_CHANNELS, 1),
        )
        self.decoder = nn.Sequential(
            *conv(LATENT_CHANNELS, c3),
            *up(c3, c2),
            *up(c2, c1),
            *up(c1, c1),
            nn.Conv2d(c1, 3, 3, padding=1),
        )


class ConvTokenizer:
    """The built-in tokenizer: a `ConvAutoencoder` with batched, gradient-free encode/decode.

    It trains and runs in float32 on every machine (`precision` does not apply): it is small, and
    the latents every model learns from stay the same whether or not the CPU has bf16. It runs on
    the GPU where there is one (the `paper` preset's 512 px frames), and hands latents and frames
    back on the CPU."""

    def __init__(self, cfg: TokenizerConfig, net: ConvAutoencoder | None = None, batch: int = 64):
        self.cfg = cfg
        self.net = (net or ConvAutoencoder(cfg.widths)).eval()
        self.batch = batch

    def _on_device(self) -> torch.device:
        device = _device()
        self.net.to(device)  # a no-op once there
        return device

    @torch.no_grad()
    def encode(self, frames: np.ndarray) -> torch.Tensor:
        check_frames(frames)
        device = self._on_device()
        return torch.cat(
            [
                self.net.encoder(to_unit_range(frames[i : i + self.batch]).to(device)).cpu()
                for i in range(0, len(frames), self.batch)
            ]
        )

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        latents = torch.as_tensor(latents, dtype=torch.float32)
        device = self._on_device()
        return np.concatenate(
            [
                to_uint8(self.net.decoder(latents[i : i + self.batch].to(device)))
                for i in range(0, len(latents), self.batch)
            ]
        )

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_file({k: v.cpu() for k, v in self.net.state_dict().items()}, directory / "tokenizer.safetensors")
        (directory / "tokenizer.json").write_text(json.dumps({"kind": "ConvTokenizer", **asdict(self.cfg)}, indent=1))

    @classmethod
    def load(cls, directory: Path) -> ConvTokenizer:
        try:
            meta = json.loads((directory / "tokenizer.json").read_text())
            state = load_file(directory / "tokenizer.safetensors")
        except (OSError, ValueError, SafetensorError) as e:
            raise UserError(f"cannot read the tokenizer in {directory}: {e}") from e
        if meta.pop("kind", None) != "ConvTokenizer":
            raise UserError(f"{directory} does not hold a ConvTokenizer")
        meta["widths"] = tuple(meta["widths"])
        cfg = TokenizerConfig(**meta)
        net = ConvAutoencoder(cfg.widths)
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise UserError(f"the tokenizer weights in {directory} do not match its config") from e
        return cls(cfg, net)


def sample_crops(frames: torch.Tensor, centres: np.ndarray, cfg: TokenizerConfig, rng: np.random.Generator):
    """A batch of crops [B, H', W', 3]; most around the cube so its edges get seen often."""
    n, h, w = frames.shape[:3]
    c = min(cfg.crop, h, w)
    idx = rng.integers(0, n, cfg.batch_size)
    crops = []
    for i in idx:
        x, y = centres[i]
        if rng.random() < cfg.cube_crop_fraction and not np.isnan(x):
            top = int(y) - c // 2 + rng.integers(-c // 3, c // 3 + 1)
            left = int(x) - c // 2 + rng.integers(-c // 3, c // 3 + 1)
        else:
            top, left = rng.integers(0, h - c + 1), rng.integers(0, w - c + 1)
        top, left = int(np.clip(top, 0, h - c)), int(np.clip(left, 0, w - c))
        crops.append(frames[i, top : top + c, left : left + c])
    return torch.stack(crops)


def train_tokenizer(
    frames: np.ndarray, centres: np.ndarray, cfg: TokenizerConfig, progress: bool = True
) -> ConvTokenizer:
    """Train a `ConvTokenizer` on uint8 frames [N, H, W, 3]; `centres` [N, 2] (NaN = no cube)."""
    check_frames(frames)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = _device()
    net = ConvAutoencoder(cfg.widths).to(device, memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, cfg.lr, total_steps=cfg.steps, pct_start=0.05, final_div_factor=100
    )
    data = torch.from_numpy(frames)
    bar = tqdm(range(cfg.steps), desc="train tokenizer", unit="step", disable=not progress)
    net.train()
    for _ in bar:
        crops = sample_crops(data, centres, cfg, rng)
        target = to_unit_range(crops).to(device).contiguous(memory_format=torch.channels_last)
        red = torch.from_numpy(red_mask(crops.numpy())).float()[:, None].to(device)
        weight = 1 + cfg.red_weight * F.max_pool2d(red, 3, 1, 1)  # dilate to cover the edges
        recon = net.decoder(net.encoder(target))
        loss = ((recon - target).abs() * weight).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    return ConvTokenizer(cfg, net.to("cpu", memory_format=torch.contiguous_format))


def decode_episodes(tokenizer: Tokenizer, latents: torch.Tensor) -> np.ndarray:
    """Latents [E, T, 16, h, w] -> uint8 frames [E, T, 8h, 8w, 3]."""
    frames = tokenizer.decode(latents.flatten(0, 1))
    return frames.reshape(*latents.shape[:2], *frames.shape[1:])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB between two uint8 arrays."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def round_trip_report(tokenizer: Tokenizer, frames: np.ndarray) -> dict[str, float]:
    """How well frames survive encode -> decode: PSNR and what the tracker sees.

    Our tracker's centroids in the original frames are the reference; `rmse_px` is how far
    they move in the decoded frames and `detection_rate` the share still found.
    """
    flat = frames.reshape(-1, *frames.shape[-3:])
    decoded = tokenizer.decode(tokenizer.encode(flat))
    area = expected_cube_area(flat)
    err = tracking_error(track_cube(decoded, area), track_cube(flat, area))
    return {
        "psnr_db": psnr(flat, decoded),
        "rmse_px": err.rmse,
        "detection_rate": err.detection_rate,
        "detected": err.detected,
        "total": err.total,
        "resolution": flat.shape[1],
    }


class CosmosTokenizer:
    """NVIDIA's Cosmos image tokenizer from local TorchScript files (`encoder.jit`, `decoder.jit`).

    Never downloads: point it at a directory that holds the two files. Frames go in as
    Bx3xHxW in [-1, 1], padded to multiples of 16 and cropped back. Weights and frames are cast to
    bf16 (NVIDIA's own inference dtype) where the device computes bf16 natively, by the rule of
    `precision.use_bf16`, else kept in float32; `bf16` forces either.
    """

    PAD = 16

    def __init__(self, directory: str | Path, device: str | None = None, batch: int = 8, bf16: Setting = "auto"):
        directory = Path(directory)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = torch.bfloat16 if use_bf16(bf16, self.device.type) else torch.float32
        self.batch = batch
        modules = []
        for name in ("encoder.jit", "decoder.jit"):
            path = directory / name
            if not path.is_file():
                raise UserError(f"no {name} in {directory}: download the Cosmos tokenizer files there first")
            try:
                module = torch.jit.load(str(path), map_location=self.device)
            except RuntimeError as e:
                raise UserError(f"{path} is not a TorchScript file: {e}") from e
            modules.append(module.to(self.dtype).eval())
        self.encoder, self.decoder = modules

    @torch.no_grad()
    def encode(self, frames: np.ndarray) -> torch.Tensor:
        check_frames(frames)
        h, w = frames.shape[1:3]
        pad_h, pad_w = -h % self.PAD, -w % self.PAD
        out = []
        for i in range(0, len(frames), self.batch):
            x = to_unit_range(frames[i : i + self.batch]).to(self.device, self.dtype)
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
            z = self.encoder(x)
            z = z[0] if isinstance(z, (tuple, list)) else z  # Cosmos returns (latent,) tuples
            out.append(z[..., : h // SPATIAL_FACTOR, : w // SPATIAL_FACTOR].float().cpu())
        return torch.cat(out)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        latents = torch.as_tensor(latents)
        h, w = latents.shape[-2] * SPATIAL_FACTOR, latents.shape[-1] * SPATIAL_FACTOR
        pad = self.PAD // SPATIAL_FACTOR
        pad_h, pad_w = -latents.shape[-2] % pad, -latents.shape[-1] % pad
        out = []
        for i in range(0, len(latents), self.batch):
            z = latents[i : i + self.batch].to(self.device, self.dtype)
            z = F.pad(z, (0, pad_w, 0, pad_h), mode="replicate")
            x = self.decoder(z)
            x = x[0] if isinstance(x, (tuple, list)) else x
            out.append(to_uint8(x[..., :h, :w]))
        return np.concatenate(out)
