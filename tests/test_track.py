import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucid_dreamer.method.track import (
    TRACKERS,
    detection_shares,
    expected_cube_area,
    paper_asymmetry,
    paper_blobs,
    track_all,
    track_cube,
    track_paper,
    tracking_error,
)
from lucid_dreamer.method.world import World, WorldConfig

RED = (220, 20, 15)


def checker(size=64):
    y, x = np.mgrid[:size, :size]
    grey = np.where((x // 8 + y // 8) % 2, 200, 140).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def with_square(frame, top, left, side, colour=RED):
    frame = frame.copy()
    frame[top : top + side, left : left + side] = colour
    return frame


def cube(frame, area=None):
    """Our tracker on one frame, expecting a cube of `area` px (default: what the frame shows)."""
    area = expected_cube_area(frame) if area is None else area
    found = track_cube(frame, area)
    return None if np.isnan(found).any() else tuple(found)


@settings(max_examples=40, deadline=None)
@given(top=st.integers(0, 54), left=st.integers(0, 54), side=st.integers(3, 10))
def test_centroid_of_a_square_is_its_centre(top, left, side):
    side = min(side, 64 - top, 64 - left)
    x, y = cube(with_square(checker(), top, left, side))
    assert x == pytest.approx(left + (side - 1) / 2)
    assert y == pytest.approx(top + (side - 1) / 2)


def test_no_red_no_detection():
    assert cube(checker(), 36) is None
    assert cube(with_square(checker(), 10, 10, 6, colour=(20, 200, 20)), 36) is None


def test_largest_component_wins():
    frame = with_square(with_square(checker(), 5, 5, 3), 40, 30, 8)
    assert cube(frame, 64) == pytest.approx((33.5, 43.5))


def test_blob_below_min_area_is_rejected():
    # 100 px at 512 px is 25 px at 256 px: a 4x4 square (16 px) is too small there, 6x6 is not.
    frame = np.zeros((256, 256, 3), np.uint8)
    assert cube(with_square(frame, 100, 100, 4), 16) is None
    assert cube(with_square(frame, 100, 100, 6), 36) is not None


def test_track_marks_misses_with_nan():
    frames = np.stack([with_square(checker(), 10, 10, 5), checker()])
    out = track_cube(frames, 25)
    assert out.shape == (2, 2)
    assert not np.isnan(out[0]).any() and np.isnan(out[1]).all()


def test_track_all_gives_both_trackers_and_the_paper_rule_by_frame_kind():
    # pale red: the paper's dream rule (S >= 0) takes it, its truth rule (S >= 50) and ours do not
    frame = with_square(np.zeros((512, 512, 3), np.uint8), 200, 200, 40, colour=(200, 180, 180))
    true, decoded = track_all(frame, 1600, decoded=False), track_all(frame, 1600, decoded=True)
    assert set(true) == set(TRACKERS) == {"cube", "paper"}
    assert np.isnan(true["paper"]).all() and np.isnan(true["cube"]).all() and np.isnan(decoded["cube"]).all()
    assert decoded["paper"] == pytest.approx((219.5, 219.5))


def test_tracking_error_counts_misses_and_ignores_frames_without_reference():
    found = np.array([[0, 0], [3, 4], [np.nan, np.nan], [1, 1]], float)
    ref = np.array([[0, 0], [0, 0], [5, 5], [np.nan, np.nan]], float)
    err = tracking_error(found, ref)
    assert (err.detected, err.total) == (2, 3)
    assert err.detection_rate == pytest.approx(2 / 3)
    assert err.rmse == pytest.approx(np.sqrt((0 + 25) / 2))
    assert err.scaled(4).rmse == pytest.approx(4 * err.rmse)


# --- The paper's tracker (faithful) ----------------------------------------------------------

BLACK_512 = np.zeros((512, 512, 3), np.uint8)


def hsv_of(colour):
    return tuple(int(v) for v in cv2.cvtColor(np.uint8([[colour]]), cv2.COLOR_RGB2HSV)[0, 0])


def paper_finds(frame, dreamed):
    found = track_paper(frame, dreamed)
    return None if np.isnan(found).any() else tuple(found)


# (colour, its OpenCV HSV, whether the threshold accepts it); frames are 512 px, so nothing is resized.
TRUTH_BOUNDARIES = [
    ((255, 85, 0), (10, 255, 255), True),
    ((255, 94, 0), (11, 255, 255), False),
    ((255, 0, 85), (170, 255, 255), True),
    ((255, 0, 94), (169, 255, 255), False),
    ((152, 122, 122), (0, 50, 152), True),
    ((152, 123, 123), (0, 49, 152), False),
    ((50, 10, 10), (0, 204, 50), True),
    ((49, 10, 10), (0, 203, 49), False),
]
DREAM_BOUNDARIES = [
    ((255, 128, 0), (15, 255, 255), True),
    ((255, 136, 0), (16, 255, 255), False),
    ((255, 0, 128), (165, 255, 255), True),
    ((255, 0, 136), (164, 255, 255), False),
    ((100, 20, 20), (0, 204, 100), True),
    ((99, 20, 20), (0, 203, 99), False),
    ((150, 150, 150), (0, 0, 150), True),  # S >= 0: grey (and white) is "red" to the paper's dream rule
]


@pytest.mark.parametrize("colour, hsv, accepted", TRUTH_BOUNDARIES)
def test_paper_truth_thresholds_at_their_boundaries(colour, hsv, accepted):
    assert hsv_of(colour) == hsv
    found = paper_finds(with_square(BLACK_512, 200, 300, 40, colour), dreamed=False)
    assert found == (pytest.approx((319.5, 219.5)) if accepted else None)


@pytest.mark.parametrize("colour, hsv, accepted", DREAM_BOUNDARIES)
def test_paper_dream_thresholds_at_their_boundaries(colour, hsv, accepted):
    assert hsv_of(colour) == hsv
    # A red speck (contour area 49 < 100) gives the colour mask a contour, so the fallback stays off.
    frame = with_square(with_square(BLACK_512, 200, 300, 40, colour), 20, 20, 8, (255, 0, 0))
    assert paper_finds(frame, dreamed=True) == (pytest.approx((319.5, 219.5)) if accepted else None)


def test_only_the_fallback_finds_a_dark_red_dream():
    dark_red = with_square(BLACK_512, 200, 300, 40, (99, 20, 20))  # V 99: the lenient rule misses it
    assert paper_finds(dark_red, dreamed=True) == pytest.approx((319.5, 219.5))
    # The fallback runs only when the colour mask has no contour at all, as in the paper.
    assert paper_finds(with_square(dark_red, 20, 20, 8, (255, 0, 0)), dreamed=True) is None


@pytest.mark.parametrize("colour, found", [((60, 49, 49), True), ((60, 50, 49), False), ((60, 50, 50), False)])
def test_fallback_needs_red_excess_above_10_after_the_uint8_cut(colour, found):
    # R - (G + B) / 2 = 11, 10.5 (cut to 10) and 10; V 60 < 100, so only the fallback can see them.
    result = paper_finds(with_square(BLACK_512, 200, 300, 40, colour), dreamed=True)
    assert (result is not None) == found


def test_paper_min_area_is_a_contour_area():
    # A k x k square's contour runs through its edge pixels' centres: area (k - 1)^2.
    assert paper_finds(with_square(BLACK_512, 100, 100, 11, RED), dreamed=False) is not None  # 100
    assert paper_finds(with_square(BLACK_512, 100, 100, 10, RED), dreamed=False) is None  # 81 (100 pixels)


def test_paper_centroid_and_area_return_to_the_frames_pixels():
    xy, area = paper_blobs(with_square(np.zeros((64, 64, 3), np.uint8), 20, 30, 6, RED))
    assert tuple(xy) == pytest.approx((32.5, 22.5), abs=0.01)
    assert area == pytest.approx(36, rel=0.15)  # 6 x 6 px, upscaled bilinear and thresholded


# --- Ours: symmetric, and a detection is a cube-sized blob ----------------------------------

# The light's direction and diffuse strength, and the camera headlight's ambient and diffuse.
LIGHTING = {
    "the world's own": None,  # first: the others change the model in place
    "from above": ((0, 0, -1), 0.5, 0.4, 0.0),  # sides at V ~ 87: strict keeps them, lenient not
    "dim": ((-0.1, 0.2, -1), 0.3, 0.12, 0.1),
    "low, from the side": ((1, 0.3, -0.5), 0.8, 0.2, 0.1),
}
OFFSET = np.array([5.5, -3.25])


@pytest.fixture(scope="module")
def lit_scenes():
    """True frames [T, 256, 256, 3] of two episodes under each lighting, cube well inside the frame."""
    scenes = {}
    with World(WorldConfig(resolution=256, frames_per_episode=8, episodes=2)) as world:
        model = world.model
        for name, lighting in LIGHTING.items():
            if lighting is not None:
                direction, diffuse, head_ambient, head_diffuse = lighting
                model.light_dir[0] = np.array(direction) / np.linalg.norm(direction)
                model.light_diffuse[0] = diffuse
                model.vis.headlight.ambient[:], model.vis.headlight.diffuse[:] = head_ambient, head_diffuse
            episodes = [world.episode(i) for i in range(2)]
            inside = np.concatenate([((e.pixel > 16) & (e.pixel < 240)).all(axis=1) for e in episodes])
            scenes[name] = np.concatenate([e.frames for e in episodes])[inside]
    return scenes


def shifted(frames, offset):
    """Frames moved by a sub-pixel offset (x, y), bilinear: a perfect dream of a moved cube."""
    move = np.float32([[1, 0, offset[0]], [0, 1, offset[1]]])
    return np.stack([cv2.warpAffine(f, move, f.shape[1::-1], borderMode=cv2.BORDER_REPLICATE) for f in frames])


def rms(errors):
    return float(np.sqrt(np.nanmean(errors**2)))


@pytest.mark.parametrize("lighting", LIGHTING)
def test_a_shifted_truth_measures_its_offset_under_our_tracker_not_the_papers(lit_scenes, lighting):
    truth = lit_scenes[lighting]
    dream = shifted(truth, OFFSET)
    area = expected_cube_area(truth)
    ours = np.linalg.norm(track_cube(dream, area) - track_cube(truth, area) - OFFSET, axis=-1)
    papers = np.linalg.norm(track_paper(dream, dreamed=True) - track_paper(truth) - OFFSET, axis=-1)
    print(
        f"{lighting}: {len(truth)} frames; error of the measured offset (px at 256): ours RMS {rms(ours):.2f}; "
        f"paper's mean {np.nanmean(papers):.2f} median {np.nanmedian(papers):.2f} RMS {rms(papers):.2f}; "
        f"paper's dream tracker vs its truth tracker on the truth: RMS {paper_asymmetry(truth).rmse:.2f}"
    )
    assert len(truth) >= 8 and not np.isnan(ours).any()
    assert rms(ours) < 0.5
    assert rms(papers) > max(1, 2 * rms(ours))
    assert paper_asymmetry(truth).rmse > 1  # the same bias, without the shift


FLOOR = ((209, 209, 204), (140, 145, 153))  # the world's checker tiles, rendered


def floor(size=256):
    y, x = np.mgrid[:size, :size]
    return np.where(((x // 32 + y // 32) % 2)[..., None].astype(bool), *[np.uint8(c) for c in FLOOR])


def red_haze(frame, strength, radius):
    """Red smeared over the arena: the frame blended towards red, most at its centre."""
    y, x = np.mgrid[: frame.shape[0], : frame.shape[1]]
    weight = strength * np.exp(-((x - 128.0) ** 2 + (y - 128.0) ** 2) / (2 * radius**2))[..., None]
    return ((1 - weight) * frame + weight * np.array(RED)).astype(np.uint8)


CUBE_AREA = 21 * 21  # px at 256: the world's cube is about this size


def test_red_smeared_over_a_cube_free_arena_is_a_detection_only_under_the_papers_rule():
    assert paper_finds(floor(), dreamed=True) is None
    for smear in (red_haze(floor(), 0.2, 60), red_haze(floor(), 0.9, 80)):  # faint and wide; strong
        assert paper_finds(smear, dreamed=True) is not None
        assert np.isnan(track_cube(smear, CUBE_AREA)).all()
    cube = with_square(floor(), 100, 100, 21)
    assert paper_finds(cube, dreamed=True) == pytest.approx((110, 110))
    assert tuple(track_cube(cube, CUBE_AREA)) == pytest.approx((110, 110))


def test_detection_shares_count_each_rule_and_the_papers_smears():
    frames = np.stack([floor(), red_haze(floor(), 0.2, 60), red_haze(floor(), 0.9, 80), with_square(floor(), 9, 9, 21)])
    shares = detection_shares(frames, CUBE_AREA)
    assert (shares.frames, shares.paper, shares.paper_not_cube_sized, shares.ours) == (4, 0.75, 0.5, 0.25)


OUR_BOUNDARIES = [
    ((255, 128, 0), (15, 255, 255), True),
    ((255, 136, 0), (16, 255, 255), False),
    ((255, 0, 128), (165, 255, 255), True),
    ((255, 0, 136), (164, 255, 255), False),
    ((181, 124, 124), (0, 80, 181), True),
    ((181, 125, 125), (0, 79, 181), False),  # a faint red haze is not red to us
    ((30, 5, 5), (0, 213, 30), True),  # a face in deep shadow still is
    ((29, 5, 5), (0, 211, 29), False),
    ((150, 150, 150), (0, 0, 150), False),  # nor is grey or white
]


@pytest.mark.parametrize("colour, hsv, accepted", OUR_BOUNDARIES)
def test_our_colour_rule_at_its_boundaries(colour, hsv, accepted):
    assert hsv_of(colour) == hsv
    found = track_cube(with_square(np.zeros((256, 256, 3), np.uint8), 100, 100, 21, colour), CUBE_AREA)
    np.testing.assert_allclose(found, (110, 110) if accepted else (np.nan, np.nan))


def test_our_detection_is_a_cube_sized_blob():
    sizes = [with_square(floor(), 100, 100, side) for side in (12, 13, 36, 37)]  # 144, 169, 1296, 1369 px
    found = ~np.isnan(track_cube(np.stack(sizes), CUBE_AREA)[:, 0])
    assert found.tolist() == [False, True, True, False]  # within 3x of 441 px: 147 .. 1323


def test_expected_cube_area_is_the_median_blob_of_the_true_frames():
    frames = np.stack([with_square(floor(), 50, 50, side) for side in (5, 6, 7)] + [floor()])
    assert expected_cube_area(frames) == 36


def test_every_tracker_returns_contiguous_arrays_that_safetensors_saves_faithfully(tmp_path):
    from safetensors.numpy import load_file, save_file

    frames = np.stack([with_square(np.zeros((64, 64, 3), np.uint8), 10 + 5 * t, 20, 8) for t in range(4)])
    tracks = track_all(frames, 64, decoded=True)
    save_file(tracks, tmp_path / "tracks.safetensors")
    loaded = load_file(tmp_path / "tracks.safetensors")
    for name, xy in tracks.items():
        assert xy.flags["C_CONTIGUOUS"] and np.array_equal(loaded[name], xy, equal_nan=True)
