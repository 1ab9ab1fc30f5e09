"""The red-cube tracker: colour thresholds, morphology, largest component, centroid.

The paper's `analyze.py` in numpy/scipy: HSV thresholds (OpenCV's scale, hue in 0..180),
a morphological open then close, the largest connected component, a minimum area, and the
centroid. Sizes scale with the frame so the tracker behaves alike at 64, 128 and 512 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import rgb_to_hsv
from scipy import ndimage


@dataclass(frozen=True)
class TrackerConfig:
    """Thresholds of the red-cube detector (hue in OpenCV's 0..180, S and V in 0..255)."""

    hue_low_max: float = 10
    """Red wraps around hue 0: accept hue <= this ..."""
    hue_high_min: float = 170
    """... or hue >= this."""
    saturation_min: float = 50
    """Least saturation of a red pixel."""
    value_min: float = 50
    """Least brightness of a red pixel."""
    min_area_fraction: float = 100 / 512**2
    """Smallest blob kept, as a fraction of the frame (the paper's 100 px at 512x512)."""


# The paper's looser thresholds for decoded (blurrier, paler) frames.
LENIENT = TrackerConfig(hue_low_max=15, hue_high_min=165, saturation_min=0, value_min=100)


def _morph_size(resolution: int) -> int:
    """Structuring element side: the paper's 5x5 at 512 px, 3x3 near 128 px, none when tiny."""
    return 5 if resolution >= 384 else 3 if resolution >= 96 else 1


def red_mask(frames: np.ndarray, cfg: TrackerConfig = TrackerConfig()) -> np.ndarray:
    """Boolean mask of red pixels for uint8 frames [..., H, W, 3]."""
    hsv = rgb_to_hsv(frames.astype(np.float32) / 255.0)
    hue, sat, val = hsv[..., 0] * 180, hsv[..., 1] * 255, hsv[..., 2] * 255
    red_hue = (hue <= cfg.hue_low_max) | (hue >= cfg.hue_high_min)
    return red_hue & (sat >= cfg.saturation_min) & (val >= cfg.value_min) & (sat > 0)


def detect(frame: np.ndarray, cfg: TrackerConfig = TrackerConfig()) -> tuple[float, float] | None:
    """Centroid (x, y) in pixel-index coordinates of the largest red blob, or None."""
    mask = red_mask(frame, cfg)
    size = _morph_size(frame.shape[1])
    if size > 1:
        kernel = np.ones((size, size), bool)
        mask = ndimage.binary_closing(ndimage.binary_opening(mask, kernel), kernel)
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    areas = np.bincount(labels.ravel())[1:]
    largest = int(np.argmax(areas)) + 1
    if areas[largest - 1] < cfg.min_area_fraction * frame.shape[0] * frame.shape[1]:
        return None
    y, x = ndimage.center_of_mass(labels == largest)
    return float(x), float(y)


def track(frames: np.ndarray, cfg: TrackerConfig = TrackerConfig()) -> np.ndarray:
    """Centroids [..., 2] of uint8 frames [..., H, W, 3]; NaN where no cube is found."""
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = np.full((len(flat), 2), np.nan)
    for i, frame in enumerate(flat):
        found = detect(frame, cfg)
        if found is not None:
            out[i] = found
    return out.reshape(*frames.shape[:-3], 2)


@dataclass(frozen=True)
class TrackingError:
    """How far tracked centroids lie from reference positions, over the frames compared."""

    rmse: float
    """Root-mean-square distance in pixels over frames where both have a position (the paper's)."""
    detection_rate: float
    """Fraction of reference frames with a position in which the tracker found the cube."""
    detected: int
    """Frames where both have a position."""
    total: int
    """Frames where the reference has a position."""

    def scaled(self, factor: float) -> TrackingError:
        """The same error with distances multiplied by `factor` (e.g. 512 / resolution)."""
        return TrackingError(self.rmse * factor, self.detection_rate, self.detected, self.total)


def tracking_error(found: np.ndarray, reference: np.ndarray) -> TrackingError:
    """Compare centroids [..., 2] with reference positions [..., 2] (NaN = none)."""
    found, reference = found.reshape(-1, 2), reference.reshape(-1, 2)
    has_ref = ~np.isnan(reference).any(axis=1)
    both = has_ref & ~np.isnan(found).any(axis=1)
    dist = np.linalg.norm(found[both] - reference[both], axis=1)
    total, detected = int(has_ref.sum()), int(both.sum())
    return TrackingError(
        rmse=float(np.sqrt(np.mean(dist**2))) if detected else float("nan"),
        detection_rate=detected / total if total else float("nan"),
        detected=detected,
        total=total,
    )
