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
# # 3. Training ResNet-Rollout

# %% [markdown]
# ```{admonition} At a glance
# - **Shows**: the paper's network, checked against its Conv3d form, and its two training runs.
# - **Needs**: chapter 1's latents.
# - **Takes**: {glue:text}`chapter_runtime` in this build of the book (stages built before are
#   loaded from cache); from scratch at the `cpu` preset on 2 CPU cores, about 16 min (two trainings of 1,500 steps).
# ```

# %% [markdown]
# The paper's network: the last K = 4 latent frames stacked on channels, a 3x3 convolution to
# 64 channels, four residual blocks with GroupNorm, SiLU and dropout, and a convolution back
# to 16 channels. It is trained with *teacher-less rollout*: each of R = 4 predictions is fed
# back as context for the next, without detaching, and the loss is a motion-weighted L1 on
# de-normalised latents (weight 10 where the target moved by more than 0.1).
#
# Two runs: the paper's own hyper-parameters and budget (AdamW, lr 1e-4, 1,500 steps of
# 32 windows), and a tuned run of ours with a higher learning rate, labelled as ours.

# %% tags=["parameters"]
import os

preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")

# %% tags=["hide-input"]
import json
from dataclasses import asdict

import matplotlib.pyplot as plt
import torch
from myst_nb import glue

from lucid_dreamer.book import notebook
from lucid_dreamer.book.plots import architecture, training_curves
from lucid_dreamer.method.models import ModelConfig, ResNetRollout, ResNetRollout3d, count_parameters, describe
from lucid_dreamer.pipeline import stages

nb = notebook.start("03_training", preset)
P = nb.preset
print(nb.header)

# %% [markdown]
# ## The model, as the paper wrote it and as we run it
#
# The paper's code uses 3x3x3 `Conv3d` layers on a time axis of length 1. With padding 1, the
# two outer temporal slices of every kernel only ever multiply zeros, so the same function is
# a 3x3 `Conv2d` holding the middle slice. We check that here, on the paper's default sizes.

# %%
torch.manual_seed(0)
literal = ResNetRollout3d(ModelConfig()).eval()
flat = literal.to_conv2d().eval()
x = torch.randn(4, 4, 16, 16, 16)
with torch.no_grad():
    max_diff = (literal(x) - flat(x)).abs().max().item()
card = {
    "parameters_conv3d": count_parameters(literal),
    "parameters_conv2d": count_parameters(flat),
    "max_abs_difference": max_diff,
    "main_model": asdict(P.experiments[0].model),
}
nb.say(
    f"Conv3d form: {card['parameters_conv3d']:,} parameters; Conv2d form: {card['parameters_conv2d']:,}; "
    f"largest output difference {max_diff:.2e}"
)

# %% tags=["remove-input"]
glue("params_3d", f"{card['parameters_conv3d']:,}", display=False)
glue("params_2d", f"{card['parameters_conv2d']:,}", display=False)
glue("equivalence_diff", max_diff, display=False)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The paper's Figure 2, drawn from the model this book trains: each layer, what it computes and its output shape; the blue arcs are the residual connections.", "name": "fig-architecture"}, "image": {"alt": "The paper's Figure 2, drawn from the model this book trains: each layer, what it computes and its output shape; the blue arcs are the residual connections"}}
latent_size = P.world.resolution // 8
fig = architecture(
    describe(ResNetRollout(ModelConfig()), latent_size),
    title=f"ResNet-Rollout (Conv2d form, {card['parameters_conv2d']:,} parameters)",
    source=nb.source,
)
nb.save_figure(fig, "figure2_architecture")
plt.show()

# %% [markdown]
# ## Training
#
# Both runs train on the training episodes and keep the checkpoint with the lowest rollout
# loss on the validation episodes (the paper validated on its training data). They compute in
# the machine's best precision (methods page): bf16 autocast with float32 weights where the CPU
# or GPU computes bf16 natively (faster than float32 on a 2-core CPU with AVX-512 BF16; chapter 6
# measures by how much, and checks it against the reference's validation loss), float32 elsewhere. The paper
# casts the weights themselves to bf16 on CUDA and uses float32 on CPU. Finished runs are
# cached, and an interrupted one resumes from its last checkpoint.

# %%
summaries, logs = {}, {}
for exp in P.experiments:
    folder = stages.train_stage(P, exp)
    summaries[exp.name] = {
        "label": exp.label,
        "train": asdict(exp.train),
        **json.loads((folder / "summary.json").read_text()),
    }
    logs[exp.label] = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
for name, s in summaries.items():
    nb.say(
        f"{s['label']}:\n  {s['steps']} steps in {s['train_seconds'] / 60:.1f} min "
        f"({s['samples_per_s']:.0f} rollout samples/s, {s['precision']['precision']}), "
        f"best validation loss {s['best_val_loss']:.4f}"
    )

# %% tags=["remove-input"]
for name, s in summaries.items():
    glue(f"{name}_minutes", s["train_seconds"] / 60, display=False)
    glue(f"{name}_val", s["best_val_loss"], display=False)
    glue(f"{name}_rate", s["samples_per_s"], display=False)
glue("train_precision", " and ".join(sorted({s["precision"]["precision"] for s in summaries.values()})), display=False)
nb.save_data("training", {"model_card": card, "runs": summaries})

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training and validation loss of the two runs, step by step: the paper's settings (lr 1e-4) and ours (lr 1e-3). A validation curve still falling at the end has not converged.", "name": "fig-training"}, "image": {"alt": "Training and validation loss of the two runs, step by step: the paper's settings (lr 1e-4) and ours (lr 1e-3)"}}
fig = training_curves(logs, source=nb.source)
nb.save_figure(fig, "training_curves")
plt.show()

# %% [markdown]
# ## What this chapter found
#
# The paper's settings (lr 1e-4, 1,500 steps) train ResNet-Rollout in
# {glue:text}`resnet_rollout_minutes:.1f` minutes here, to a best validation loss of
# {glue:text}`resnet_rollout_val:.4f`; our tuned run (lr 1e-3, the same budget) reaches
# {glue:text}`resnet_rollout_tuned_val:.4f` in {glue:text}`resnet_rollout_tuned_minutes:.1f` minutes,
# both in {glue:text}`train_precision`. The curves above show where each stops improving.
# A validation loss says how well a model predicts four frames ahead from true context; whether
# its dreams keep the cube is chapter 5's question.

# %% tags=["remove-input"]
glue("chapter_runtime", nb.runtime(), display=False)
glue("chapter_package", nb.record["package"], display=False)  # tests: executed against the committed package
