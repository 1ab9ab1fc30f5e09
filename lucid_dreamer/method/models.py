"""Latent dynamics models: context [B, K, 16, h, w] -> next latent frame [B, 16, h, w].

`ResNetRollout` is the paper's network in the Conv2d form we train. `ResNetRollout3d` is the
paper's literal layout: every Conv3d has a 3-deep temporal kernel applied to a time axis of
length 1, so its outer slices only ever multiply zero padding. `to_conv2d` keeps the middle
slices, which gives the same function with a third of the parameters.

The paper's rivals released no code; these are our readings of its words (book: methods):
`UNet` (the U-Nets and Sharp-Shooter), `ProbabilisticResNet` (Probabilistic Plus: a wider
ResNet with a Gaussian head) and `LatentTransformer` (the failed 394M "Hero"). `ChangeResNet` is
ours: the paper's network predicting the change from the last context frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .errors import AtLeast, UserError, check_bounds
from .tokenizer import LATENT_CHANNELS


@dataclass(frozen=True)
class ModelConfig:
    """Which network to build and its size."""

    name: str = "resnet_rollout"
    """Key in `MODELS`."""
    context_frames: int = 4
    """K: latent frames stacked on the channel axis (the paper's 4)."""
    width: int = 64
    """Channels of the hidden layers."""
    blocks: int = 4
    """Residual blocks."""
    groups: int = 8
    """GroupNorm groups."""
    dropout: float = 0.1
    """Dropout inside each residual block."""
    levels: int = 2
    """U-Net: downsampling levels (each halves the latent grid and doubles the width).
    Transformer: tokens are patches of 2**levels x 2**levels latent positions."""
    heads: int = 4
    """Transformer: attention heads (`blocks` is its number of layers, `width` its model size)."""

    BOUNDS: ClassVar[dict[str, AtLeast]] = {"context_frames": AtLeast(1), "width": AtLeast(1), "blocks": AtLeast(1)}
    """The smallest value of each size a network can be built with (checked on creation and by the CLI)."""

    def __post_init__(self) -> None:
        check_bounds(self)


class _ResNet(nn.Module):
    """The paper's network for a given convolution type (Conv2d, or Conv3d on a time axis of 1)."""

    def __init__(self, cfg: ModelConfig, conv: type[nn.Module], kernel):
        super().__init__()
        self.cfg = cfg

        def conv_layer(i, o):
            return conv(i, o, kernel, padding=1)

        def norm():
            return nn.GroupNorm(cfg.groups, cfg.width)

        self.stem = nn.Sequential(conv_layer(LATENT_CHANNELS * cfg.context_frames, cfg.width), norm(), nn.SiLU())
        self.blocks = nn.ModuleList(
            nn.Sequential(
                conv_layer(cfg.width, cfg.width),
                norm(),
                nn.SiLU(),
                nn.Dropout(cfg.dropout),
                conv_layer(cfg.width, cfg.width),
                norm(),
                nn.SiLU(),
            )
            for _ in range(cfg.blocks)
        )
        self.head = conv_layer(cfg.width, LATENT_CHANNELS)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.GroupNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = x + block(x)
        return self.head(x)


class ResNetRollout(_ResNet):
    """The paper's ResNet in Conv2d form: K frames stacked on channels, 3x3 convolutions."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, nn.Conv2d, 3)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        b, k, c, h, w = context.shape
        return self._run(context.reshape(b, k * c, h, w))


class ChangeResNet(ResNetRollout):
    """Ours, not the paper's: the ResNet predicts the change from the last context frame. Its head
    starts at zero, so before training it is copy-last-frame, the reference a world model must beat."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        nn.init.zeros_(self.head.weight)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        return super().forward(context) + context[:, -1]


class ResNetRollout3d(_ResNet):
    """The paper's literal layout: 3x3x3 Conv3d over [B, 16K, 1, h, w] (for audits and benchmarks)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, nn.Conv3d, 3)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        b, k, c, h, w = context.shape
        return self._run(context.reshape(b, k * c, 1, h, w))[:, :, 0]

    def to_conv2d(self) -> ResNetRollout:
        """The same function as a `ResNetRollout`: keep each kernel's middle temporal slice."""
        flat = ResNetRollout(self.cfg)
        state = {
            name: t[:, :, 1] if t.ndim == 5 else t  # conv weights [o, i, 3, 3, 3] -> [o, i, 3, 3]
            for name, t in self.state_dict().items()
        }
        flat.load_state_dict(state)
        return flat


def _conv_block(i: int, o: int, groups: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(i, o, 3, padding=1),
        nn.GroupNorm(groups, o),
        nn.SiLU(),
        nn.Conv2d(o, o, 3, padding=1),
        nn.GroupNorm(groups, o),
        nn.SiLU(),
    )


class UNet(nn.Module):
    """A U-Net over the stacked context: `levels` stride-2 downsamplings, skip connections back up."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        widths = [cfg.width * 2**i for i in range(cfg.levels + 1)]
        self.down = nn.ModuleList([_conv_block(LATENT_CHANNELS * cfg.context_frames, widths[0], cfg.groups)])
        self.down.extend(_conv_block(a, b, cfg.groups) for a, b in zip(widths, widths[1:]))
        self.up = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in zip(widths, widths[1:]))
        self.merge = nn.ModuleList(_conv_block(2 * a, a, cfg.groups) for a in widths[:-1])
        self.head = nn.Conv2d(widths[0], LATENT_CHANNELS, 1)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        b, k, c, h, w = context.shape
        if h % 2**self.cfg.levels or w % 2**self.cfg.levels:
            raise UserError(f"a {self.cfg.levels}-level U-Net needs latent sides divisible by {2**self.cfg.levels}")
        x, skips = context.reshape(b, k * c, h, w), []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        for up, merge, skip in zip(reversed(self.up), reversed(self.merge), reversed(skips[:-1])):
            x = merge(torch.cat([up(x), skip], dim=1))
        return self.head(x)


class ProbabilisticResNet(ResNetRollout):
    """The ResNet with a Gaussian head: a mean and a log-variance per latent element.

    `forward` gives the mean (what the rollout feeds back while training); `sample` draws from
    the predicted distribution (what dreaming uses, hence the "jitter").
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.log_var = nn.Conv2d(cfg.width, LATENT_CHANNELS, 3, padding=1)
        nn.init.zeros_(self.log_var.weight)
        nn.init.zeros_(self.log_var.bias)

    def distribution(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, k, c, h, w = context.shape
        x = self.stem(context.reshape(b, k * c, h, w))
        for block in self.blocks:
            x = x + block(x)
        return self.head(x), self.log_var(x).clamp(-10, 10)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        return self.distribution(context)[0]

    def sample(self, context: torch.Tensor) -> torch.Tensor:
        mean, log_var = self.distribution(context)
        return mean + (0.5 * log_var).exp() * torch.randn_like(mean)


def _sincos_2d(h: int, w: int, dim: int, device) -> torch.Tensor:
    """Fixed 2-D sine-cosine position codes [h * w, dim] (a quarter of `dim` per sine/cosine and axis)."""
    freqs = 1.0 / 10_000 ** (torch.arange(dim // 4, device=device) / (dim // 4))
    y, x = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    angles = [axis.reshape(-1, 1).float() * freqs for axis in (y, x)]
    return torch.cat([f(a) for a in angles for f in (torch.sin, torch.cos)], dim=1)


class LatentTransformer(nn.Module):
    """A transformer over patches of the latent grid: each patch of 2**levels x 2**levels positions
    of the stacked context is a token, with fixed 2-D sine-cosine position codes (so one model fits
    any latent size). Patches as in DiT keep attention affordable on a CPU."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.width % 4:
            raise UserError(f"the transformer's width must be a multiple of 4, got {cfg.width}")
        self.cfg, self.patch = cfg, 2**cfg.levels
        self.embed = nn.Linear(LATENT_CHANNELS * cfg.context_frames * self.patch**2, cfg.width)
        layer = nn.TransformerEncoderLayer(
            cfg.width, cfg.heads, 4 * cfg.width, cfg.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.blocks, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(cfg.width), nn.Linear(cfg.width, LATENT_CHANNELS * self.patch**2))

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        b, k, c, h, w = context.shape
        p = self.patch
        if h % p or w % p:
            raise UserError(f"a transformer with {p}x{p} patches needs latent sides divisible by {p}")
        patches = nn.functional.pixel_unshuffle(context.reshape(b, k * c, h, w), p)  # [B, 16K p p, h/p, w/p]
        tokens = patches.flatten(2).transpose(1, 2)
        position = _sincos_2d(h // p, w // p, self.cfg.width, tokens.device).to(tokens.dtype)
        x = self.encoder(self.embed(tokens) + position)
        out = self.head(x).transpose(1, 2).reshape(b, c * p * p, h // p, w // p)
        return nn.functional.pixel_shuffle(out, p)


MODELS: dict[str, type[nn.Module]] = {
    "resnet_rollout": ResNetRollout,
    "resnet_rollout_3d": ResNetRollout3d,
    "change_resnet": ChangeResNet,
    "unet": UNet,
    "probabilistic_resnet": ProbabilisticResNet,
    "latent_transformer": LatentTransformer,
}


def build_model(cfg: ModelConfig) -> nn.Module:
    """The model named by `cfg.name`."""
    if cfg.name not in MODELS:
        raise UserError(f"unknown model {cfg.name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[cfg.name](cfg)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(model: _ResNet, latent_size: int) -> list[tuple[str, str, str]]:
    """(name, what it computes, output shape) per stage of a ResNet, from the module itself."""
    cfg = model.cfg
    context = torch.zeros(1, cfg.context_frames, LATENT_CHANNELS, latent_size, latent_size)
    shapes: list[tuple[int, ...]] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
        for m in (model.stem, *model.blocks, model.head)
    ]
    with torch.no_grad():
        model.eval()(context)
    for h in hooks:
        h.remove()
    conv = model.head
    kernel = "x".join(map(str, conv.kernel_size))
    rows = [
        (
            "input",
            f"K={cfg.context_frames} latent frames stacked on channels",
            str((LATENT_CHANNELS * cfg.context_frames, latent_size, latent_size)),
        )
    ]
    rows.append(
        (
            "stem",
            f"conv {kernel} {LATENT_CHANNELS * cfg.context_frames}->{cfg.width}, GroupNorm({cfg.groups}), SiLU",
            str(shapes[0]),
        )
    )
    for i in range(cfg.blocks):
        rows.append(
            (
                f"block {i + 1}",
                f"conv {kernel}, GN, SiLU, dropout {cfg.dropout}, conv {kernel}, GN, SiLU",
                str(shapes[1 + i]),
            )
        )
    rows.append(("head", f"conv {kernel} {cfg.width}->{LATENT_CHANNELS}, no activation", str(shapes[-1])))
    return rows
