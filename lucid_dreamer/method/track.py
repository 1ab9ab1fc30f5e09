"""The red-cube tracker, in two forms, and its error.

- `track_cube` (ours, every table's default): one colour rule for true and dreamed frames, so a
  dream equal to the truth measures no error whatever the lighting, and a detection only where
  the largest red blob is cube-sized, so red smeared over the arena is not "the cube".
- `track_paper` (faithful, in the columns labelled as the paper's): the paper's `analyze.py`
  exactly, computed with OpenCV as it was: frames resized to 512 x 512, strict thresholds for
  true frames and lenient ones for dreamed frames (saturation >= 0, so white counts as red), the
  red-excess fallback for dreamed frames, 5 x 5 morphology, the largest external contour of
  100 px or more, its moments' centroid.

`red_mask` (numpy, at the frame's own resolution) marks red pixels for the tokenizer's loss.
Every centroid is (x, y) in pixel-index coordinates of the frames given, NaN where nothing
counts as the cube.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import cv2
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


# The defaults above are the paper's thresholds for true frames; these its looser ones for
# decoded (blurrier, paler) frames.
LENIENT = TrackerConfig(hue_low_max=15, hue_high_min=165, saturation_min=0, value_min=100)


PARALLEL_FROM = 64
"""Frames from which `_each_frame` spreads the work over torch's threads (OpenCV and NumPy release the
GIL; each frame is tracked alone, so the result is the same as one frame after another)."""


def _threads(frames: int) -> int:
    if frames < PARALLEL_FROM:
        return 1
    import torch  # its thread count is the process's share of the cores (local grid workers set it)

    return max(1, min(torch.get_num_threads(), frames // (PARALLEL_FROM // 2)))


def _each_frame(frames: np.ndarray, find: Callable[[np.ndarray], tuple | None], size: int) -> np.ndarray:
    """`find` (one frame -> `size` numbers, or None) over uint8 frames [..., H, W, 3]; NaN where None."""
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = np.full((len(flat), size), np.nan)
    threads = _threads(len(flat))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(find, flat))
    else:
        results = map(find, flat)
    for i, found in enumerate(results):
        if found is not None:
            out[i] = found
    return out.reshape(*frames.shape[:-3], size)


def _split(found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centroids [..., 2] and areas [...] from [..., 3], each a contiguous array (safetensors writes an
    array's buffer as it lies in memory, so a strided view would be saved scrambled)."""
    return found[..., :2].copy(), found[..., 2].copy()


def _hsv_bands(hsv: np.ndarray, cfg: TrackerConfig) -> np.ndarray:
    """Mask (0 / 255) of an OpenCV HSV image in the two bands of red, bounds included (`cv2.inRange`,
    as in the paper)."""
    low = cv2.inRange(hsv, np.array([0, cfg.saturation_min, cfg.value_min]), np.array([cfg.hue_low_max, 255, 255]))
    high = cv2.inRange(hsv, np.array([cfg.hue_high_min, cfg.saturation_min, cfg.value_min]), np.array([180, 255, 255]))
    return low | high


# --- Red pixels and blobs at the frame's own resolution ------------------------------------


def _morph_size(resolution: int) -> int:
    """Structuring element side: the paper's 5x5 at 512 px, 3x3 near 128 px, none when tiny."""
    return 5 if resolution >= 384 else 3 if resolution >= 96 else 1


def red_mask(frames: np.ndarray, cfg: TrackerConfig = TrackerConfig()) -> np.ndarray:
    """Boolean mask of red pixels for uint8 frames [..., H, W, 3]."""
    hsv = rgb_to_hsv(frames.astype(np.float32) / 255.0)
    hue, sat, val = hsv[..., 0] * 180, hsv[..., 1] * 255, hsv[..., 2] * 255
    red_hue = (hue <= cfg.hue_low_max) | (hue >= cfg.hue_high_min)
    return red_hue & (sat >= cfg.saturation_min) & (val >= cfg.value_min) & (sat > 0)


def _largest_blob(mask: np.ndarray, min_area_fraction: float) -> tuple[float, float, float] | None:
    """Centroid (x, y) and area (px) of the largest blob of a red mask [H, W] after an open and a
    close, or None below the least area."""
    size = _morph_size(mask.shape[1])
    if size > 1:
        kernel = np.ones((size, size), bool)
        mask = ndimage.binary_closing(ndimage.binary_opening(mask, kernel), kernel)
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    areas = np.bincount(labels.ravel())[1:]
    largest = int(np.argmax(areas)) + 1
    if areas[largest - 1] < min_area_fraction * mask.shape[0] * mask.shape[1]:
        return None
    y, x = ndimage.center_of_mass(labels == largest)
    return float(x), float(y), float(areas[largest - 1])


# --- The paper's tracker, exactly (OpenCV) ---------------------------------------------------

PAPER_RESOLUTION = 512
"""The paper resizes every frame to this side before tracking."""
PAPER_MIN_AREA = 100
"""Least contour area (px at 512 x 512) of the paper's cube."""
PAPER_RED_EXCESS = 10
"""The fallback's threshold: a pixel is red where R - (G + B) / 2, cut to uint8, exceeds this."""
_PAPER_KERNEL = np.ones((5, 5), np.uint8)


def _paper_clean(mask: np.ndarray) -> np.ndarray:
    """The paper's 5 x 5 open, then close."""
    return cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, _PAPER_KERNEL), cv2.MORPH_CLOSE, _PAPER_KERNEL)


def _paper_contours(mask: np.ndarray) -> tuple:
    return cv2.findContours(_paper_clean(mask), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]


def _paper_red_excess_mask(image: np.ndarray) -> np.ndarray:
    """The paper's fallback for dreamed frames: R - (G + B) / 2, clipped, cast to uint8, > 10."""
    r, g, b = (channel.astype(np.float32) for channel in cv2.split(image))
    excess = np.clip(r - (g + b) / 2.0, 0, 255).astype(np.uint8)
    return cv2.threshold(excess, PAPER_RED_EXCESS, 255, cv2.THRESH_BINARY)[1]


def _paper_blob(frame: np.ndarray, dreamed: bool) -> tuple[float, float, float] | None:
    """The paper's `detect_red_centroid` on one RGB frame: centroid (x, y) and contour area, both in
    the frame's own pixels, or None."""
    height, width = frame.shape[:2]
    image = frame
    if (height, width) != (PAPER_RESOLUTION, PAPER_RESOLUTION):
        image = cv2.resize(frame, (PAPER_RESOLUTION, PAPER_RESOLUTION))
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    contours = _paper_contours(_hsv_bands(hsv, LENIENT if dreamed else TrackerConfig()))
    # As in the paper, the fallback runs only when the colour mask leaves no contour at all.
    if not contours and dreamed:
        contours = _paper_contours(_paper_red_excess_mask(image))
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(largest)
    moments = cv2.moments(largest)
    if area < PAPER_MIN_AREA or moments["m00"] == 0:
        return None
    sx, sy = width / PAPER_RESOLUTION, height / PAPER_RESOLUTION
    # cv2.resize maps pixel centres, so position p at 512 px is (p + 0.5) * s - 0.5 in the frame.
    x = (moments["m10"] / moments["m00"] + 0.5) * sx - 0.5
    y = (moments["m01"] / moments["m00"] + 0.5) * sy - 0.5
    return x, y, area * sx * sy


def paper_blobs(frames: np.ndarray, dreamed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The paper's tracker on uint8 RGB frames [..., H, W, 3] (true frames, or dreamed ones with its
    lenient thresholds and fallback): centroids [..., 2] and contour areas [...] in px of the frames
    given; NaN where it finds nothing."""
    found = _each_frame(frames, lambda frame: _paper_blob(frame, dreamed), 3)
    return _split(found)


def track_paper(frames: np.ndarray, dreamed: bool = False) -> np.ndarray:
    """Centroids [..., 2] by the paper's `analyze.py` (see `paper_blobs`)."""
    return paper_blobs(frames, dreamed)[0]


# --- Ours: one colour rule for truth and dream, and a cube-sized blob ------------------------


@dataclass(frozen=True)
class CubeTrackerConfig:
    """Our tracker: the same red for true and dreamed frames, and only a cube-sized blob counts."""

    colour: TrackerConfig = TrackerConfig(hue_low_max=15, hue_high_min=165, saturation_min=80, value_min=30)
    """Red pixels, in true and dreamed frames alike: the paper's dream hues (decoded reds drift
    towards orange and pink); a saturation that greys, whites and faint red hazes fail; and a low
    brightness floor, so a face in shadow counts whatever the lighting."""
    area_factor: float = 3.0
    """The largest red blob is the cube when its area is within this factor of the expected cube
    area, either way: red smeared over the arena is larger, a speck smaller."""

    def cube_sized(self, area: np.ndarray, cube_area: float) -> np.ndarray:
        """Whether blob areas (px; NaN = no blob) are within `area_factor` of `cube_area`."""
        area = np.asarray(area, dtype=float)
        return (area >= cube_area / self.area_factor) & (area <= cube_area * self.area_factor)


def cube_blobs(frames: np.ndarray, cfg: CubeTrackerConfig = CubeTrackerConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Centroids [..., 2] and areas [...] (px) of the largest red blob of uint8 RGB frames
        [..., H, W, 3] by our colour rule (OpenCV's HSV, the previous tracker's morphology); NaN where
        no blob reaches the least area (`_largest_blob`'s open and close). Whether a blob is the cube is
    `cfg.cube_sized`'s call."""

    def largest(frame: np.ndarray) -> tuple[float, float, float] | None:
        mask = _hsv_bands(cv2.cvtColor(frame, cv2.COLOR_RGB2HSV), cfg.colour) > 0
        return _largest_blob(mask, cfg.colour.min_area_fraction)

    found = _each_frame(frames, largest, 3)
    return _split(found)


def expected_cube_area(frames: np.ndarray, cfg: CubeTrackerConfig = CubeTrackerConfig()) -> float:
    """The cube's size for `track_cube`: the median area (px) of the largest red blob over true
    frames [..., H, W, 3] that have one; NaN if none has."""
    areas = cube_blobs(frames, cfg)[1]
    return float(np.nanmedian(areas)) if np.isfinite(areas).any() else float("nan")


def track_cube(frames: np.ndarray, cube_area: float, cfg: CubeTrackerConfig = CubeTrackerConfig()) -> np.ndarray:
    """Our tracker, the same for true and dreamed frames [..., H, W, 3]: centroids [..., 2] of the
    largest red blob, NaN where there is none or it is not cube-sized (see `expected_cube_area`)."""
    xy, area = cube_blobs(frames, cfg)
    return np.where(cfg.cube_sized(area, cube_area)[..., None], xy, np.nan)


TRACKERS = ("cube", "paper")
"""The trackers every result is measured with: ours (`track_cube`, the book's default) and the
paper's (`track_paper`: strict on true frames, lenient with the fallback on decoded ones)."""
TRACKER_VERSION = 3
"""Raised whenever a tracker's rule or output changes: results measured by an older version are re-run
(3: the paper's centroids are saved unscrambled)."""


def track_all(frames: np.ndarray, cube_area: float, decoded: bool) -> dict[str, np.ndarray]:
    """Centroids [..., 2] of frames [..., H, W, 3] by each of `TRACKERS`; `decoded` frames (dreams,
    round trips) get the paper's dream rule, true frames its strict one."""
    return {"cube": track_cube(frames, cube_area), "paper": track_paper(frames, dreamed=decoded)}


# --- The tracker's errors ---------------------------------------------------------------------


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


def paper_asymmetry(frames: np.ndarray) -> TrackingError:
    """What the paper's two trackers charge a perfect dream: its dream tracker against its truth
    tracker on the same true frames [..., H, W, 3] (px of these frames; 0 for a symmetric tracker)."""
    return tracking_error(track_paper(frames, dreamed=True), track_paper(frames))


@dataclass(frozen=True)
class DetectionShares:
    """How often each rule says a set of frames shows the cube."""

    frames: int
    """Frames measured."""
    paper: float
    """Share the paper's dream rule (lenient thresholds, then the fallback) calls a detection."""
    paper_not_cube_sized: float
    """Share with a paper detection whose blob is not cube-sized (a smear or a speck)."""
    ours: float
    """Share with a cube-sized blob under our tracker (`track_cube`)."""


def detection_shares(
    frames: np.ndarray, cube_area: float, cfg: CubeTrackerConfig = CubeTrackerConfig()
) -> DetectionShares:
    """Detections in decoded or dreamed frames [..., H, W, 3] by the paper's rule and by ours. On
    frames known to be cube-free every detection is false; on long dreams a paper detection that is
    not cube-sized is red smeared over the arena, not the cube."""
    paper_xy, paper_area = paper_blobs(frames, dreamed=True)
    paper_found = ~np.isnan(paper_xy[..., 0])
    ours_found = ~np.isnan(track_cube(frames, cube_area, cfg)[..., 0])
    return DetectionShares(
        frames=int(paper_found.size),
        paper=float(paper_found.mean()),
        paper_not_cube_sized=float((paper_found & ~cfg.cube_sized(paper_area, cube_area)).mean()),
        ours=float(ours_found.mean()),
    )
