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
# # 6. Performance: the paper's implementation against ours
#
# The paper trains for about 15 minutes on an RTX 5090 and calls the model fast. This chapter
# times the paper's implementation and ours on the same machine, in the same run, doing the
# same computation (the function of the paper's ResNet and the loss of its 4-step rollout):
#
# - **reference**: a faithful re-implementation of the paper's path: the literal Conv3d model,
#   a `Dataset` that builds each window with per-sample `torch.cat`, a shuffling `DataLoader`,
#   pure-bf16 weights on CUDA (float32 on CPU), dreaming one episode at a time;
# - **ours**: the Conv2d form, windows gathered by indexing tensors already in memory, all
#   episodes dreamed in one batch, bf16 autocast with float32 weights (and channels_last on CUDA).
#
# Between them, one change at a time, so each optimisation's share is measured. Within each
# repeat the variants take turns, so a slow spell of the machine hits all of them; the table
# shows medians. The same run from the command line: `lucid-dreamer bench --json bench.json`.

# %% tags=["parameters"]
import os

preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")

# %%
import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown, display
from markdown_it import MarkdownIt
from myst_nb import glue

from lucid_dreamer import bench, book, stages
from lucid_dreamer.data import split_episodes
from lucid_dreamer.plots import speedups

nb = book.start("06_performance", preset)
P = nb.preset
latents, _ = stages.load_latents(P)
splits = split_episodes(len(latents), P.data)
cfg = bench.QUICK if P.name == "smoke" else bench.BenchConfig()
result = bench.bench(latents[splits["train"]], latents[splits["val"]], cfg)
result = nb.save_data("bench", result)["data"]
print(nb.source)
print(bench.format_table(result))

# %% [markdown]
# ## Speed, one change at a time
#
# Rates are training samples per second (a sample is one window: 4 context frames and a 4-step
# rollout, forward and backward) and dreamed latent frames per second; the ratio columns
# divide by the reference's rate. The table shows medians; the JSON keeps every repeat. On the
# book's 2-core virtual machine the reference's one-episode-at-a-time dreaming is the noisiest
# number (batch-1 steps are dominated by thread synchronisation): its repeats can differ by 2x,
# and so can the dreaming ratio between runs of this chapter.

# %%
header, rows = bench.table_rows(result)
table = book.markdown_table(header, rows)
glue("bench_table", HTML(MarkdownIt("commonmark").enable("table").render(table)), display=False)  # survives cross-page glue
display(Markdown(table))
fig = speedups(result, source=nb.source)
nb.save_figure(fig, "bench_speedups")
glue("bench_fig", fig, display=False)
plt.show()

# %%
main_size = str(cfg.latent_sizes[0])
train_main = result["train"][main_size]
ours, ref = result["variants"][-1], result["variants"][0]
glue("train_speedup", result["train_speedup"], display=False)
glue("dream_speedup", result["dream_speedup"], display=False)
glue("val_loss_ratio", result["val_loss_ratio"], display=False)
glue("quality_steps", cfg.quality_steps, display=False)
glue("bench_device", result["device"], display=False)
glue("budget_minutes_ours", train_main["budget_seconds"][ours] / 60, display=False)
glue("budget_minutes_ref", train_main["budget_seconds"][ref] / 60, display=False)
print(f"training speed-up {result['train_speedup']:.2f}x, dreaming {result['dream_speedup']:.2f}x, "
      f"validation loss ours / reference {result['val_loss_ratio']:.4f} after {cfg.quality_steps} steps each")

# %% [markdown]
# ## Equal quality
#
# Speed must not cost accuracy. Both implementations start from the same weights (the Conv3d
# initialisation, its middle slices for ours), train for the same steps with the same seed,
# and are scored by the same rollout loss on the validation episodes. They differ in the order
# in which batches are drawn and, on CUDA, in the precision of the weights.

# %%
for name, loss in result["quality"]["val_loss"].items():
    print(f"{name:30} validation loss {loss:.4f}")

# %% [markdown]
# ## How close to the machine's limit?
#
# One training sample costs a fixed number of floating-point operations (counted by PyTorch's
# `FlopCounterMode`, forward and backward) and reads and writes a number of bytes (every
# operator's inputs and outputs counted once: a ceiling on memory traffic that ignores the
# caches, so its fraction can pass 100%). The useful work is the Conv2d form's count for every
# variant: the Conv3d kernel's outer slices only multiply zero padding. Against the machine's
# measured matmul rate (float32, or bf16 for the bf16 variants) and copy bandwidth, each
# measured rate becomes a fraction of what the hardware can do.

# %%
limits = result["limits"]
print(f"measured limits: {limits['fp32_flops_per_s'] / 1e9:.0f} GFLOP/s float32 matmul, "
      f"{limits['bf16_flops_per_s'] / 1e9:.0f} GFLOP/s bf16 matmul, {limits['copy_bytes_per_s'] / 1e9:.1f} GB/s copy")
util_rows = []
for size, per_variant in bench.utilisation(result).items():
    cost = result["train"][size]["cost_per_sample"]
    for name, u in per_variant.items():
        counted = cost["conv3d" if result["conv3d"][name] else "conv2d"]
        util_rows.append([f"{size}x{size}", name, counted["flops"] / 1e9, cost["conv2d"]["flops"] / 1e9,
                          counted["bytes"] / 1e6, 100 * u["flops"], 100 * u["bytes"]])  # fmt: skip
Markdown(book.markdown_table(
    ["latents", "variant", "GFLOP / sample (as run)", "useful GFLOP / sample", "MB touched / sample",
     "% of FLOP/s (useful)", "% of bandwidth (ceiling)"],
    util_rows))  # fmt: skip
