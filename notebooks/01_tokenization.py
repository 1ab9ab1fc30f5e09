# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. The world and the tokenizer

# %% [markdown]
# ```{admonition} At a glance
# - **Shows**: the simulated world, the tokenizer's round trip, the latent space the models predict, and how large and fast the cube is in latent cells.
# - **Needs**: nothing: it simulates the episodes and trains the tokenizer.
# - **Takes**: {glue:text}`chapter_runtime` in this build of the book (stages built before are
#   loaded from cache); from scratch at the `cpu` preset on 2 CPU cores, about 1.5 min, plus about 5 min to train the tokenizer.
# ```

# %% [markdown]
# The paper dreams in the latent space of NVIDIA's Cosmos image tokenizer, on a video of a
# red cube rendered in Isaac Sim. Neither the video nor a downloadable tokenizer is available
# here, so this chapter builds both from scratch: a MuJoCo arena in which a red cube is tossed
# or slid and bounces off the walls, and a convolutional autoencoder with the Cosmos CI8x8
# shape (8x8 spatial compression, 16 channels). It then measures the two floors every later
# number stands on: how accurately the tracker finds the cube in real frames, and how much
# the tokenizer's round trip moves it.

# %% tags=["parameters"]
import os

preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")

# %% tags=["hide-input"]
import json

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from myst_nb import glue

from lucid_dreamer.book import notebook, tables
from lucid_dreamer.book.plots import frame_grid, latent_channels
from lucid_dreamer.method.data import split_episodes
from lucid_dreamer.pipeline import stages

nb = notebook.start("01_tokenization", preset)
P = nb.preset
print(nb.header)

# %% [markdown]
# ## The world
#
# Each episode starts from its own seed: a random position, heading and speed, and half the
# time a toss with spin. After that nothing random acts on the cube, so its future follows
# from its past. A fixed camera looks down at the arena from above at an angle.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Three simulated episodes at six moments each. The cube slides or tumbles and bounces off the walls; nothing random acts on it after the first frame, so its future follows from its past.", "name": "fig-world"}, "image": {"alt": "Three simulated episodes at six moments each"}}
sim_dir = stages.simulate_stage(P)
episodes = stages.load_episodes(P)
sim = json.loads((sim_dir / "report.json").read_text())
frames = episodes["frames"]
times = np.linspace(0, P.world.frames_per_episode - 1, 6).astype(int)
fig = frame_grid(
    frames[:3, times],
    titles=[f"frame {t}" for t in times],
    row_labels=[f"episode {e}" for e in range(3)],
    source=nb.source,
)
nb.save_figure(fig, "world_episodes")
plt.show()

# %% [markdown]
# ## The tracker on real frames
#
# The analysis tracks the cube by colour: HSV thresholds, a morphological clean-up, the
# largest connected component, a minimum area and its centroid (the paper's `analyze.py`,
# with one rule for true and dreamed frames and only a cube-sized blob counting as the cube:
# methods page). Against the cube centre projected through the camera, on every rendered frame:

# %% tags=["hide-input"]
tracker = sim["tracker_vs_truth"]
to_512 = 512 / P.world.resolution  # every pixel figure of the book is at 512 px
glue("tracker_rmse", tracker["rmse"] * to_512, display=False)
glue("tracker_detected", f"{tracker['detected']}/{tracker['total']}", display=False)
glue("sim_seconds", sim["seconds"], display=False)
glue("n_episodes", P.world.episodes, display=False)
glue("n_frames", P.world.frames_per_episode, display=False)
glue("resolution", P.world.resolution, display=False)
nb.say(
    f"{P.world.episodes} episodes x {P.world.frames_per_episode} frames at {P.world.resolution} px, "
    f"rendered in {sim['seconds']:.1f} s"
)
nb.say(
    f"tracker vs projected centre: RMSE {tracker['rmse'] * to_512:.2f} px at 512, "
    f"detected {tracker['detected']}/{tracker['total']}"
)

# %% [markdown]
# ## The tokenizer
#
# The built-in `ConvTokenizer` is trained on the training episodes only, and judged on the
# held-out test episodes: the tracker must find the cube in decoded frames wherever it finds
# it in the originals, and the centroid should move by at most 6 px at 512 px (1.5 px at the
# `cpu` preset's 128 px).

# %% tags=["hide-input"]
tok_dir = stages.tokenizer_stage(P)
tokenizer = stages.load_tokenizer(P)
tok = json.loads((tok_dir / "report.json").read_text())
rt = tok["test_round_trip"]
glue("tok_psnr", rt["psnr_db"], display=False)
glue("tok_rmse", rt["rmse_px"] * to_512, display=False)
glue("tok_detected", f"{rt['detected']}/{rt['total']}", display=False)
glue("tok_seconds", tok["train_seconds"], display=False)
nb.say(
    f"trained in {tok['train_seconds']:.0f} s; on test episodes PSNR {rt['psnr_db']:.1f} dB, "
    f"centroid moved {rt['rmse_px'] * to_512:.2f} px RMSE at 512, detected {rt['detected']}/{rt['total']}"
)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Held-out test frames before and after the tokenizer's round trip, and their difference (darker: larger). Look at the cube: its colour and outline survive, which is what the tracker needs.", "name": "fig-round-trip"}, "image": {"alt": "Held-out test frames before and after the tokenizer's round trip, and their difference (darker: larger)"}}
test = split_episodes(P.world.episodes, P.data)["test"]
originals = frames[test[:3], P.world.frames_per_episode // 2]
decoded = tokenizer.decode(tokenizer.encode(originals))
error = np.abs(originals.astype(int) - decoded.astype(int)).sum(-1).clip(0, 255).astype(np.uint8)
error_rgb = np.repeat(255 - error[..., None], 3, axis=-1)
fig = frame_grid(
    np.stack([originals, decoded, error_rgb], axis=1),
    titles=["original", "decoded", "|difference|"],
    row_labels=[f"test episode {e}" for e in test[:3]],
    source=nb.source,
)
nb.save_figure(fig, "tokenizer_round_trip")
plt.show()

# %% [markdown]
# ## The latent space
#
# A frame becomes 16 channels at an eighth of its size. The models of the next chapters
# never see pixels: they predict these arrays, normalised per channel with statistics of the
# training episodes (the paper uses one scalar mean and std; both are available).

# %% mystnb={"figure": {"caption": "The 16 latent channels of one test frame, each with its colour bar. The models of the next chapters see only these arrays, one cell for every 8 x 8 pixels.", "name": "fig-latents"}, "image": {"alt": "The 16 latent channels of one test frame, each with its colour bar"}}
latents, norm = stages.load_latents(P)
z = latents[test[0], P.world.frames_per_episode // 2].numpy()
fig = latent_channels(z, source=nb.source)
nb.save_figure(fig, "latent_channels")
plt.show()
nb.say("latents", list(latents.shape), "| per-channel std from", f"{norm.std.min():.2f}", "to", f"{norm.std.max():.2f}")

# %% [markdown]
# ## The world's conditions
#
# How hard the task is depends on how large the cube is and how fast it moves, in the units
# the models see: latent cells (one cell is 8 x 8 pixels). The paper never reports either.
# Measured on every episode of this world (`conditions.measure`; `lucid-dreamer simulate` and
# `tokenize` print the same for any data): the cube's side is the square root of its median blob
# area, its speed the step of its projected centre between frames, and the motion mask the
# share of latent elements whose frame-to-frame change exceeds the paper's threshold of 0.1
# (the elements its loss weights 10x), near the cube (within one cube side) and elsewhere.
# Chapter 8 maps the recipe over other sizes and speeds.

# %% tags=["hide-input"]
world = stages.load_conditions(P)
world_table = tables.table(
    ["quantity", "value"],
    [
        ["frame size", f"{world['resolution']} px ({world['latent_cells']} x {world['latent_cells']} latent cells)"],
        [
            "cube side",
            f"{world['cube_px']:.1f} px of the {world['resolution']} px frame = {world['cube_cells']:.2f} latent cells",
        ],
        [
            "speed, median (90th percentile)",
            f"{world['speed_px']['median']:.2f} px of {world['resolution']} ({world['speed_px']['p90']:.2f}) "
            f"= {world['speed_cells']['median']:.2f} cells ({world['speed_cells']['p90']:.2f}) per frame",
        ],
        ["frames with the cube in view", f"{world['in_view']:.0%}"],
        [
            "motion mask: near the cube / elsewhere",
            f"{world['motion_mask']['near_cube']:.0%} / {world['motion_mask']['elsewhere']:.1%} of latent elements",
        ],
    ],
)
glue("world_table", world_table, display=False)
glue("cube_cells", f"{world['cube_cells']:.1f}", display=False)
glue("speed_cells", f"{world['speed_cells']['median']:.2f}", display=False)
display(world_table)
stats = {"latent_shape": list(latents.shape), "channel_mean": norm.mean.tolist(), "channel_std": norm.std.tolist()}
nb.save_data("tokenization", {"simulate": sim, "tokenizer": tok, "latents": stats, "conditions": world})

# %% [markdown]
# ## What this chapter found
#
# The world renders {glue:text}`n_episodes` episodes of {glue:text}`n_frames` frames; our tracker
# finds the cube in {glue:text}`tracker_detected` true frames, {glue:text}`tracker_rmse:.2f` px
# (at 512 px) from its projected centre, and after the tokenizer's round trip the centroid moves
# {glue:text}`tok_rmse:.2f` px (detected {glue:text}`tok_detected`). The cube spans
# {glue:text}`cube_cells` latent cells and moves {glue:text}`speed_cells` cells a frame (median).

# %% tags=["remove-input"]
glue("chapter_runtime", nb.runtime(), display=False)
glue("chapter_package", nb.record["package"], display=False)  # tests: executed against the committed package
