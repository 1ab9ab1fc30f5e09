"""A benchmark result (`bench.bench`) read back: each variant's share of the machine's limits, and the
speed table as rows (for the book's tables and figures) and as text (for the command line).
"""

from __future__ import annotations


def utilisation(result: dict) -> dict[str, dict[str, dict[str, float]]]:
    """Per latent size and variant: useful FLOP/s and bytes/s as fractions of the measured limits.

    Useful arithmetic is the Conv2d form's count for every variant: the Conv3d kernel's outer
    slices only multiply zero padding (a library may skip them), so they are not work done.
    FLOP/s are compared with the matmul rate of the variant's precision.
    """
    limits, out = result["limits"], {}
    for size, t in result["train"].items():
        useful = t["cost_per_sample"]["conv2d"]
        for name, rate in t["samples_per_s"].items():
            peak = limits["bf16_flops_per_s" if result["bf16"][name] else "fp32_flops_per_s"]
            out.setdefault(size, {})[name] = {
                "flops": rate["median"] * useful["flops"] / peak,
                "bytes": rate["median"] * useful["bytes"] / limits["copy_bytes_per_s"],
            }
    return out


def table_rows(result: dict) -> tuple[list[str], list[list]]:
    """Header and rows of the benchmark table: per variant, training and dreaming rates and ratios."""
    sizes = list(result["train"])
    header = [
        "variant",
        *(f"train {s}x{s} (samples/s)" for s in sizes),
        "dream (frames/s)",
        *(f"x ref train {s}x{s}" for s in sizes),
        "x ref dream",
    ]
    rows = []
    dream_rates = result["dream"]["frames_per_s"]
    ref = result["variants"][0]
    for name in result["variants"]:
        train = [result["train"][s]["samples_per_s"][name]["median"] for s in sizes]
        ratios = [t / result["train"][s]["samples_per_s"][ref]["median"] for t, s in zip(train, sizes)]
        d = dream_rates[name]["median"]
        rows.append([name, *train, d, *ratios, d / dream_rates[ref]["median"]])
    return header, rows


def format_table(result: dict) -> str:
    """The table as plain text, then the headline ratios."""
    header, rows = table_rows(result)
    widths = [max(len(header[0]), *(len(r[0]) for r in rows)), *(max(9, len(h)) for h in header[1:])]
    lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    for row in rows:
        lines.append("  ".join(f"{v:{w}.1f}" if i else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths))))
    q = result["quality"]
    lines.append(
        f"train_speedup {result['train_speedup']:.2f}x  dream_speedup {result['dream_speedup']:.2f}x  "
        f"val_loss_ratio {result['val_loss_ratio']:.4f} (after {q['steps']} steps each)  on {result['device']} "
        f"({result['hardware']['capability']}; ours in {result['precision']})"
    )
    if "float32" in result:
        f32 = result["float32"]
        train = "  ".join(f"{s}x{s} {x:.2f}x" for s, x in f32["train_speedup"].items())
        lines.append(
            f"float32 only ({f32['variant']}): train_speedup {train}  dream_speedup {f32['dream_speedup']:.2f}x"
        )
    return "\n".join(lines)
