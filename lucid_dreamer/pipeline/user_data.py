"""The user's own files: episodes of frames encoded into latents with their statistics, latents read with
their statistics for training, and sequences (frames, or latents to decode) for scoring a dream.
"""

from __future__ import annotations

import json

from ..method.atomic import atomic_write
from ..method.conditions import describe, measure
from ..method.data import Normalizer, load_paper_latents, read_episode, read_sequences
from ..method.errors import UserError
from ..method.tokenizer import CosmosTokenizer, decode_episodes
from . import stages


def tokenizer_for(args, preset):
    if getattr(args, "cosmos", None):
        return CosmosTokenizer(args.cosmos)
    return stages.load_tokenizer(preset, progress=not args.quiet)


def encode_frames(args, preset) -> None:
    """Encode a user's episodes (folders of frames or videos) into latents plus their statistics."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    episodes = [read_episode(path) for path in args.frames]
    sizes = {e.shape[1:3] for e in episodes}
    if len(sizes) > 1:
        raise UserError(f"episodes have different frame sizes {sorted(sizes)}; resize them to one size")
    length = min(len(e) for e in episodes)
    if any(len(e) > length for e in episodes):
        print(f"note: episodes have {sorted({len(e) for e in episodes})} frames; all are cut to the shortest, {length}")
    tokenizer = tokenizer_for(args, preset)
    latents = torch.stack([tokenizer.encode(e[:length]) for e in episodes])  # [E, T, 16, h, w]
    if not torch.isfinite(latents).all():
        raise UserError("the tokenizer produced NaN or Inf latents for these frames")
    stats = {k: Normalizer.fit(latents, k).to_json() for k in ("channel", "scalar")}
    frames = np.stack([e[:length] for e in episodes])  # [E, T, H, W, 3]; latents [E, T, 16, h, w]
    conditions = measure(frames, latents=latents, cell_px=frames.shape[2] // latents.shape[-2])  # before writing
    stats_path = args.output.with_suffix(".stats.json")
    with atomic_write(stats_path) as tmp:
        tmp.write_text(json.dumps(stats, indent=1))
    with atomic_write(args.output) as tmp:
        save_file({"latents": latents.contiguous()}, tmp)
    print(f"latents {list(latents.shape)}: {args.output} (stats: {stats_path})")
    print(f"conditions (by our tracker): {describe(conditions)}")


def user_latents(args, kind: str):
    """Raw latents and a `Normalizer` from --latents (and --stats), for training on the user's data.

    Statistics come from --stats (the paper's latent_stats.pt, or our .stats.json), else from the
    .stats.json beside the latents, else they are fitted on the training episodes by the caller (None).
    """

    if args.latents.suffix == ".pt":
        return load_paper_latents(args.latents, args.stats)
    source = read_sequences(args.latents)
    if "latents" not in source:
        raise UserError(f"{args.latents} holds frames; encode them first with `lucid-dreamer tokenize --frames`")
    stats = args.stats or args.latents.with_suffix(".stats.json")
    if not stats.exists():
        if args.stats:
            raise UserError(f"stats file not found: {args.stats}")
        return source["latents"], None
    try:
        norm = Normalizer.from_json(json.loads(stats.read_text())[kind])
        return source["latents"], norm.check(source["latents"].shape[2], str(stats))
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{stats} is not a statistics file written by `lucid-dreamer tokenize` ({e})") from e


def as_frames(source: dict, tokenizer_factory):
    return source["frames"] if "frames" in source else decode_episodes(tokenizer_factory(), source["latents"])
