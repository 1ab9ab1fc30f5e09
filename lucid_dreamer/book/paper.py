"""The paper's own reported numbers, kept in one place and always labelled as the paper's.

Nothing here is computed by this project: these values are transcribed from the paper's README
and technical report (`shared/seeds/`) so tables can show them beside our measurements. They
were measured by the paper on its single training video at 512x512, with the detected-frames-
only RMSE; none of our code uses them as a result. The paper's recipe (its video's frames, context, rollout,
epochs, batch and steps), which the method and the presets follow, is `method.recipe`.
"""

PAPER_RESULTS = {
    # model: (RMSE in px at 512 px or None, detection rate, parameters as the paper states them)
    "Baseline ResNet": (None, 0.00, "~1M"),
    "U-Net (single)": (165.0, 1.00, "~84M"),
    "Rollout U-Net": (165.20, 1.00, "~84M"),
    "Sharp-Shooter": (107.97, 0.59, "~84M"),
    "Probabilistic Plus": (77.81, 1.00, "~10M"),
    "ResNet-Rollout": (71.08, 0.99, "~1M"),
    "Hero": (None, 0.30, "394M"),  # the README's table only ("Failed"); not in Figure 3
}
"""Figure 3 of the technical report (the paper's numbers, typed into its plotting script), and the
README's Hero row."""

PAPER_DETECTED = (96, 97)
"""ResNet-Rollout's detected and dreamed frames in its report (the "99%")."""
PAPER_ERRORS = {"mean": 54.97, "rmse": 71.08, "max": 229.66}
"""ResNet-Rollout's centroid errors (px at 512 px, frames where both detect), as its report prints them."""
PAPER_VAL_LOSS = 1.5907
"""ResNet-Rollout's validation loss (on its training video)."""
PAPER_TRAIN_MINUTES = {"ResNet-Rollout": 15, "84M baseline": 45}
"""Training times the README states (500 epochs, an RTX 5090)."""
PAPER_PARAMS = "~1.02M"
"""ResNet-Rollout's parameters, as its key results table states them."""
PAPER_CLAIMED = {
    "reduction_vs_rollout_unet": 0.56,
    "better_than_probabilistic_plus": 0.086,
    "better_than_sharp_shooter": 0.34,
    "detection_points_over_sharp_shooter": 0.40,
    "smaller_than_unet": 84,
    "smaller_than_probabilistic_plus": 10,
}
"""The sizes the paper claims for its comparisons: fractions, and size ratios (x times smaller)."""
PAPER_UNET_WITHOUT_CONTEXT = 107
"""The report's "U-Net without context: 107 px" (its Sharp-Shooter, 107.97 px in its tables)."""


def book_values() -> dict[str, str]:
    """The paper's numbers as the book's pages quote them (glued by chapter 5), by glue name."""
    rmse, detection, _ = PAPER_RESULTS["ResNet-Rollout"]
    minutes = PAPER_TRAIN_MINUTES
    return {
        "paper_rmse": f"{rmse:.2f}",
        "paper_detection": f"{detection:.0%}",
        "paper_detected": "/".join(map(str, PAPER_DETECTED)),
        "paper_errors": " / ".join(f"{PAPER_ERRORS[k]:.2f}" for k in ("mean", "rmse", "max")),
        "paper_val_loss": f"{PAPER_VAL_LOSS:.4f}",
        "paper_minutes": f"{minutes['ResNet-Rollout']}",
        "paper_params": PAPER_PARAMS,
        "paper_speed_ratio": f"{minutes['84M baseline'] / minutes['ResNet-Rollout']:.0f}x",
        "rollout_unet_paper_rmse": f"{PAPER_RESULTS['Rollout U-Net'][0]:.2f}",
    }
