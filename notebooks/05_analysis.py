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
# # 5. Analysis: tracking the dreamed cube
#
# The paper's headline numbers come from tracking the red cube in dreamed frames and in the
# true frames: 71.08 px RMSE and 99% detection at 512 px (the paper's numbers, measured on its
# training video). Here every dream is of a held-out test episode, and every number is
# computed the same way for the models and for three reference points:
#
# - **copy last frame**: the last context frame, repeated (no motion at all);
# - **constant velocity**: the tracked centroid of the context frames, extrapolated at its mean
#   velocity and stopped at the frame's edge (physics without walls);
# - **oracle**: the true future latents through the tokenizer (the floor any latent model shares).
#
# The paper's RMSE counts only frames where both the true and the dreamed frame show a cube, so
# a dream that loses the cube is not charged for it. We report it, and a *strict* RMSE in which
# a missed frame costs the frame's diagonal.

# %% tags=["parameters"]
import os

preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")

# %%
import json

import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown
from markdown_it import MarkdownIt
from myst_nb import glue
from safetensors.numpy import load_file

from lucid_dreamer import book, stages
from lucid_dreamer.analyze import scale_to
from lucid_dreamer.paper import PAPER_RESULTS
from lucid_dreamer.presets import one_step_experiment
from lucid_dreamer.plots import error_by_horizon, results_bars, tracking_analysis

nb = book.start("05_analysis", preset)
P = nb.preset
res = P.world.resolution
print(nb.source)


def load(folder):
    return json.loads((folder / "metrics.json").read_text())


reports = {exp.label: load(stages.dream_stage(P, exp)) for exp in P.experiments}
one_step = one_step_experiment(P)
reports[one_step.label] = load(stages.dream_stage(P, one_step))
refs = load(stages.references_stage(P, P.experiments[0].model.context_frames))
names = {"copy_last": "copy last frame", "constant_velocity": "constant velocity", "oracle": "oracle (tokenizer floor)"}
reports |= {names[k]: v for k, v in refs.items()}

# %% [markdown]
# ## The tracking analysis
#
# The paper's figure for one trajectory; here for every test episode of the main model at
# the paper's settings (top: trajectories, solid true and dashed dreamed; bottom: error per
# frame after the context, mean over episodes with a band of one standard deviation).

# %%
main = P.experiments[0]
tracks = load_file(stages.dream_stage(P, main) / "tracks.safetensors")
fig = tracking_analysis(
    tracks["truth"],
    tracks["dream"],
    reports[main.label]["pooled"],
    res,
    title=f"{main.label}: {len(tracks['truth'])} held-out test episodes",
    source=nb.source,
)
nb.save_figure(fig, "tracking_analysis")
glue("tracking_fig", fig, display=False)
plt.show()

# %% [markdown]
# ## Results
#
# Pixels of the {glue:text}`resolution`-px frames and, for comparison with the paper, scaled to
# 512 px. "h1 / h4 / h16" are strict RMSEs within the first 1, 4 and 16 dreamed frames.

# %%
rows = []
for label, r in reports.items():
    p, w, big = r["pooled"], r["within"], scale_to(r)["pooled"]
    rows.append(
        [
            label,
            p["rmse"],
            p["strict_rmse"],
            big["rmse"],
            big["strict_rmse"],
            f"{p['valid_frames']}/{p['total_frames']} ({p['detection_rate']:.0%})",
            *(w[h]["strict_rmse"] if h in w else None for h in ("1", "4", "16")),
        ]
    )
rmse, detection, _ = PAPER_RESULTS["ResNet-Rollout"]
rows.append(
    [
        "*the paper's ResNet-Rollout (its training video)*",
        None,
        None,
        rmse,
        None,
        f"96/97 ({detection:.0%})",
        None,
        None,
        None,
    ]
)
table = book.markdown_table(
    ["", f"RMSE @{res}", f"strict @{res}", "RMSE @512", "strict @512", "detected", "h1", "h4", "h16"], rows
)
glue(
    "results_table", HTML(MarkdownIt("commonmark").enable("table").render(table)), display=False
)  # HTML survives cross-page glue
glue("resolution", res, display=False)
Markdown(table)

# %%
main_r, copy_r, cv_r = reports[main.label], reports["copy last frame"], reports["constant velocity"]
best_label = min(P.experiments, key=lambda e: reports[e.label]["pooled"]["strict_rmse"]).label
best_r = reports[best_label]
verdicts = {}
for h in ("4", "16"):
    if h in best_r["within"]:
        verdicts[h] = {
            "model": best_r["within"][h]["strict_rmse"],
            "copy_last": copy_r["within"][h]["strict_rmse"],
            "constant_velocity": cv_r["within"][h]["strict_rmse"],
        }
        v = verdicts[h]
        print(
            f"within {h} frames, strict RMSE: {best_label} {v['model']:.2f} px, copy last frame {v['copy_last']:.2f}, "
            f"constant velocity {v['constant_velocity']:.2f} -> beats copy: {v['model'] < v['copy_last']}, "
            f"beats constant velocity: {v['model'] < v['constant_velocity']}"
        )
        beats = [
            name
            for name, key in (("copy last frame", "copy_last"), ("constant velocity", "constant_velocity"))
            if v["model"] < v[key]
        ]
        loses = [name for name in ("copy last frame", "constant velocity") if name not in beats]
        sentence = (f"beats {' and '.join(beats)}" if beats else "beats neither reference") + (
            f" but not {' or '.join(loses)}" if beats and loses else ""
        )
        glue(f"h{h}_verdict", sentence, display=False)
        glue(f"h{h}_model", v["model"], display=False)
        glue(f"h{h}_copy", v["copy_last"], display=False)
        glue(f"h{h}_cv", v["constant_velocity"], display=False)
glue("best_label", best_label, display=False)
for label, key in [(main.label, "main"), (best_label, "best"), ("oracle (tokenizer floor)", "oracle")]:
    pooled, big = reports[label]["pooled"], scale_to(reports[label])["pooled"]
    glue(f"{key}_rmse", pooled["rmse"], display=False)
    glue(f"{key}_strict", pooled["strict_rmse"], display=False)
    glue(f"{key}_rmse512", big["rmse"], display=False)
    glue(f"{key}_detection", pooled["detection_rate"], display=False)
    glue(f"{key}_detected", f"{pooled['valid_frames']}/{pooled['total_frames']}", display=False)
    glue(f"{key}_det_h1", reports[label]["within"]["1"]["detection_rate"], display=False)
for h in ("1", "4", "16"):
    glue(f"one_step_det_within{h}", reports[one_step.label]["within"][h]["detection_rate"], display=False)
    glue(f"one_step_strict_within{h}", reports[one_step.label]["within"][h]["strict_rmse"], display=False)
glue("copy_rmse512", scale_to(copy_r)["pooled"]["rmse"], display=False)
glue("cv_rmse512", scale_to(cv_r)["pooled"]["rmse"], display=False)
nb.save_data("results", {"reports": reports, "verdicts": verdicts, "paper": PAPER_RESULTS})

# %% [markdown]
# **What the numbers say.** At the first dreamed frame the tracker finds the cube in
# {glue:text}`main_det_h1:.0%` of the test episodes for the paper's settings and
# {glue:text}`best_det_h1:.0%` for the best run; over whole dreams, in
# {glue:text}`main_detected:s` frames. The videos in chapter 4 show why: the dream keeps the
# arena and drops the small moving cube, leaving a fading shadow. On the frames where a cube
# is still found, the paper's RMSE is {glue:text}`main_rmse512:.1f` px at 512 px, against
# {glue:text}`copy_rmse512:.1f` px for copying the last frame (which never loses the cube) and
# {glue:text}`cv_rmse512:.1f` px for constant velocity. The paper's RMSE hides the vanishing
# cube; the strict RMSE does not. The oracle row shows that the tokenizer is not the cause:
# the true latents decode to a cube the tracker finds in every frame.
#
# **What the rollout objective does.** The same network trained as a one-step predictor
# (R = 1, the context sweep's K = 4 model of chapter 2) and dreamed the same way keeps the cube
# in {glue:text}`one_step_det_within1:.0%` of first dreamed frames,
# {glue:text}`one_step_det_within4:.0%` of the first four and
# {glue:text}`one_step_det_within16:.0%` of the first sixteen (strict RMSE
# {glue:text}`one_step_strict_within4:.1f` and {glue:text}`one_step_strict_within16:.1f` px
# within 4 and 16 frames). The 4-step teacher-less rollout with motion-weighted L1, which the
# paper credits with preventing error accumulation, makes the network drop the cube at once
# instead: under uncertainty about where the cube will be, the per-element L1 optimum is the
# background. Whether the one-step model beats copying the last frame is in the table: the
# strict RMSE charges each frame where a dream lost the cube the full diagonal, so a few
# episodes that lose it early outweigh many accurate ones.

# %% [markdown]
# ## How long the dreams last
#
# Error and detection against the number of frames dreamed.

# %%
fig = error_by_horizon(reports, res, source=nb.source)
nb.save_figure(fig, "error_by_horizon")
glue("horizon_fig", fig, display=False)
plt.show()

# %% [markdown]
# ## Figure 3
#
# The paper's Figure 3 compares six models by RMSE and detection, with numbers typed into its
# plotting script. Ours is computed: bars are our runs and reference points at 512 px, stars
# the paper's reported values where a model of the same name exists here. Baseline ResNet,
# the U-Nets, Sharp-Shooter, Probabilistic Plus and Hero are compared with seeds in chapter 7
# (Figure 3 with intervals); here they are absent rather than filled in.

# %%
fig = results_bars(
    {label: scale_to(r)["pooled"] for label, r in reports.items()},
    paper={main.label: PAPER_RESULTS["ResNet-Rollout"]},
    source=nb.source,
)
nb.save_figure(fig, "figure3_results")
glue("figure3_fig", fig, display=False)
plt.show()
