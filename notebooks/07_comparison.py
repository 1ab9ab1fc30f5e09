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
# # 7. The paper's rivals, ablations and seeds
#
# The paper compares ResNet-Rollout with five rival models, each trained once, on its training
# video, with no code released for them. Here every rival is built from the paper's words (the
# table below puts our definition beside them), all models are trained under one protocol (the
# same data, steps and learning rate), every row is repeated with several seeds, and dreams are
# scored on held-out test episodes. The grid of runs is a resumable stage of its own,
# `lucid-dreamer grid --preset P`, that writes each finished run's metrics to
# `figures/data/grid/<preset>/`; this notebook renders whatever is there and says what is not.

# %% tags=["parameters"]
import os

preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")

# %%
import json

import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown, display
from markdown_it import MarkdownIt
from myst_nb import glue

from lucid_dreamer import book, grid
from lucid_dreamer.analyze import scale_to
from lucid_dreamer.audit import Evidence, audit
from lucid_dreamer.models import build_model, count_parameters
from lucid_dreamer.paper import PAPER_RESULTS
from lucid_dreamer.plots import interval_bars, inverted_u

nb = book.start("07_comparison", preset)
P = nb.preset
if P.name == "smoke":  # CI exercises the code path on the rivals; real presets render committed runs
    grid.run_grid(P, only="rivals__", progress=False)
runs = grid.grid_runs(P)
records = grid.load_records(P)
summary = grid.summarize(records)
print(nb.source)
print(
    f"{len(records)} of {len(runs)} grid runs done at preset {P.name} "
    f"({P.grid.steps} steps each, seeds {P.grid.seeds}, lr {P.grid.lr:g})"
)
precisions = grid.precision_counts(records)
print("precision of the runs: " + ", ".join(f"{name} {count}" for name, count in precisions.items()))
glue("grid_precisions", ", ".join(f"{count} in {name}" for name, count in precisions.items()), display=False)
hours = grid.compute_hours(records)
print(
    f"the distinct runs among them took {hours:.2f} h to train and dream, on {records[0]['train']['device'] if records else '-'}"
)
glue("grid_done", f"{len(records)} of {len(runs)}", display=False)
glue("grid_hours", f"{hours:.1f}", display=False)
glue("grid_steps", P.grid.steps, display=False)
glue("grid_seeds", len(P.grid.seeds), display=False)


def html(table):
    return HTML(MarkdownIt("commonmark").enable("table").render(table))  # survives cross-page glue


def fmt(cell, digits=1, percent=False):
    """mean [low, high] over seeds (the bootstrap interval of the methods page), or why there is none."""
    if cell is None:
        return "not run yet"
    if cell["mean"] != cell["mean"]:
        return "no detections"
    scale, unit = (100, "%") if percent else (1, "")
    m, lo, hi = (scale * cell[k] for k in ("mean", "low", "high"))
    return f"{m:.{digits}f}{unit}" if lo != lo else f"{m:.{digits}f}{unit} [{lo:.{digits}f}, {hi:.{digits}f}]"


def saved(name):
    """Another chapter's saved numbers (figures/data/<name>.json), or None if it has not run."""
    path = nb.figures / "data" / f"{name}.json"
    return json.loads(path.read_text())["data"] if path.exists() else None


def metric(group, variant, name):
    row = summary.get((group, variant))
    return None if row is None else row["metrics"][name]


# %% [markdown]
# ## The models
#
# Parameters are counted from the models this preset builds; the paper's are as it states them.
# The `cpu` preset keeps the large rivals small enough for a 2-core CPU, so the paper's size
# ratios (10x, 84x, 394x) shrink; the `paper` preset keeps them as large as one GPU allows.

# %%
words = {
    "resnet_rollout": ("~1M", "ResNet, 4 context frames, 4-step teacher-less rollout, motion-weighted L1",
                       "the paper's network (Conv2d form), the paper's loss and rollout"),
    "baseline_resnet": ("not stated", "the ResNet without temporal context",
                        "the same ResNet with 1 context frame, trained one step ahead"),
    "unet_single": ("~84M", "a U-Net on a single frame",
                    "a 2-level U-Net with skip connections, 1 context frame, trained one step ahead"),
    "rollout_unet": ("~84M", "the U-Net trained with rollout", "the same U-Net, 4-step teacher-less rollout"),
    "sharp_shooter": ("~84M", "U-Net with gradient difference loss; the README calls it a context model, "
                      "the report 'U-Net without context'",
                      "the single-frame U-Net (the report's reading), one step ahead, L1 + GDL (weight 1)"),
    "probabilistic_plus": ("~10M", "a larger probabilistic model, 'jittery'",
                           "a wider ResNet with a Gaussian head (mean, log-variance), NLL, sampled when dreaming"),
    "hero": ("394M", "a complex architecture that failed (the report names transformers)",
             "a pre-norm transformer over 4x4 patches of the latent grid, 4 context frames, 4-step rollout"),
}  # fmt: skip
rows = []
for run in runs:
    if run.group == "rivals" and run.seed == P.grid.seeds[0]:
        stated, theirs, ours = words[run.variant]
        rows.append([run.experiment.label, stated, f"{count_parameters(build_model(run.experiment.model)):,}",
                     theirs, ours])  # fmt: skip
models_table = book.markdown_table(["model", "the paper's size", "ours", "the paper's words", "our definition"], rows)
glue("models_table", html(models_table), display=False)
display(Markdown(models_table))

# %% [markdown]
# ## Performance comparison
#
# Both of the paper's forms. Ours: mean over seeds with a 95% interval in brackets, held-out test
# episodes, pixels at 512 px. "RMSE" is the paper's (frames where both detect); "strict" charges
# a lost cube the frame's diagonal. Speed is training samples per second on this preset's
# device; stability is the share of dreams whose last frame still shows the cube, and jitter
# the mean frame-to-frame acceleration of the dreamed cube (the true cube's is beside it).

# %%
paper_names = {"resnet_rollout": "ResNet-Rollout", "baseline_resnet": "Baseline ResNet", "unet_single": "U-Net (single)",
               "rollout_unet": "Rollout U-Net", "sharp_shooter": "Sharp-Shooter",
               "probabilistic_plus": "Probabilistic Plus", "hero": "Hero"}  # fmt: skip
labels = {r.variant: r.experiment.label for r in runs if r.group == "rivals"}
readme_rows, report_rows = [], []
for variant, name in paper_names.items():
    label = labels[variant]
    rmse, detection, params = PAPER_RESULTS[name]
    paper_rmse = "N/A" if rmse is None else f"{rmse:.2f}"
    m = {k: metric("rivals", variant, k) for k in ("rmse_512", "strict_512", "detection", "samples_per_s",
                                                   "detected_at_end", "jitter_512", "truth_jitter_512")}  # fmt: skip
    readme_rows.append([label, fmt(m["rmse_512"]), fmt(m["strict_512"]), fmt(m["detection"], 0, True),
                        paper_rmse, f"{detection:.0%}"])  # fmt: skip
    report_rows.append([label, fmt(m["strict_512"]), fmt(m["detection"], 0, True), params,
                        fmt(m["samples_per_s"], 0), fmt(m["detected_at_end"], 0, True), fmt(m["jitter_512"]),
                        fmt(m["truth_jitter_512"])])  # fmt: skip
readme = book.markdown_table(["model", "RMSE", "strict RMSE", "detected", "the paper's RMSE", "the paper's detection"],
                             readme_rows)  # fmt: skip
report = book.markdown_table(["model", "strict RMSE", "detected", "the paper's params", "samples/s",
                              "dreams detected at the end", "jitter", "true jitter"], report_rows)  # fmt: skip
glue("readme_table", html(readme), display=False)
glue("report_table", html(report), display=False)
display(Markdown(readme))
display(Markdown(report))

# %% [markdown]
# ## Figure 3, with intervals

# %%
rivals = {labels[v]: summary.get(("rivals", v), {"metrics": {}})["metrics"] for v in paper_names}
paper = {labels[v]: {metric: value for metric, value in zip(("rmse_512", "detection"), PAPER_RESULTS[name][:2])
                     if value is not None} for v, name in paper_names.items()}  # fmt: skip
fig = interval_bars(rivals, [("rmse_512", "RMSE, detected frames (px at 512)"), ("strict_512", "strict RMSE (px at 512)"),
                             ("detection", "share of frames with a detected cube")], paper, source=nb.source)  # fmt: skip
nb.save_figure(fig, "figure3_intervals")
glue("figure3_intervals_fig", fig, display=False)
plt.show()

# %% [markdown]
# ## The inverted-U
#
# The paper says over-parameterisation hurts: error should fall and then rise with size. Two
# families, the ResNet-Rollout and the Rollout U-Net, over widths, with 95% intervals.

# %%
series = {}
for group, family in (("width_resnet", "ResNet-Rollout"), ("width_unet", "Rollout U-Net")):
    points = [(int(c["metrics"]["parameters"]["mean"]), c["metrics"]["strict_512"]) for (g, _), c in summary.items()
              if g == group]  # fmt: skip
    if points:
        series[family] = points
fig = inverted_u(series, "strict RMSE (px at 512)", source=nb.source)
nb.save_figure(fig, "inverted_u")
glue("inverted_u_fig", fig, display=False)
plt.show()

# %% [markdown]
# ## Ablations
#
# Each row changes one thing of ResNet-Rollout (4 frames, 4-step teacher-less rollout, motion
# weight 10 at threshold 0.1, all training episodes, held-out test episodes). The last group is
# ours, not the paper's: the same network predicting the change from the last context frame
# (`change_resnet`, whose head starts at zero, so that before training it is copy-last-frame).
# Below the ablations, the reference points of chapter 5 on the same test episodes: a model
# that cannot beat copying the last frame has learned nothing about motion.

# %%
ablation_rows = []
for run in runs:
    if run.group in ("rivals", "width_resnet", "width_unet", "precision") or run.seed != P.grid.seeds[0]:
        continue
    m = {k: metric(run.group, run.variant, k) for k in ("strict_512", "strict_h4_512", "strict_h16_512", "detection")}
    cell = summary.get((run.group, run.variant))
    ablation_rows.append([run.group.replace("_", " "), run.experiment.label, fmt(m["strict_512"]),
                          fmt(m["strict_h4_512"]), fmt(m["strict_h16_512"]), fmt(m["detection"], 0, True),
                          cell["seeds"] if cell else 0])  # fmt: skip
results = saved("results")  # chapter 5's reference points (one deterministic run each), at 512 px
references = {} if results is None else {name: scale_to(results["reports"][name]) for name in
                                         ("copy last frame", "constant velocity", "oracle (tokenizer floor)")}  # fmt: skip
for name, r in references.items():
    ablation_rows.append(["reference", name, f"{r['pooled']['strict_rmse']:.1f}",
                          *(f"{r['within'][h]['strict_rmse']:.1f}" for h in ("4", "16")),
                          f"{r['pooled']['detection_rate']:.0%}", "-"])  # fmt: skip
ablations = book.markdown_table(["ablation", "setting", "strict RMSE", "strict, first 4", "strict, first 16",
                                 "detected", "seeds"], ablation_rows)  # fmt: skip
glue("ablation_table", html(ablations), display=False)
display(Markdown(ablations))
copy = references.get("copy last frame")
for h in ("h4", "h16"):  # the predict-change group against copying the last frame, for the report's prose
    for variant in ("next_one_step", "change_one_step", "change_rollout"):
        glue(f"{variant}_{h}", fmt(metric("predict_change", variant, f"strict_{h}_512")), display=False)
for name, part in (("h4", copy and copy["within"]["4"]), ("h16", copy and copy["within"]["16"]),
                   ("all", copy and copy["pooled"])):  # fmt: skip
    glue(f"copy_{name}", f"{part['strict_rmse']:.1f}" if part else "not run yet", display=False)
prose_cells = [
    ("rollout", "r1", "strict_512"),
    ("rollout", "r4", "strict_512"),
    ("teacher_forcing", "rollout", "strict_h16_512"),
    ("teacher_forcing", "forced", "strict_h16_512"),
]
prose_cells += [(group, variant, name) for group, variant in
                (("rivals", "resnet_rollout"), ("rivals", "probabilistic_plus"),
                 ("protocol", "resnet_rollout_paper"), ("protocol", "resnet_rollout_held_out"),
                 ("protocol", "probabilistic_plus_paper"), ("protocol", "probabilistic_plus_held_out"),
                 ("trajectories", "single"), ("trajectories", "all"))
                for name in ("rmse_512", "strict_512", "detection")]  # fmt: skip
for group, variant, name in prose_cells:  # the report's sentences on the ablations
    cell = metric(group, variant, name)
    glue(f"{group}_{variant}_{name}", fmt(cell, 0, True) if name == "detection" else fmt(cell), display=False)
nb.save_data("comparison", {"runs_done": len(records), "runs": len(runs),
                                "summary": {f"{g}/{v}": c for (g, v), c in summary.items()}})  # fmt: skip

# %% [markdown]
# ## bf16 or float32: how much the precision changes the results
#
# Runs compute in bf16 autocast where the machine computes bf16 natively and in float32
# elsewhere (methods page), so a reader on another kind of CPU gets slightly different numbers
# from the same commands. The same network and budget trained both ways, with the same seeds:
# the rivals' ResNet-Rollout (in its records' precision) and the same row forced to float32.

# %%
precision_rows = []
columns = ("strict_512", "strict_h4_512", "strict_h16_512", "detection")
for group, variant in (("rivals", "resnet_rollout"), ("precision", "float32")):
    cell = summary.get((group, variant))
    used = {grid.record_precision(r) for r in records if (r["group"], r["variant"]) == (group, variant)}
    strict, h4, h16, detection = (metric(group, variant, k) for k in columns)
    precision_rows.append(
        [
            ", ".join(sorted(used)) or "-",
            fmt(strict),
            fmt(h4),
            fmt(h16),
            fmt(detection, 0, True),
            cell["seeds"] if cell else 0,
        ]
    )
precision_table = book.markdown_table(
    ["ResNet-Rollout computed in", "strict RMSE", "strict, first 4", "strict, first 16", "detected", "seeds"],
    precision_rows,
)
glue("precision_table", html(precision_table), display=False)
display(Markdown(precision_table))
for name in ("strict_512", "detection"):  # speed is chapter 6's, timed side by side
    best, f32 = metric("rivals", "resnet_rollout", name), metric("precision", "float32", name)
    if best and f32:
        scale = 100 if name == "detection" else 1  # detection in percentage points
        glue(f"precision_{name}_difference", scale * abs(best["mean"] - f32["mean"]), display=False)
        print(f"{name}: best precision {best['mean']:.3f}, float32 {f32['mean']:.3f}")

# %% [markdown]
# ## The claims audit
#
# Every quantitative or causal claim of the paper's README and report, our measurement and a
# verdict (book chapter "Claims audit"), by the one rule of the methods page: a part of a claim
# holds when our estimate and its whole 95% interval meet the claim, holds partly when the
# estimate meets it but the interval reaches the other side, and does not hold when the estimate
# misses it; a claim is as strong as its weakest part.

# %%
claims = audit(Evidence(grid=summary, context=saved("posterior_collapse")))
audit_table = book.markdown_table(["the paper's claim", "where", "our measurement", "verdict", "chapter"],
                                  [[c["claim"], c["source"], c["ours"], f"**{c['verdict']}**", c["evidence"]]
                                   for c in claims])  # fmt: skip
glue("audit_table", html(audit_table), display=False)
glue("audit_total", len(claims), display=False)
for verdict in ("holds", "holds partly", "does not hold", "not testable here", "not measured yet"):
    glue(f"audit_{verdict.replace(' ', '_')}", sum(c["verdict"] == verdict for c in claims), display=False)
(inverted_u,) = [c for c in claims if "inverted-U" in c["claim"]]
glue("inverted_u_audit", f"{inverted_u['ours']} ({inverted_u['verdict']})", display=False)
nb.save_data("claims_audit", claims)
Markdown(audit_table)
