"""The pipeline's stages: each is a function of a preset that returns its product's folder.

How a product is found or built (`cache.cached`): a stage hashes the configs that make its product and
looks for `artifacts/<preset>/<stage>/<hash>/` (`paths.artifacts_root`); if it is there, that is the
product. If not, and the repository ships weights for exactly that hash (`weights.find`: the tokenizer
and the main trainings of the `cpu` preset), they are copied in. Otherwise the stage builds it, after
the stages it needs (simulate -> tokenizer -> latents -> train -> dream, with the conditions and the
references beside them), in a hidden folder renamed into place only when complete. `load_*` read a
product, building it first if needed.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file as load_torch
from safetensors.torch import save_file as save_torch

from ..method import precision
from ..method.analyze import score, sharpness, trajectory_metrics
from ..method.conditions import measure
from ..method.data import Normalizer, split_episodes
from ..method.dream import dream
from ..method.errors import UserError
from ..method.references import REFERENCES_VERSION, bouncing_velocity, position_prior
from ..method.tokenizer import ConvTokenizer, decode_episodes, round_trip_report, train_tokenizer
from ..method.track import TRACKER_VERSION, expected_cube_area, track_all, track_cube, tracking_error
from ..method.train import load_model, train
from ..method.world import Camera, require_mujoco, simulate
from . import cache
from .presets import Experiment, Preset


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n")


def simulate_stage(preset: Preset, progress: bool = True, force: bool = False) -> Path:
    """Render every episode; also measure the tracker against the projected cube centre."""
    require_mujoco()  # a bad MUJOCO_GL is one line, and leaves the cache untouched

    def build(out: Path) -> None:
        start = time.perf_counter()
        episodes = simulate(preset.world, progress)
        seconds = time.perf_counter() - start
        episodes["in_view"] = episodes["in_view"].astype(np.uint8)
        save_numpy(episodes, out / "episodes.safetensors")
        truth = np.where(episodes["in_view"][..., None].astype(bool), episodes["pixel"], np.nan)
        found = track_cube(episodes["frames"], expected_cube_area(episodes["frames"]))
        _write_json(out / "report.json", {"seconds": seconds, "tracker_vs_truth": asdict(tracking_error(found, truth))})

    return cache.cached("simulate", preset, (preset.world, {"tracker": TRACKER_VERSION}), build, force)


def load_episodes(preset: Preset, progress: bool = True) -> dict[str, np.ndarray]:
    """Frames [E, T, H, W, 3] and cube states of the preset's episodes (simulated if needed)."""
    episodes = load_numpy(simulate_stage(preset, progress) / "episodes.safetensors")
    episodes["in_view"] = episodes["in_view"].astype(bool)
    return episodes


def tokenizer_preset(preset: Preset) -> Preset:
    """The preset whose world the tokenizer is trained on (itself, unless it encodes another world)."""
    return (
        preset
        if preset.tokenizer_world is None
        else replace(preset, world=preset.tokenizer_world, tokenizer_world=None)
    )


def tokenizer_stage(preset: Preset, progress: bool = True, force: bool = False) -> Path:
    """Train the built-in tokenizer on training episodes; report its round trip on test ones."""
    preset = tokenizer_preset(preset)

    def build(out: Path) -> None:
        episodes = load_episodes(preset, progress)
        # Like Cosmos, the tokenizer is general: trained on the held-out protocol's training
        # episodes whatever protocol the models use, and reported on its test episodes.
        splits = split_episodes(preset.world.episodes, data)
        train = episodes["frames"][splits["train"]]
        centres = np.where(episodes["in_view"][..., None], episodes["pixel"], np.nan)[splits["train"]]
        start = time.perf_counter()
        tokenizer = train_tokenizer(
            train.reshape(-1, *train.shape[2:]), centres.reshape(-1, 2), preset.tokenizer, progress
        )
        seconds = time.perf_counter() - start
        tokenizer.save(out)
        report = round_trip_report(tokenizer, episodes["frames"][splits["test"]])
        _write_json(out / "report.json", {"train_seconds": seconds, "test_round_trip": report})

    # one tokenizer per world and split, whatever normalisation, protocol or subset the models use
    data = replace(preset.data, protocol="held_out", normalization="channel", train_episodes=None)
    return cache.cached("tokenizer", preset, (preset.world, preset.tokenizer, data), build, force)


def load_tokenizer(preset: Preset, progress: bool = True) -> ConvTokenizer:
    return ConvTokenizer.load(tokenizer_stage(preset, progress))


def latents_stage(preset: Preset, progress: bool = True, force: bool = False) -> Path:
    """Encode every episode; fit normalisation statistics on the training episodes only."""

    def build(out: Path) -> None:
        frames = load_episodes(preset, progress)["frames"]
        tokenizer = load_tokenizer(preset, progress)
        latents = tokenizer.encode(frames.reshape(-1, *frames.shape[2:]))
        latents = latents.reshape(*frames.shape[:2], *latents.shape[1:])
        save_torch({"latents": latents.contiguous()}, out / "latents.safetensors")
        train = latents[split_episodes(len(latents), preset.data)["train"]]
        _write_json(out / "stats.json", {k: Normalizer.fit(train, k).to_json() for k in ("channel", "scalar")})

    return cache.cached("latents", preset, data_key(preset), build, force)


def load_latents(preset: Preset, progress: bool = True) -> tuple[torch.Tensor, Normalizer]:
    """Raw latents [E, T, 16, h, w] and the preset's `Normalizer` (fit on training episodes)."""
    folder = latents_stage(preset, progress)
    try:
        latents = load_torch(folder / "latents.safetensors")["latents"]
        stats = json.loads((folder / "stats.json").read_text())
    except (OSError, ValueError, KeyError, SafetensorError) as e:
        raise UserError(f"the cached latents in {folder} are unreadable ({e}); delete that folder and rerun") from e
    return latents, Normalizer.from_json(stats[preset.data.normalization])


def data_key(preset: Preset) -> tuple:
    key = (preset.world, preset.tokenizer, preset.data)
    return key if preset.tokenizer_world is None else (*key, {"tokenizer_world": asdict(preset.tokenizer_world)})


def with_data(preset: Preset, experiment: Experiment) -> Preset:
    """The preset with the experiment's own data settings and world, if it has any (a world of
    its own is encoded by the preset's tokenizer)."""
    if experiment.data is not None:
        preset = replace(preset, data=experiment.data)
    if experiment.world is not None and experiment.world != preset.world:
        preset = replace(preset, world=experiment.world, tokenizer_world=preset.tokenizer_world or preset.world)
    return preset


def conditions_stage(preset: Preset, progress: bool = True, force: bool = False) -> Path:
    """The world's conditions (`conditions.measure`: the cube's size and speed in pixels and latent
    cells, the motion mask's reach) and the cube's area our tracker expects."""

    def build(out: Path) -> None:
        latents, _ = load_latents(preset, progress)
        episodes = load_episodes(preset, progress)
        centres = np.where(episodes["in_view"][..., None], episodes["pixel"], np.nan)
        cell_px = preset.world.resolution // latents.shape[-1]
        _write_json(out / "conditions.json", measure(episodes["frames"], centres, latents, cell_px))

    return cache.cached("conditions", preset, (*data_key(preset), {"tracker": TRACKER_VERSION}), build, force)


def load_conditions(preset: Preset, progress: bool = True) -> dict:
    return json.loads((conditions_stage(preset, progress) / "conditions.json").read_text())


def train_stage(preset: Preset, experiment: Experiment, progress: bool = True, force: bool = False) -> Path:
    """Train an experiment on the training episodes, selecting on the validation episodes.

    Resumable: a run killed part way continues from its last checkpoint next time.
    """
    preset = with_data(preset, experiment)

    def build(out: Path) -> None:
        latents, norm = load_latents(preset, progress)
        splits = split_episodes(len(latents), preset.data)
        z = norm.normalize(latents)
        train(
            experiment.model,
            experiment.train,
            z[splits["train"]],
            z[splits["val"]],
            norm,
            out,
            resume=True,
            progress=progress,
        )

    key = (*data_key(preset), experiment.model, experiment.train)
    return cache.cached("train", preset, key, build, force, resumable=True)


def _decoded_tracks(tokenizer, latents: torch.Tensor, cube_area: float) -> dict[str, np.ndarray]:
    """Decode latents [E, T, 16, h, w] and track the cube with both trackers (decoded frames)."""
    return track_all(decode_episodes(tokenizer, latents), cube_area, decoded=True)


def references_stage(preset: Preset, context_frames: int, progress: bool = True, force: bool = False) -> Path:
    """Ground-truth tracks of the test episodes after K context frames, and the reference points
    (`references.REFERENCES`): copy-last-frame, constant velocity bouncing off the arena's walls, the
    position prior (the training episodes' mean cube position per frame), and the oracle (true latents
    through the tokenizer, the tokenizer's own floor), each by our tracker and the paper's."""

    def build(out: Path) -> None:
        episodes = load_episodes(preset, progress)
        latents, _ = load_latents(preset, progress)
        tokenizer = load_tokenizer(preset, progress)
        area = load_conditions(preset, progress)["cube_area_px"]
        splits, k = split_episodes(len(latents), preset.data), context_frames
        test, train = splits["test"], splits["train"]
        horizon, resolution = latents.shape[1] - k, preset.world.resolution
        truth = track_all(episodes["frames"][test, k:], area, decoded=False)
        context = track_all(episodes["frames"][test, :k], area, decoded=False)
        everyone = track_all(episodes["frames"], area, decoded=False)  # the prior reads the training ones
        last = _decoded_tracks(tokenizer, latents[test, k - 1 : k], area)
        camera, w = Camera.of(preset.world), preset.world
        bound = w.arena_half_size - w.cube_half_size
        tracks = {
            "copy_last": {name: np.repeat(xy, horizon, axis=1) for name, xy in last.items()},
            "bouncing_velocity": {
                name: bouncing_velocity(xy[:, -2:], horizon, camera, bound) for name, xy in context.items()
            },
            "position_prior": {name: position_prior(xy, splits, k, horizon) for name, xy in everyone.items()},
            "oracle": _decoded_tracks(tokenizer, latents[test, k:], area),
        }
        flat = {
            f"{name}/{tracker}": xy for name, by in {"truth": truth, **tracks}.items() for tracker, xy in by.items()
        }
        save_numpy({**flat, "episodes": test, "train_episodes": train}, out / "tracks.safetensors")
        _write_json(out / "metrics.json", {name: score(xy, truth, resolution) for name, xy in tracks.items()})

    key = (*data_key(preset), {"context_frames": context_frames, "tracker": TRACKER_VERSION})
    key += ({"references": REFERENCES_VERSION},)
    return cache.cached("references", preset, key, build, force)


def load_reference_tracks(
    preset: Preset, context_frames: int, progress: bool = True
) -> dict[str, dict[str, np.ndarray]]:
    """Per reference point (and "truth"), its centroids of the test episodes after K context frames by
    each tracker ([E, T - K, 2])."""
    tracks = load_numpy(references_stage(preset, context_frames, progress) / "tracks.safetensors")
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, xy in tracks.items():
        if "/" in name:
            reference, tracker = name.split("/")
            out.setdefault(reference, {})[tracker] = xy
    return out


def load_truth_tracks(preset: Preset, context_frames: int, progress: bool = True) -> dict[str, np.ndarray]:
    """True centroids of the test episodes after K context frames, by tracker ([E, T - K, 2] each)."""
    tracks = load_numpy(references_stage(preset, context_frames, progress) / "tracks.safetensors")
    return {name.split("/")[1]: xy for name, xy in tracks.items() if name.startswith("truth/")}


def dream_stage(preset: Preset, experiment: Experiment, progress: bool = True, force: bool = False) -> Path:
    """Dream every test episode from its first K frames to its end; track and score the dreams."""
    preset = with_data(preset, experiment)

    def build(out: Path) -> None:
        model, _ = load_model(train_stage(preset, experiment, progress) / "best.safetensors", experiment.model)
        model = model.to(_device())  # dreams on the GPU where training ran on one
        latents, norm = load_latents(preset, progress)
        k = experiment.model.context_frames
        test = split_episodes(len(latents), preset.data)["test"]
        start = time.perf_counter()
        torch.manual_seed(experiment.train.seed)  # a probabilistic model's samples are repeatable
        sample = experiment.train.loss == "gaussian_nll"
        context = norm.normalize(latents[test, :k])
        dreamed = norm.denormalize(
            dream(model, context, latents.shape[1] - k, bf16=experiment.train.bf16, sample=sample)
        )
        seconds = time.perf_counter() - start
        save_torch({"latents": dreamed.contiguous(), "episodes": torch.as_tensor(test)}, out / "dream.safetensors")
        area = load_conditions(preset, progress)["cube_area_px"]
        dream_xy = _decoded_tracks(load_tokenizer(preset, progress), dreamed, area)
        save_numpy({f"dream/{name}": xy for name, xy in dream_xy.items()}, out / "tracks.safetensors")
        report = score(dream_xy, load_truth_tracks(preset, k, progress), preset.world.resolution)
        used = precision.record(experiment.train.bf16, next(model.parameters()).device.type)
        _write_json(out / "metrics.json", {**report, "dream_seconds": seconds, "precision": used})

    key = (*data_key(preset), experiment.model, experiment.train, {"tracker": TRACKER_VERSION})
    return cache.cached("dream", preset, key, build, force)


def one_step_stage(preset: Preset, experiment: Experiment, first_target: int = 8, progress: bool = True) -> Path:
    """One-step predictions of every test frame from `first_target` on (the same frames whatever
    the context size): latent error, sharpness against the tokenizer's own reconstruction, and
    whether the tracker still finds the cube. Also keeps a few decoded predictions for figures."""
    preset = with_data(preset, experiment)

    def build(out: Path) -> None:
        model, _ = load_model(train_stage(preset, experiment, progress) / "best.safetensors", experiment.model)
        model = model.to(_device())  # dreams on the GPU where training ran on one
        latents, norm = load_latents(preset, progress)
        tokenizer = load_tokenizer(preset, progress)
        k, test = experiment.model.context_frames, split_episodes(len(latents), preset.data)["test"]
        z = norm.normalize(latents[test])
        targets = range(first_target, z.shape[1])
        context = torch.stack([z[:, t - k : t] for t in targets], dim=1).flatten(0, 1)
        prediction = dream(model, context, 1, bf16=experiment.train.bf16)[:, 0]
        prediction = norm.denormalize(prediction).reshape(len(test), len(targets), *z.shape[2:])
        truth = latents[test, first_target:]
        frames, reference = decode_episodes(tokenizer, prediction), decode_episodes(tokenizer, truth)
        true_frames = load_episodes(preset, progress)["frames"][test, first_target:]
        area = load_conditions(preset, progress)["cube_area_px"]
        truth_xy = track_cube(true_frames, area)
        half = preset.world.resolution // 8
        metrics = {
            "latent_l1": float((prediction - truth).abs().mean()),
            # around the true cube (a quarter of the frame's side): the background would hide a blur
            "sharpness_ratio": float(
                np.nanmean(sharpness(frames, truth_xy, half)) / np.nanmean(sharpness(reference, truth_xy, half))
            ),
            "tracking": trajectory_metrics(track_cube(frames, area), truth_xy, preset.world.resolution),
        }
        _write_json(out / "metrics.json", metrics)
        every = slice(None, None, max(1, len(targets) // 6))  # six frames of the first test episode
        examples = {"prediction": frames[0, every][:6], "truth": true_frames[0, every][:6]}
        save_numpy({name: np.ascontiguousarray(a) for name, a in examples.items()}, out / "examples.safetensors")

    key = (*data_key(preset), experiment.model, experiment.train)
    key += ({"first_target": first_target, "sharpness": "cube", "tracker": TRACKER_VERSION},)
    return cache.cached("one_step", preset, key, build)


def dream_sharpness_stage(preset: Preset, experiment: Experiment, progress: bool = True) -> Path:
    """The sharpness of a run's dreams around the true cube, per test episode, beside that of the
    tokenizer's reconstruction of the true latents of the same frames (the sharpest a decoded frame
    gets): whether a model's dreams blur. From the dream stage's latents (made by it where it has not
    run); an episode in which the true cube is never found has NaN."""
    preset = with_data(preset, experiment)

    def build(out: Path) -> None:
        k = experiment.model.context_frames
        frames = load_dream_frames(preset, experiment, progress)
        latents, _ = load_latents(preset, progress)
        test = split_episodes(len(latents), preset.data)["test"]
        reference = decode_episodes(load_tokenizer(preset, progress), latents[test, k:])
        truth_xy = load_truth_tracks(preset, k, progress)["cube"]
        half = preset.world.resolution // 8  # a quarter of the frame's side, as the one-step stage
        # per episode, the mean over the frames in which the true cube is found (NaN: never found)
        with warnings.catch_warnings():  # an episode without the cube is NaN, and says so
            warnings.simplefilter("ignore", RuntimeWarning)
            dreamed, decoded = (np.nanmean(sharpness(f, truth_xy, half), axis=1) for f in (frames, reference))
        _write_json(out / "metrics.json", {"dream": dreamed.tolist(), "reference": decoded.tolist()})

    key = (*data_key(preset), experiment.model, experiment.train, {"sharpness": "cube", "tracker": TRACKER_VERSION})
    return cache.cached("dream_sharpness", preset, key, build)


def load_dream_frames(preset: Preset, experiment: Experiment, progress: bool = True) -> np.ndarray:
    """Decoded dreams of the test episodes, uint8 [E, T - K, H, W, 3]."""
    dreamed = load_torch(dream_stage(preset, experiment, progress) / "dream.safetensors")["latents"]
    return decode_episodes(load_tokenizer(preset, progress), dreamed)
