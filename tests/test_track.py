import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucid_dreamer.track import LENIENT, detect, track, tracking_error

RED = (220, 20, 15)


def checker(size=64):
    y, x = np.mgrid[:size, :size]
    grey = np.where((x // 8 + y // 8) % 2, 200, 140).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def with_square(frame, top, left, side, colour=RED):
    frame = frame.copy()
    frame[top : top + side, left : left + side] = colour
    return frame


@settings(max_examples=40, deadline=None)
@given(top=st.integers(0, 54), left=st.integers(0, 54), side=st.integers(3, 10))
def test_centroid_of_a_square_is_its_centre(top, left, side):
    side = min(side, 64 - top, 64 - left)
    x, y = detect(with_square(checker(), top, left, side))
    assert x == pytest.approx(left + (side - 1) / 2)
    assert y == pytest.approx(top + (side - 1) / 2)


def test_no_red_no_detection():
    assert detect(checker()) is None
    assert detect(with_square(checker(), 10, 10, 6, colour=(20, 200, 20))) is None


def test_largest_component_wins():
    frame = with_square(with_square(checker(), 5, 5, 3), 40, 30, 8)
    assert detect(frame) == pytest.approx((33.5, 43.5))


def test_blob_below_min_area_is_rejected():
    # 100 px at 512 px is 25 px at 256 px: a 4x4 square (16 px) is too small there, 6x6 is not.
    frame = np.zeros((256, 256, 3), np.uint8)
    assert detect(with_square(frame, 100, 100, 4)) is None
    assert detect(with_square(frame, 100, 100, 6)) is not None


@pytest.mark.parametrize("colour", [(220, 100, 20), (200, 180, 180)])  # hue 12 (OpenCV); saturation 25
def test_lenient_thresholds_accept_what_strict_ones_reject(colour):
    frame = with_square(np.zeros((64, 64, 3), np.uint8), 20, 20, 6, colour=colour)
    assert detect(frame) is None
    assert detect(frame, LENIENT) == pytest.approx((22.5, 22.5))


def test_track_marks_misses_with_nan():
    frames = np.stack([with_square(checker(), 10, 10, 5), checker()])
    out = track(frames)
    assert out.shape == (2, 2)
    assert not np.isnan(out[0]).any() and np.isnan(out[1]).all()


def test_tracking_error_counts_misses_and_ignores_frames_without_reference():
    found = np.array([[0, 0], [3, 4], [np.nan, np.nan], [1, 1]], float)
    ref = np.array([[0, 0], [0, 0], [5, 5], [np.nan, np.nan]], float)
    err = tracking_error(found, ref)
    assert (err.detected, err.total) == (2, 3)
    assert err.detection_rate == pytest.approx(2 / 3)
    assert err.rmse == pytest.approx(np.sqrt((0 + 25) / 2))
    assert err.scaled(4).rmse == pytest.approx(4 * err.rmse)
