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
# # 8. Where the paper's recipe works: the conditions map

# %% [markdown]
# ```{admonition} At a glance
# - **Shows**: the conditions map: where in cube size and speed the paper's recipe beats one-step training, and the paper's own protocol.
# - **Needs**: the grid's committed records of the map and the protocol.
# - **Takes**: {glue:text}`chapter_runtime` in this build of the book (stages built before are
#   loaded from cache); from scratch at the `cpu` preset on 2 CPU cores, under a minute: it renders committed records.
# ```

# %% [markdown]
# The paper never says how large its cube is in the frame or how fast it moves, yet both decide
# how hard the task is for a model that sees the world through an 8x-compressed latent grid: a
# cube that covers one latent cell and moves half a cell a frame leaves the model very little to
# go on. This chapter makes size and speed the axes of a map. In every world of the map the same
# tokenizer (the main world's) encodes the frames, and the same network is trained two ways with
# three seeds: the paper's recipe (4 context frames, 4-step teacher-less rollout, motion-weighted
# L1) and one step ahead (R = 1). Beside them, in each world, two references: copying the last
# frame, and the tokenizer's own floor (true latents decoded and tracked).
#
# A verdict measured in one world is a verdict about that world: the map says in which
# conditions each of the paper's claims about its recipe can hold.
#
# **Budget.** Every run of the map trains for {glue:text}`map_budget` (batch 32, the grid's
# budget) with {glue:text}`map_seeds` seeds, and is dreamed on the 16 held-out test episodes
# of its world (60 dreamed frames after 4 context frames). {glue:text}`map_done` runs of the map
# are done; they took {glue:text}`map_hours` hours to train and dream on 2 cores (wall-clock, as
# each run recorded it; some runs shared the cores with other work, so this is an upper bound).
# [{glue:text}`map_again`]{.prose} The paper's protocol, below, has its own budget.

# %% tags=["parameters"]
import os

preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")

# %% tags=["hide-input"]
from functools import partial

import matplotlib.pyplot as plt
from IPython.display import display
from myst_nb import glue

from lucid_dreamer.book import conditions_report, notebook, tables
from lucid_dreamer.book.grid_plots import conditions_map
from lucid_dreamer.book.paper import book_values as paper_values
from lucid_dreamer.method import conditions
from lucid_dreamer.pipeline import grid, grid_runner, grid_summaries
from lucid_dreamer.pipeline.presets import MAIN_CONDITION

nb = notebook.start("08_conditions", preset)
P = nb.preset
if P.name == "smoke":  # CI exercises the code path; real presets render committed runs
    grid_runner.run_grid(P, only="map__", progress=False)
    grid_runner.run_grid(P, only="one_trajectory__", progress=False)
every_record = grid_runner.load_records(P)
# the map at the chosen budget once all of its runs have landed there, else at the grid's
map_records, map_steps = grid_summaries.map_records(P, every_record)
records = map_records + [r for r in every_record if r["group"] == "one_trajectory"]
summary = grid_summaries.summarize(records)
runs = [r for r in grid_summaries.judged_runs(P, every_record) if r.group in grid.CHAPTER_8_GROUPS]
hours = grid_summaries.compute_hours(map_records)
print(nb.header)
nb.say(
    f"{len(map_records)} of {sum(r.group == 'map' for r in runs)} runs of the map done at preset {P.name}, "
    f"{hours:.2f} h on {records[0]['train']['device'] if records else '-'}; "
    f"{len(records) - len(map_records)} of {sum(r.group == 'one_trajectory' for r in runs)} of the paper's protocol"
)
glue("map_done", f"{len(map_records)} of {sum(r.group == 'map' for r in runs)}", display=False)
glue("paper_detected", paper_values()["paper_detected"], display=False)
glue("map_hours", f"{hours:.1f}", display=False)
glue("map_budget", next(r for r in runs if r.group == "map").experiment.budget, display=False)
glue("map_seeds", len(P.grid.seeds), display=False)
map_runs_again = grid.runs_again(P, grid.MAP_GROUPS)
map_landed_again = grid_summaries.again(every_record, grid.MAP_GROUPS)
glue(
    "map_again",
    conditions_report.map_budget_sentence(map_steps, P.grid.claim_steps, len(map_landed_again), len(map_runs_again)),
    display=False,
)

# %% [markdown]
# ## The worlds, measured
#
# Each world changes only the cube's size (its half side in metres) and its largest initial
# speed; camera, arena and light stay. The cube's side is the square root of its median blob
# area as our tracker sees it in true frames; its speed the median (and 90th percentile) step of
# its projected centre between frames; both also in latent cells (8 px per cell at 128 px).
# The motion mask is the paper's: latent elements whose change from the last context frame
# exceeds 0.1, the elements its loss weights 10x; near the cube means within one cube side of
# its centre.
#
# **The main world.** Chapters 1 to 7 and the claims audit measure in this preset's world, the
# map's {glue:text}`main_condition`. Our scene's 12 cm cube seen at the paper's 512 px spans about
# 5 latent cells; the `cpu` preset renders at 128 px a 42 cm cube that spans the same cells, so its
# models face the paper's task as a latent model sees it, at a sixteenth of the pixels. The map's
# {glue:text}`hard_condition` is our scene's own 12 cm cube at 128 px, the world this project first
# measured in: a hard condition, kept on the map by name. The main world was chosen before any
# of the map's results existed (commit 9f1bd38 set it on 2026-12-01 at 15:54 UTC; the map's
# first record landed at 17:26), from the paper's geometry alone (the cube's size in latent
# cells), so the map's results did not pick the world the other chapters measure in.

# %% tags=["hide-input"]
measured = conditions_report.measured_worlds(records)
on_map = MAIN_CONDITION.world(P.world) == P.world
glue("main_condition", MAIN_CONDITION.name if on_map else "none (this preset's world is not on it)", display=False)
glue("hard_condition", conditions.HARD, display=False)
worlds_table = tables.map_worlds(measured)
glue("map_worlds_table", worlds_table, display=False)
display(worlds_table)

# %% [markdown]
# ## The map
#
# Detection is the share of true-cube frames in which our tracker finds a cube-sized red blob
# in the dream, within the first 1, 4 and 16 dreamed frames (h1, h4, h16) and over the whole
# dream (60 frames). Strict RMSE charges a lost cube the frame's diagonal (724 px at 512 px,
# the largest possible error), so a lower number is better and 724 means the cube is never found.
# The last column divides the strict RMSE by that of copying the last context frame in the same
# world (below 1: better than copying). Each cell is the mean over the seeds with its 95% interval
# in brackets (the intervals the verdicts below are judged by). The second table
# gives, for each world, the three trivial predictors (copying the last frame, constant velocity
# bouncing off the walls, the position prior: whole-dream strict RMSE) and the tokenizer's floor
# (the true latents decoded and tracked).

# %% tags=["hide-input"]
rows = conditions_report.map_rows(records, summary, partial(grid_summaries.reference_points, P))
map_table = tables.map_results(rows)
glue("map_table", map_table, display=False)
display(map_table)
references_table = tables.map_references(rows, conditions.TRAININGS["recipe"])
glue("map_references_table", references_table, display=False)
display(references_table)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The conditions map: for each world of cube size and speed (in latent cells), the share of dreamed frames with the cube detected at horizon 4 (left) and the whole dream's strict RMSE relative to copying the last frame (right; below 1 is better), one row of panels per training (named at the left: the recipe, one step ahead). Colour bars give the scale.", "name": "fig-conditions-map"}, "image": {"alt": "The conditions map: for each world of cube size and speed (in latent cells), the share of dreamed frames with the cube detected at horizon 4 (left) and the whole dream's strict RMSE relative to copying the last frame..."}}
if rows:
    fig = conditions_map(rows, source=nb.source)
    nb.save_figure(fig, "conditions_map")
    plt.show()

# %% [markdown]
# ## What the map says
#
# One rule for every world, the verdict rule of the methods page: a training *keeps the cube to
# horizon h* when the whole 95% interval (over the seeds) of the share of true-cube
# frames, within the first h dreamed frames, in which our tracker finds it lies at or above 90%;
# it *beats copying the last frame* when the whole 95% interval of its strict RMSE over
# copy-last's lies below 1. Detection counts any cube-sized red blob,
# wherever it is: where it rises with the horizon, the dream has grown a blob, not necessarily
# found the cube again, and the strict RMSE, which measures where the blob is, is the better guide.
#
# - The paper's recipe keeps the cube to horizon 1 in {glue:text}`map_recipe_keeps_h1` worlds, to
#   horizon 4 in {glue:text}`map_recipe_keeps_h4`, to horizon 16 in {glue:text}`map_recipe_keeps_h16`,
#   and beats copying the last frame in {glue:text}`map_recipe_beats_copy_last`.
# - The same network trained one step ahead keeps the cube to horizon 1 in
#   {glue:text}`map_one_step_keeps_h1` worlds, to horizon 4 in {glue:text}`map_one_step_keeps_h4`, to
#   horizon 16 in {glue:text}`map_one_step_keeps_h16`, and beats copying the last frame in
#   {glue:text}`map_one_step_beats_copy_last`.

# %% tags=["hide-input"]
findings = conditions_report.findings(rows)
for name, value in findings.items():
    glue(f"map_{name}", value, display=False)
main_recipe = [
    r for r in rows if (r["condition"], r["training"]) == (MAIN_CONDITION.name, conditions.TRAININGS["recipe"])
]
glue(
    "main_vs_copy_last",
    conditions_report.against_copy_last(main_recipe[0]) if main_recipe else "not run yet",
    display=False,
)

# %% [markdown]
# ## The paper's own protocol in a paper-like world
#
# The paper trained on one video and dreamed that same video back. Here: one trajectory of 101
# frames (4 context frames and 97 dreamed, as the paper's {glue:text}`paper_detected` detections imply) in the main
# world, trained and dreamed back with the paper's settings and budget ({glue:text}`protocol_budget:s`:
# the paper's 500 epochs of 94 windows in batches of 32), beside the same settings trained on many episodes
# of that world and dreamed on held-out ones. The paper's tracker columns use its asymmetric
# thresholds (strict on true frames, lenient with a fallback on dreams), as its own detection rate did.

# %% tags=["hide-input"]
labels = {r.variant: r.experiment.label for r in runs if r.group == "one_trajectory"}
protocol_table = tables.one_trajectory(summary, labels)
glue("one_trajectory_table", protocol_table, display=False)
display(protocol_table)
protocol = next(r.experiment for r in runs if r.group == "one_trajectory")
glue("protocol_budget", protocol.budget, display=False)
for variant, sentence in conditions_report.protocol_sentences(summary, protocol.budget, len(P.grid.seeds)).items():
    glue(f"protocol_{variant}", sentence, display=False)
    glue(
        f"protocol_{variant}_detection",
        tables.shown(summary, "one_trajectory", variant, "detection", tables.PROTOCOL_RATE_DIGITS),
        display=False,
    )
nb.save_data("conditions_map", {"rows": rows, "worlds": measured, "findings": findings})

# %% [markdown]
# ## What this chapter found
#
# Over the map, the paper's recipe keeps the cube to horizon 4 in
# {glue:text}`map_recipe_keeps_h4` worlds and to horizon 16 in {glue:text}`map_recipe_keeps_h16`,
# and beats copying the last frame in {glue:text}`map_recipe_beats_copy_last`; trained one step
# ahead, the same network keeps it to horizon 4 in {glue:text}`map_one_step_keeps_h4`.
#
# [{glue:text}`protocol_paper:s`]{.prose} [{glue:text}`protocol_held_out:s`]{.prose}
#
# The report's "Where we disagree" and the claims audit carry these findings; each verdict about
# the recipe names the worlds in which it was measured.

# %% tags=["remove-input"]
glue("chapter_runtime", nb.runtime(), display=False)
glue("chapter_package", nb.record["package"], display=False)  # tests: executed against the committed package
