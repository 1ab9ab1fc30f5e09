# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. Dreaming

# %% [markdown]
# ```{admonition} At a glance
# - **Shows**: the dreams of held-out episodes: sliders to explore them, an animation and the demo video.
# - **Needs**: chapter 3's models and the grid's first Probabilistic Plus run (`lucid-dreamer grid`).
# - **Takes**: {glue:text}`chapter_runtime` in this build of the book (stages built before are
#   loaded from cache); from scratch at the `cpu` preset on 2 CPU cores, about 6 min.
# ```

# %% [markdown]
# A dream starts from the first K = 4 latent frames of a held-out test episode and rolls the
# model out, each prediction becoming context for the next, to the end of the episode: the
# paper dreams T - K frames the same way. All test episodes are dreamed together in one batch,
# then decoded by the tokenizer. Beside this book's two ResNet-Rollout runs (1,500 steps each)
# the video shows Probabilistic Plus, the paper's best rival (chapter 7 defines it): the first seed
# of the comparison grid, trained at the grid's shorter budget, and sampled from its Gaussian head
# at every step, which is why its cube jitters.

# %% tags=["parameters"]
import os

preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display
from myst_nb import glue

from lucid_dreamer.book import notebook, tables
from lucid_dreamer.book.videos import animation_html, side_by_side, write_video
from lucid_dreamer.method.data import split_episodes
from lucid_dreamer.pipeline import grid, paths, stages

nb = notebook.start("04_dreaming", preset)
P = nb.preset
k = P.experiments[0].model.context_frames
test = split_episodes(P.world.episodes, P.data)["test"]
truth = stages.load_episodes(P)["frames"][test, k:]
rival = grid.find_run(P, "rivals__probabilistic_plus__seed0").experiment  # shares the grid's cached run
dreams = {exp.label: stages.load_dream_frames(P, exp) for exp in (*P.experiments, rival)}
print(nb.header)
nb.say(f"{len(test)} test episodes, {truth.shape[1]} dreamed frames each; models:", *dreams, sep="\n  ")

# %% [markdown]
# ## Explore the dreams
#
# With a running kernel (locally or on Binder), the sliders below scrub through time and
# switch episode and model. A static page has no kernel, so the animation after them plays
# the first test episode in the browser instead.

# %%
import ipywidgets as widgets


def show(episode=0, model=next(iter(dreams)), horizon=1):
    fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
    for ax, (title, frames) in zip(axes, [("ground truth", truth), (model, dreams[model])]):
        ax.imshow(frames[episode, horizon - 1])
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"test episode {test[episode]}, horizon {horizon}", fontsize=9)
    plt.show()


explorer = widgets.interact(  # kept in a name, so the cell shows the sliders and not the function
    show,
    episode=widgets.IntSlider(0, 0, len(test) - 1, description="episode"),
    model=widgets.Dropdown(options=list(dreams), description="model"),
    horizon=widgets.IntSlider(1, 1, truth.shape[1], description="horizon"),
)
# %% tags=["hide-input"]
panels = {"ground truth": truth[0], **{label: frames[0] for label, frames in dreams.items()}}
HTML(animation_html(panels))

# %% [markdown]
# *The first held-out test episode, frame by frame: the true frames (top left) beside each model's
# dream of them from the same four context frames. Play it, or step with the buttons; watch
# where each dream's cube drifts from the true one, or fades.*

# %% [markdown]
# ## The demo video
#
# The paper's demo shows ground truth beside Probabilistic Plus and ResNet-Rollout; ours does the
# same on the first three held-out test episodes, with both of this book's ResNet-Rollout runs and
# Probabilistic Plus, each panel labelled with what it is.

# %% tags=["hide-input"]
video_frames = np.concatenate(
    [
        side_by_side({"truth": truth[e], **{label: frames[e] for label, frames in dreams.items()}})
        for e in range(min(3, len(test)))
    ]
)
video_path = nb.figures / "demo.mp4"
write_video(video_path, video_frames, fps=10)
nb.say(
    f"{video_path.relative_to(paths.repo_root())}: {len(video_frames)} frames, {video_path.stat().st_size / 1e3:.0f} kB"
)
# the book's column is about 690 px wide: the video fits it, and shrinks with a narrower window
display(HTML(nb.video_html(video_path, width=min(680, video_frames.shape[2]))))
glue("video_frames", len(video_frames), display=False)
glue("video_models", tables.listing(list(dreams)), display=False)

# %% [markdown]
# *The demo video: three held-out test episodes one after another, the true frames beside the
# dreams of [{glue:text}`video_models`]{.prose}, each panel labelled; 10 frames a second.*

# %% [markdown]
# ## What this chapter showed
#
# The dreams themselves, {glue:text}`video_frames` frames of them in the video: what each model
# makes of the held-out episodes it never saw. Chapter 5 measures what the eye sees here.

# %% tags=["remove-input"]
glue("chapter_runtime", nb.runtime(), display=False)
glue("chapter_package", nb.record["package"], display=False)  # tests: executed against the committed package
