"""Trajectory metrics: how far the dreamed cube is from the real one, and how often it is there.

Inputs are tracked centroids [..., T, 2] (NaN where the tracker found nothing). The reference
frames are those where the ground truth has a detection. Two RMSEs:
- `rmse` is the paper's: only frames where both ground truth and dream have a detection, so a
  dream that loses the cube is not penalised for it;
- `strict_rmse` charges every missed frame the frame's diagonal (the largest possible error),
  so vanishing costs more than any wrong guess.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .track import TRACKER_VERSION

HORIZONS = (1, 4, 16)


def trajectory_metrics(dream_xy: np.ndarray, truth_xy: np.ndarray, resolution: int) -> dict:
    """The paper's metrics and ours over all frames given, in pixels of `resolution`-px frames."""
    dream_xy, truth_xy = dream_xy.reshape(-1, 2), truth_xy.reshape(-1, 2)
    has_truth = ~np.isnan(truth_xy).any(axis=1)
    both = has_truth & ~np.isnan(dream_xy).any(axis=1)
    error = np.linalg.norm(dream_xy[both] - truth_xy[both], axis=1)
    total, valid = int(has_truth.sum()), int(both.sum())
    diagonal = resolution * np.sqrt(2)
    strict = np.concatenate([error, np.full(total - valid, diagonal)])
    nan = float("nan")
    return {
        "rmse": float(np.sqrt(np.mean(error**2))) if valid else nan,
        "strict_rmse": float(np.sqrt(np.mean(strict**2))) if total else nan,
        "mean_error": float(error.mean()) if valid else nan,
        "max_error": float(error.max()) if valid else nan,
        "detection_rate": valid / total if total else nan,
        "valid_frames": valid,
        "total_frames": total,
    }


def jitter(xy: np.ndarray) -> float:
    """Mean frame-to-frame acceleration |x[t+1] - 2 x[t] + x[t-1]| (px/frame^2) of tracked centroids
    [..., T, 2], over the triples of frames that all have a detection; NaN if there are none."""
    acceleration = np.linalg.norm(xy[..., 2:, :] - 2 * xy[..., 1:-1, :] + xy[..., :-2, :], axis=-1)
    valid = ~np.isnan(acceleration)
    return float(acceleration[valid].mean()) if valid.any() else float("nan")


def episode_sums(per_episode: list[dict], scale: float = 1.0) -> np.ndarray:
    """The additive parts of the pooled metrics, per episode [E, 4]: squared error over the frames
    both detect, squared strict error over the frames with a true cube (rmse^2 x its frame count,
    distances times `scale`), and those two frame counts. Summed over episodes, `pool_sums` turns
    them into the same metrics `trajectory_metrics` gives for all the episodes together."""
    rows = [
        [
            (m["rmse"] * scale) ** 2 * m["valid_frames"] if m["valid_frames"] else 0.0,
            (m["strict_rmse"] * scale) ** 2 * m["total_frames"] if m["total_frames"] else 0.0,
            m["valid_frames"],
            m["total_frames"],
        ]
        for m in per_episode
    ]
    return np.array(rows, dtype=float).reshape(-1, 4)


def pool_sums(sums: np.ndarray) -> dict[str, np.ndarray]:
    """RMSE, strict RMSE and detection rate from summed `episode_sums` [..., 4] (NaN where a count is 0)."""
    squared, strict_squared, valid, total = np.moveaxis(np.asarray(sums, dtype=float), -1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "rmse": np.sqrt(squared / valid),
            "strict_rmse": np.sqrt(strict_squared / total),
            "detection_rate": valid / total,
        }


BOOTSTRAP_RESAMPLES = 2000
"""Resamples of every bootstrap interval."""
BOOTSTRAP_SEED = 0
"""Seed of the resampling, so that an interval is the same on every run."""


def mean_interval(per_seed: list[np.ndarray], pool=None, confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean over seeds of a metric, and a percentile bootstrap interval of it that resamples the
    seeds and then, within each seed, its test episodes.

    `per_seed[i]` holds seed i's per-episode additive parts, rows [episodes, k] (one row for a
    metric known only per seed); `pool` maps rows summed over episodes [..., k] to the metric
    (default: the single column). Each resample draws as many seeds as there are, with
    replacement, and for each drawn seed as many of its episodes, with replacement; the interval
    is the central `confidence` share of the resampled means. A mean of pooled values lies
    between the smallest and largest value the metric can take, so the interval stays in the
    metric's range. Resamples in which a metric is undefined (no detections) are left out. One
    seed with one row gives NaN bounds: there is nothing to resample.
    """
    pool = pool or (lambda sums: sums[..., 0])
    per_seed = [np.asarray(rows, dtype=float).reshape(len(rows), -1) for rows in per_seed]
    mean = float(np.mean([pool(rows.sum(0)) for rows in per_seed]))
    if len(per_seed) == 1 and len(per_seed[0]) == 1:
        return mean, float("nan"), float("nan")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    seeds = len(per_seed)
    drawn = rng.integers(seeds, size=(BOOTSTRAP_RESAMPLES, seeds))  # which seed fills each slot
    values = np.empty((BOOTSTRAP_RESAMPLES, seeds))
    for s, rows in enumerate(per_seed):
        slots = drawn == s
        episodes = rng.integers(len(rows), size=(int(slots.sum()), len(rows)))
        values[slots] = pool(rows[episodes].sum(axis=1))
    means = values.mean(axis=1)
    means = means[np.isfinite(means)]
    if not len(means):
        return mean, float("nan"), float("nan")
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return mean, float(low), float(high)


def contrast_interval(
    rows: list[list[np.ndarray]],
    pools: list,
    episode_sets: list,
    statistic,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """A contrast of several rows' metrics (a difference, a reduction, a difference of differences)
    and its percentile bootstrap interval, paired where rows share their test episodes.

    Row i is per-seed rows [episodes, k] as `mean_interval` takes them, turned into its metric by
    `pools[i]`; `statistic` maps the rows' means (a list of arrays) to the contrast. Each resample
    draws every row's seeds on their own (two rows' seeds are different trainings) and one set of
    episode indices per `episode_sets` key, so rows scored on the same episodes are resampled on the
    same episodes: an episode that is hard for every model then moves both rows alike, and the
    difference's interval is as narrow as the models' disagreement, not the episodes' spread.
    Resamples in which a metric is undefined are left out; no interval (NaN bounds) when no row has
    anything to resample.
    """
    rows = [[np.asarray(r, dtype=float).reshape(len(r), -1) for r in per_seed] for per_seed in rows]
    point = statistic([np.mean([pool(r.sum(0)) for r in per_seed]) for per_seed, pool in zip(rows, pools)])
    if all(len(per_seed) == 1 and len(per_seed[0]) == 1 for per_seed in rows):
        return float(point), float("nan"), float("nan")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws: dict = {}
    means = []
    for per_seed, pool, key in zip(rows, pools, episode_sets):
        episodes = len(per_seed[0])
        if key not in draws:
            draws[key] = rng.integers(episodes, size=(BOOTSTRAP_RESAMPLES, episodes))
        drawn = draws[key]
        if drawn.shape[1] != episodes or any(len(r) != episodes for r in per_seed):
            raise ValueError(f"rows paired on episode set {key!r} have different numbers of episodes")
        seeds = rng.integers(len(per_seed), size=(BOOTSTRAP_RESAMPLES, len(per_seed)))
        values = np.empty(seeds.shape)
        for s, r in enumerate(per_seed):
            slots = seeds == s
            values[slots] = pool(r[drawn[np.nonzero(slots)[0]]].sum(axis=1))
        means.append(values.mean(axis=1))
    contrasts = np.asarray(statistic(means), dtype=float)
    contrasts = contrasts[np.isfinite(contrasts)]
    if not len(contrasts):
        return float(point), float("nan"), float("nan")
    low, high = np.quantile(contrasts, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(point), float(low), float(high)


def detection_toggles(dream_xy: np.ndarray) -> np.ndarray:
    """Flicker's additive parts per episode of dreams [E, T, 2]: how often the tracker's finding
    the cube changes between consecutive dreamed frames (found, then lost, or the reverse), and how
    many consecutive pairs there are [E, 2]. Summed over episodes, their ratio is the flicker rate."""
    found = ~np.isnan(dream_xy).any(axis=-1)
    toggles = (found[:, 1:] != found[:, :-1]).sum(axis=1)
    return np.stack([toggles, np.full(len(found), found.shape[1] - 1)], axis=1).astype(float)


MISS_CHARGES = {
    "diagonal": "the frame's diagonal",
    "last_seen": "the dream's last detected position",
    "centre": "the arena's centre",
}
"""What a dreamed frame without a detected cube is charged in strict RMSE: the frame's diagonal (the
largest possible error, the book's strict RMSE), or a guess at where the cube is: where the dream
last showed it (the arena's centre before it first does), or the arena's centre (the camera looks at
it, so it is the frame's centre)."""


def fill_misses(dream_xy: np.ndarray, charge: str, resolution: int) -> np.ndarray:
    """Dreamed centroids [E, T, 2] with each missed frame given the position `charge` names
    (`MISS_CHARGES`); "diagonal" leaves them missing, for `trajectory_metrics` to charge."""
    if charge not in MISS_CHARGES:
        raise ValueError(f"unknown miss charge {charge!r}; one of {', '.join(MISS_CHARGES)}")
    if charge == "diagonal":
        return dream_xy
    filled, centre = np.array(dream_xy, dtype=float), (resolution - 1) / 2
    if charge == "centre":
        return np.where(np.isnan(filled), centre, filled)
    for episode in filled:
        last = np.array([centre, centre])
        for xy in episode:
            if np.isnan(xy).any():
                xy[:] = last
            else:
                last = xy.copy()
    return filled


def charged_episode_metrics(dream_xy: np.ndarray, truth_xy: np.ndarray, resolution: int, charge: str) -> list[dict]:
    """`trajectory_metrics` per episode of dreams [E, T, 2], with strict RMSE charging each missed frame
    as `charge` says (the paper's RMSE and the detection rate count only what the dream shows)."""
    filled = fill_misses(dream_xy, charge, resolution)
    return [
        {**trajectory_metrics(d, t, resolution), "strict_rmse": trajectory_metrics(f, t, resolution)["strict_rmse"]}
        for d, f, t in zip(dream_xy, filled, truth_xy)
    ]


def horizon_report(dream_xy: np.ndarray, truth_xy: np.ndarray, resolution: int) -> dict:
    """Metrics of dreams [E, T, 2] pooled, per episode, within the first h frames, and per horizon;
    jitter of the dreamed and true tracks, and the share of dreams still detected at their last frame."""
    frames = dream_xy.shape[1]
    curves = [trajectory_metrics(dream_xy[:, t], truth_xy[:, t], resolution) for t in range(frames)]
    return {
        "resolution": resolution,
        "jitter_dream": jitter(dream_xy),
        "jitter_truth": jitter(truth_xy),
        "detected_at_end": float((~np.isnan(dream_xy[:, -1]).any(axis=-1)).mean()),
        "pooled": trajectory_metrics(dream_xy, truth_xy, resolution),
        "per_episode": [trajectory_metrics(d, t, resolution) for d, t in zip(dream_xy, truth_xy)],
        "within": {
            str(h): trajectory_metrics(dream_xy[:, :h], truth_xy[:, :h], resolution) for h in HORIZONS if h <= frames
        },
        "by_horizon": {k: [c[k] for c in curves] for k in ("rmse", "strict_rmse", "detection_rate")},
    }


def score(dream: dict[str, np.ndarray], truth: dict[str, np.ndarray], resolution: int) -> dict:
    """`horizon_report` of dreamed against true centroids by our tracker, with the paper's
    tracker's report under "paper" (both as `track.track_all` gives them)."""
    return {
        **horizon_report(dream["cube"], truth["cube"], resolution),
        "paper": horizon_report(dream["paper"], truth["paper"], resolution),
        "tracker_version": TRACKER_VERSION,
    }


def horizon_sums(dream_xy: np.ndarray, truth_xy: np.ndarray, resolution: int, scale: float = 1.0) -> np.ndarray:
    """`episode_sums` of dreams [E, T, 2] within their first h dreamed frames, for every h = 1..T at
    once [E, T, 4] (index h - 1): cumulative sums over the frames, strict RMSE charging a missed frame
    the frame's diagonal. For another charge fill the misses first (`fill_misses`); the RMSE and
    detection parts then count the filled frames too, so read only the strict RMSE."""
    has_truth = ~np.isnan(truth_xy).any(axis=-1)
    both = has_truth & ~np.isnan(dream_xy).any(axis=-1)
    with np.errstate(invalid="ignore"):
        error2 = np.where(both, ((dream_xy - truth_xy) ** 2).sum(axis=-1), 0.0) * scale**2
    diagonal2 = 2 * (resolution * scale) ** 2
    strict2 = np.where(both, error2, np.where(has_truth, diagonal2, 0.0))
    parts = np.stack([error2, strict2, both.astype(float), has_truth.astype(float)], axis=-1)
    return np.cumsum(parts, axis=1)


def horizon_ratios(
    model: list[np.ndarray], trivial: dict[str, np.ndarray], confidence: float = 0.95
) -> dict[str, np.ndarray]:
    """A model's strict RMSE relative to the best trivial predictor at every horizon, with a paired
    bootstrap band.

    `model` is per seed `horizon_sums` [E, T, 4]; `trivial` maps each trivial predictor to its
    `horizon_sums` on the same test episodes [E, T, 4] (deterministic: one "seed"). At horizon h the
    ratio is the model's strict RMSE within h frames (mean over seeds) over the smallest of the
    trivial predictors'. Each resample draws the seeds and one set of episode indices that numerator
    and every denominator share (`contrast_interval`): an episode hard for all of them moves them
    alike. Returns "ratio", "low", "high" [T] and, per horizon, which predictor is best ("best")."""
    names = list(trivial)
    frames = model[0].shape[1]
    out = {key: np.full(frames, np.nan) for key in ("ratio", "low", "high")}
    strict = _pooled_strict
    best = []
    for h in range(frames):
        rows = [[m[:, h] for m in model]] + [[trivial[n][:, h]] for n in names]
        ratio, low, high = contrast_interval(
            rows,
            [strict] * len(rows),
            ["test"] * len(rows),
            lambda means: means[0] / np.minimum.reduce(means[1:]),
            confidence,
        )
        out["ratio"][h], out["low"][h], out["high"][h] = ratio, low, high
        best.append(names[int(np.argmin([strict(trivial[n][:, h].sum(0)) for n in names]))])
    out["best"] = np.array(best)
    return out


def _pooled_strict(sums: np.ndarray) -> np.ndarray:
    return pool_sums(sums)["strict_rmse"]


def beats_until(ratios: dict[str, np.ndarray]) -> int:
    """The largest horizon N such that at every horizon 1..N the ratio's whole interval lies below 1
    (the model beats the best trivial predictor there); 0 if it does not at horizon 1."""
    below = ratios["high"] < 1
    return int(np.argmin(below)) if not below.all() else len(below)


PIXEL_KEYS = {"rmse", "strict_rmse", "mean_error", "max_error", "jitter_dream", "jitter_truth"}


def scale_to(report: dict, resolution: int = 512) -> dict:
    """A copy of a `horizon_report` with pixel quantities scaled to `resolution`-px frames."""
    factor = resolution / report["resolution"]

    def scale(node, key=None):
        if isinstance(node, dict):
            return {k: scale(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [scale(v, key) for v in node]
        return node * factor if key in PIXEL_KEYS and isinstance(node, float) else node

    return {**scale(report), "resolution": resolution}


def sharpness(frames: np.ndarray, centres: np.ndarray | None = None, half: int = 12) -> np.ndarray:
    """Variance of the Laplacian of uint8 frames [..., H, W, 3] (grey): blur lowers it.

    With `centres` [..., 2] (x, y), only a (2 * half)-px square around each centre counts, so a
    blurred cube is not hidden by a sharp background; frames without a centre give NaN.
    """
    grey = frames.astype(np.float32).mean(axis=-1)
    flat = grey.reshape(-1, *grey.shape[-2:])
    h, w = flat.shape[1:]
    where = None if centres is None else centres.reshape(-1, 2)
    out = np.full(len(flat), np.nan)
    for i, g in enumerate(flat):
        if where is not None:
            if np.isnan(where[i]).any():
                continue
            x, y = (int(round(v)) for v in where[i])
            top, left = np.clip(y - half, 0, h - 2 * half), np.clip(x - half, 0, w - 2 * half)
            g = g[top : top + 2 * half, left : left + 2 * half]
        out[i] = ndimage.laplace(g).var()
    return out.reshape(grey.shape[:-2])
