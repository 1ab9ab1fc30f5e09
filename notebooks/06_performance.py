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

# %% [markdown]
# ```{admonition} At a glance
# - **Shows**: how fast the paper's implementation and ours train and dream on this machine, one change at a time, at equal quality.
# - **Needs**: chapter 1's latents.
# - **Takes**: {glue:text}`chapter_runtime` in this build of the book (stages built before are
#   loaded from cache); from scratch at the `cpu` preset on 2 CPU cores, about 5 min (a live benchmark).
# ```

# %% [markdown]
# The paper trains for about 15 minutes on an RTX 5090 and calls the model fast. This chapter
# times the paper's implementation and ours on the same machine, in the same run, doing the
# same computation (the function of the paper's ResNet and the loss of its 4-step rollout):
#
# - **reference**: a faithful re-implementation of the paper's path: the literal Conv3d model,
#   a `Dataset` that builds each window with per-sample `torch.cat`, a shuffling `DataLoader`,
#   pure-bf16 weights on CUDA (float32 on CPU), dreaming one episode at a time;
# - **ours**: the Conv2d form, windows gathered by indexing tensors already in memory, all
#   episodes dreamed in one batch, in the machine's best precision: bf16 autocast with float32
#   weights where the device computes bf16 natively, float32 elsewhere (and channels_last on CUDA).
#
# Between them, one change at a time, so each optimisation's share is measured. Within each
# repeat the variants take turns, so a slow spell of the machine hits all of them; the table
# shows medians. The same run from the command line: `lucid-dreamer bench --json bench.json`.

# %% tags=["parameters"]
import os

preset = os.environ.get("LUCID_DREAMER_PRESET", "cpu")

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import display
from myst_nb import glue

from lucid_dreamer.book import notebook, tables
from lucid_dreamer.book.plots import speedups
from lucid_dreamer.method.data import split_episodes
from lucid_dreamer.pipeline import bench, bench_report, stages

nb = notebook.start("06_performance", preset)
P = nb.preset
print(nb.header)

# %%
latents, _ = stages.load_latents(P)
splits = split_episodes(len(latents), P.data)
cfg = bench.QUICK if P.name == "smoke" else bench.BenchConfig()
result = bench.bench(latents[splits["train"]], latents[splits["val"]], cfg)

# %% tags=["remove-input"]
nb.save_data("bench", result)

# %% [markdown]
# ## Speed, one change at a time
#
# Rates are training samples per second (a sample is one window: 4 context frames and a 4-step
# rollout, forward and backward) and dreamed latent frames per second; the ratio columns
# divide by the reference's rate. The table shows medians; the JSON keeps every repeat. On the
# book's 2-core virtual machine the reference's one-episode-at-a-time dreaming is the noisiest
# number (batch-1 steps are dominated by thread synchronisation): its repeats can differ by 2x,
# and so can the dreaming ratio between runs of this chapter.

# %% tags=["hide-input"]
table = tables.benchmark(result)
glue("bench_table", table, display=False)
display(table)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Speed-up over the paper's implementation, one change at a time, for training and dreaming (medians of the repeats). Each bar adds one change to the one before.", "name": "fig-speedups"}, "image": {"alt": "Speed-up over the paper's implementation, one change at a time, for training and dreaming (medians of the repeats)"}}
fig = speedups(result, source=nb.source)
nb.save_figure(fig, "bench_speedups")
plt.show()

# %% tags=["hide-input"]
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
nb.say(
    f"training speed-up {result['train_speedup']:.2f}x, dreaming {result['dream_speedup']:.2f}x, "
    f"validation loss ours / reference {result['val_loss_ratio']:.4f} after {cfg.quality_steps} steps each"
)
load = result["load"]
if load["after"] is not None:  # timings taken beside other work are slower: say how busy the machine was
    busy = load["after"] > load["cores"]  # over the benchmark's last minute, its own threads included
    nb.say(
        f"machine load over the benchmark's last minute {load['after']:.1f} on {load['cores']} cores "
        "(its own threads included)"
        + ("; other work shared the cores, so these timings are slower than the machine's best" if busy else "")
    )

# %% [markdown]
# ## The machine's best precision, and float32 only
#
# Ours computes in bf16 autocast only where the device computes bf16 natively (a CPU with
# AVX-512 BF16 or AMX, a GPU from compute capability 8.0), and in float32 elsewhere: a CPU
# without bf16 instructions (AVX2 only, common in laptops and hosted CI runners) emulates it,
# about 9x slower than float32. The rule is `lucid_dreamer.method.precision.use_bf16` (methods page).
# So on such a CPU the last float32 step of the ladder is ours, and the speed-ups a reader gets
# are the float32 ones below (measured here in the same run, float32 against float32).

# %% tags=["hide-input"]
hardware = result["hardware"]
nb.say(
    f"{result['device']}: {hardware['capability']}; native bf16: {hardware['native_bf16']}; "
    f"ours computes in {result['precision']}"
)
glue("bench_hardware", hardware["capability"], display=False)
glue("bench_precision", result["precision"], display=False)
f32 = result.get("float32")
if f32 is not None:  # float32 against float32 is measured where the reference is float32 (CPU)
    for size, speedup in f32["train_speedup"].items():
        glue(f"f32_train_speedup_{size}", speedup, display=False)
    glue("f32_train_speedup", f32["train_speedup"][main_size], display=False)
    glue("f32_dream_speedup", f32["dream_speedup"], display=False)
    sizes = ", ".join(f"{s}x{s} latents {x:.2f}x" for s, x in f32["train_speedup"].items())
    nb.say(f"float32 only ({f32['variant']}): training {sizes}; dreaming {f32['dream_speedup']:.2f}x")

# %% [markdown]
# ## Equal quality
#
# Speed must not cost accuracy. Both implementations start from the same weights (the Conv3d
# initialisation, its middle slices for ours), train for the same steps with the same seed,
# and are scored by the same rollout loss on the validation episodes. They differ in the order
# in which batches are drawn and, on CUDA, in the precision of the weights.

# %%
for name, loss in result["quality"]["val_loss"].items():
    nb.say(f"{name:30} validation loss {loss:.4f}")

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
bf16_rate = f"{limits['bf16_flops_per_s'] / 1e9:.0f} GFLOP/s bf16 matmul, " if "bf16_flops_per_s" in limits else ""
nb.say(
    f"measured limits: {limits['fp32_flops_per_s'] / 1e9:.0f} GFLOP/s float32 matmul, "
    f"{bf16_rate}{limits['copy_bytes_per_s'] / 1e9:.1f} GB/s copy"
)
tables.utilisation(result)

# %% [markdown]
# ## What float32 can gain, and what it cannot
#
# In float32 the reference's Conv3d does three times the arithmetic of ours (GFLOP per sample
# as run, above): removing that arithmetic and the data path's overhead is what the float32
# speed-up buys. Ours then runs its useful arithmetic at the share of the measured float32
# matmul rate in the last column but one: what lies between that share and the whole rate is all
# a faster float32 implementation of the same network could still gain. Beyond it, the speed-up
# comes from bf16 where the hardware computes it natively, and for dreaming from batching
# episodes.

# %% tags=["hide-input"]
if f32 is not None:
    used = bench_report.utilisation(result)
    for size in result["train"]:
        share = used[size][f32["variant"]]["flops"]
        glue(f"f32_flops_share_{size}", 100 * share, display=False)
        nb.say(f"{size}x{size} latents: ours in float32 at {100 * share:.0f}% of the float32 matmul rate")

# %% [markdown]
# ## What this chapter found
#
# On this machine ({glue:text}`bench_hardware`), ours in {glue:text}`bench_precision` trains
# {glue:text}`train_speedup:.1f`x and dreams {glue:text}`dream_speedup:.1f`x as fast as the paper's
# implementation rebuilt, to {glue:text}`val_loss_ratio:.3f` times its validation loss after the
# same steps; in float32 against float32 the training speed-up is
# {glue:text}`f32_train_speedup_16:.1f`x at 16x16 latents and {glue:text}`f32_train_speedup_64:.1f`x
# at the paper's 64x64.

# %% tags=["remove-input"]
glue("chapter_runtime", nb.runtime(), display=False)
glue("chapter_package", nb.record["package"], display=False)  # tests: executed against the committed package
