"""Latents ready to learn from: episodes, normalisation, splits by episode, and windows.

Latent episodes are float tensors [E, T, 16, h, w]. A window is K context frames followed by
R target frames of one episode; windows are gathered by indexing the tensor in memory, so a
batch costs one indexing operation rather than a Python loop of `torch.cat`s.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from .errors import UserError
from .tokenizer import LATENT_CHANNELS, check_frames


@dataclass(frozen=True)
class DataConfig:
    """How latent episodes are split and normalised (the window sizes K and R belong to the model
    and the trainer, so changing them never re-encodes the latents)."""

    val_episodes: int = 8
    """Episodes held out for validation (model selection)."""
    test_episodes: int = 16
    """Episodes held out for testing; never trained on or used to pick a checkpoint."""
    split_seed: int = 0
    """Seed of the shuffle that assigns episodes to splits."""
    normalization: Literal["channel", "scalar"] = "channel"
    """Per-channel mean/std, or the paper's one scalar mean/std over the whole tensor."""
    protocol: Literal["held_out", "paper"] = "held_out"
    """`held_out`: train / val / test are disjoint episodes. `paper`: the paper's protocol,
    one trajectory (episode 0) trained, validated and dreamed on itself."""
    train_episodes: int | None = None
    """Train on only this many of the training episodes (None: all; 1: single-trajectory training)."""


def split_episodes(num_episodes: int, cfg: DataConfig) -> dict[str, np.ndarray]:
    """Episode indices of the train, val and test splits."""
    if cfg.protocol == "paper":
        one = np.array([0])
        return {"train": one, "val": one, "test": one}
    held = cfg.val_episodes + cfg.test_episodes
    if min(cfg.val_episodes, cfg.test_episodes) < 1 or held >= num_episodes:
        raise UserError(
            f"{num_episodes} episodes cannot give {cfg.val_episodes} validation, "
            f"{cfg.test_episodes} test and at least one training episode"
        )
    order = np.random.default_rng(cfg.split_seed).permutation(num_episodes)
    test, val, train = np.split(order, [cfg.test_episodes, held])
    if cfg.train_episodes is not None:
        if not 1 <= cfg.train_episodes <= len(train):
            raise UserError(f"train_episodes must be between 1 and {len(train)}, got {cfg.train_episodes}")
        train = train[: cfg.train_episodes]
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def check_latents(latents: torch.Tensor, what: str = "latents") -> None:
    """Raise a `UserError` unless `latents` is finite float [E, T, 16, h, w]."""
    if not isinstance(latents, torch.Tensor) or not latents.is_floating_point():
        raise UserError(f"{what} must be a float tensor, got {type(latents).__name__}")
    if latents.ndim != 5 or latents.shape[2] != LATENT_CHANNELS:
        raise UserError(f"{what} must have shape [episodes, frames, 16, h, w], got {list(latents.shape)}")
    if not torch.isfinite(latents).all():
        bad = int((~torch.isfinite(latents)).sum())
        raise UserError(f"{what} hold {bad} NaN or Inf values; re-encode the frames")


@dataclass
class Normalizer:
    """z_norm = (z - mean) / (std + 1e-8), with per-channel or scalar statistics."""

    mean: torch.Tensor
    """Shape [16] (per channel) or [1] (scalar)."""
    std: torch.Tensor
    """Same shape as `mean`."""

    @classmethod
    def fit(cls, latents: torch.Tensor, kind: str) -> Normalizer:
        """Statistics of latents [..., 16, h, w]: per channel, or one scalar (the paper's)."""
        if kind == "scalar":
            return cls(latents.mean().reshape(1), latents.std().reshape(1))
        per_channel = latents.transpose(0, -3).reshape(latents.shape[-3], -1)
        return cls(per_channel.mean(1), per_channel.std(1))

    def _shape(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(-1, 1, 1)  # broadcasts over [..., C, h, w]

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self._shape(self.mean)) / (self._shape(self.std) + 1e-8)

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        return z * (self._shape(self.std) + 1e-8) + self._shape(self.mean)

    def to_json(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_json(cls, d: dict) -> Normalizer:
        return cls(torch.tensor(d["mean"], dtype=torch.float32), torch.tensor(d["std"], dtype=torch.float32))

    def check(self, channels: int, what: str) -> Normalizer:
        """Itself, if it fits latents of `channels` channels (per channel or one scalar) and every
        statistic is usable; else a one-line `UserError` naming `what`."""
        size = self.mean.numel()
        if self.mean.shape != self.std.shape or self.mean.ndim != 1 or size not in (1, channels):
            shapes = f"mean {list(self.mean.shape)}, std {list(self.std.shape)}"
            raise UserError(
                f"{what} holds statistics of {size} channels ({shapes}); the latents have {channels}, "
                "so give one value per channel or a single scalar"
            )
        if not (torch.isfinite(self.mean).all() and torch.isfinite(self.std).all()) or (self.std <= 0).any():
            raise UserError(f"{what} has a non-finite mean or a std that is not positive")
        return self


class Windows:
    """Every window of K context and R target frames in some episodes, gathered on demand."""

    def __init__(self, latents: torch.Tensor, context_frames: int, rollout_steps: int):
        check_latents(latents)
        episodes, frames = latents.shape[:2]
        span = context_frames + rollout_steps
        if context_frames < 1 or rollout_steps < 1:
            raise UserError(f"context ({context_frames}) and rollout ({rollout_steps}) must be at least 1")
        if span > frames:
            raise UserError(
                f"context {context_frames} + rollout {rollout_steps} = {span} frames is longer "
                f"than an episode ({frames} frames); shorten one of them"
            )
        self.latents, self.context_frames, self.rollout_steps = latents, context_frames, rollout_steps
        starts = frames - span + 1
        self.episode = torch.arange(episodes).repeat_interleave(starts)
        self.start = torch.arange(starts).repeat(episodes)
        self._offsets = torch.arange(span)

    def __len__(self) -> int:
        return len(self.start)

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        """Context [B, K, 16, h, w] and targets [B, R, 16, h, w] for window indices `index`."""
        index = torch.as_tensor(index).reshape(-1)
        frames = self.start[index, None] + self._offsets
        span = self.latents[self.episode[index, None], frames]
        return span[:, : self.context_frames], span[:, self.context_frames :]


def _torch_load(path: Path, what: str):
    if not path.is_file():
        raise UserError(f"{what} not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols are not the user's business
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise UserError(
            f"refused to load {what} {path}: it holds Python objects, not only tensors, and unpickling them could "
            "run code; save the tensors alone (torch.save(tensor, path))"
        ) from e
    except Exception as e:  # a truncated zip, or not a torch file at all
        raise UserError(f"cannot read {what} {path} ({str(e).splitlines()[0]}); is it a complete torch file?") from e


def load_paper_latents(latent_path: str | Path, stats_path: str | Path | None = None):
    """The paper's `latent.pt` ([16, T, h, w] or [1, 16, T, h, w]) and `latent_stats.pt`.

    Returns latents as one episode [1, T, 16, h, w] and, if a stats file is given, its scalar
    `Normalizer`. Both files are read with `weights_only=True`: nothing is unpickled.
    """
    z = _torch_load(Path(latent_path), "latent file")
    if not isinstance(z, torch.Tensor):
        raise UserError(f"{latent_path} holds a {type(z).__name__}, not a tensor")
    if z.ndim == 5 and z.shape[0] == 1:
        z = z[0]
    if z.ndim != 4 or z.shape[0] != LATENT_CHANNELS:
        raise UserError(f"{latent_path} must hold [16, T, h, w] or [1, 16, T, h, w], got {list(z.shape)}")
    z = z.float().permute(1, 0, 2, 3)[None].contiguous()
    check_latents(z, str(latent_path))
    if stats_path is None:
        return z, None
    stats = _torch_load(Path(stats_path), "stats file")
    if not isinstance(stats, dict) or not {"mean", "std"} <= stats.keys():
        raise UserError(f"{stats_path} must hold a dict with 'mean' and 'std'")
    norm = Normalizer(*(torch.as_tensor(stats[k], dtype=torch.float32).reshape(-1)[:1] for k in ("mean", "std")))
    if not (torch.isfinite(norm.mean).all() and torch.isfinite(norm.std).all()) or norm.std.item() <= 0:
        raise UserError(f"{stats_path} has a non-finite mean or a std that is not positive")
    return z, norm


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm"}


def read_frames(folder: str | Path) -> np.ndarray:
    """The frames of a folder (PNG/JPEG, sorted by name) as uint8 [N, H, W, 3]."""
    import imageio.v3 as iio

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"frame folder not found: {folder}")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise UserError(f"no PNG or JPEG frames in {folder}")
    frames = []
    for p in paths:
        try:
            img = iio.imread(p)
        except Exception as e:  # imageio raises many types for a damaged or foreign file
            raise UserError(f"cannot read frame {p}: not a readable PNG or JPEG image") from e
        if img.ndim != 3 or img.shape[2] not in (3, 4):
            raise UserError(f"{p} is not an RGB image (shape {list(img.shape)}); convert it to RGB")
        if frames and img.shape[:2] != frames[0].shape[:2]:
            raise UserError(f"{p} is {img.shape[1]}x{img.shape[0]}, unlike {paths[0].name}; all frames must match")
        frames.append(img[..., :3].astype(np.uint8))
    stacked = np.stack(frames)
    check_frames(stacked)
    return stacked


def read_video(path: str | Path) -> np.ndarray:
    """The frames of a video file (decoded by imageio-ffmpeg) as uint8 [N, H, W, 3]."""
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise UserError(f"video not found: {path}")
    try:
        frames = iio.imread(path, plugin="FFMPEG", index=None)
    except Exception as e:  # ffmpeg reports damage in many ways
        raise UserError(f"cannot read video {path} ({str(e).splitlines()[0]}); is it a complete video file?") from e
    if frames.ndim != 4 or len(frames) == 0:
        raise UserError(f"no frames decoded from {path}")
    frames = np.ascontiguousarray(frames[..., :3], dtype=np.uint8)
    check_frames(frames)
    return frames


def read_episode(path: str | Path) -> np.ndarray:
    """One episode's frames, uint8 [T, H, W, 3]: a video file or a folder of images sorted by name."""
    path = Path(path)
    return read_video(path) if path.suffix.lower() in VIDEO_SUFFIXES else read_frames(path)


def user_splits(num_episodes: int) -> tuple[dict[str, np.ndarray], str]:
    """Splits for a user's own episodes, and a note on what they mean.

    From 3 episodes on, a quarter (at least one) is held out for testing and an eighth (at least
    one) for validation. With fewer there is nothing to hold out: like the paper, the model is
    trained, validated and dreamed on the same episodes, and the note says so.
    """
    if num_episodes < 3:
        every = np.arange(num_episodes)
        return {"train": every, "val": every, "test": every}, (
            f"{num_episodes} episode(s): trained, validated and tested on the same frames (the paper's protocol); "
            "give 3 or more episodes to hold some out"
        )
    cfg = DataConfig(val_episodes=max(1, num_episodes // 8), test_episodes=max(1, num_episodes // 4))
    splits = split_episodes(num_episodes, cfg)
    sizes = {name: len(index) for name, index in splits.items()}
    return splits, f"{sizes['train']} training, {sizes['val']} validation, {sizes['test']} test episodes"


def read_sequences(path: str | Path) -> dict:
    """Episodes from a file or folder, for dreaming and analysis.

    Accepts a folder of frames or a video file (one episode), a `.safetensors` file holding `frames`
    (uint8 [E, T, H, W, 3], e.g. our episodes) or `latents` ([E, T, 16, h, w], e.g. our dreams or
    `tokenize --frames` output, with optional `episodes` ids), or the paper's `latent.pt`.
    Returns a dict with `frames` (numpy) or `latents` (torch), and `episodes` if known.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES:
        return {"frames": read_episode(path)[None]}
    if path.suffix == ".pt":
        return {"latents": load_paper_latents(path)[0]}
    if not path.is_file():
        raise UserError(f"not found: {path}")
    try:
        with safe_open(path, "np") as f:
            data = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as e:
        raise UserError(f"cannot read {path} ({e}); it may be truncated") from e
    if "frames" in data:
        frames = data["frames"]
        if frames.dtype != np.uint8 or frames.ndim != 5 or frames.shape[-1] != 3:
            raise UserError(
                f"'frames' in {path} must be uint8 [E, T, H, W, 3], got {frames.dtype} {list(frames.shape)}"
            )
        out = {"frames": frames}
    elif "latents" in data:
        latents = torch.from_numpy(data["latents"])
        check_latents(latents, f"the latents in {path}")
        out = {"latents": latents}
    else:
        raise UserError(f"{path} holds neither 'frames' nor 'latents'")
    if "episodes" in data:  # which episode of the ground truth each one dreams
        ids, count = data["episodes"], len(next(iter(out.values())))
        if ids.dtype.kind not in "iu" or ids.shape != (count,) or (ids < 0).any():
            raise UserError(
                f"the episode ids in {path} must be whole numbers from 0 up, one per episode ({count}); "
                f"got {ids.tolist()} ({ids.dtype})"
            )
        out["episodes"] = ids.astype(np.int64)
    return out
