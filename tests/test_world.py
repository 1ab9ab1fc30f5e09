import numpy as np
import pytest

from lucid_dreamer.method.errors import UserError
from lucid_dreamer.method.track import expected_cube_area, track_cube, tracking_error
from lucid_dreamer.method.world import World, WorldConfig, simulate

TINY = WorldConfig(resolution=64, frames_per_episode=24, episodes=3, seed=7)


@pytest.fixture(scope="module")
def episodes():
    return simulate(TINY, progress=False)


def test_shapes_and_types(episodes):
    e, t, r = TINY.episodes, TINY.frames_per_episode, TINY.resolution
    assert episodes["frames"].shape == (e, t, r, r, 3) and episodes["frames"].dtype == np.uint8
    assert episodes["position"].shape == (e, t, 3)
    assert episodes["orientation"].shape == (e, t, 4)
    np.testing.assert_allclose(np.linalg.norm(episodes["orientation"], axis=-1), 1, atol=1e-6)
    assert episodes["pixel"].shape == (e, t, 2)
    assert episodes["in_view"].dtype == bool and episodes["in_view"].all()


def test_same_seed_and_episode_give_identical_frames(episodes):
    with World(TINY) as world:
        again = world.episode(1)
    assert np.array_equal(again.frames, episodes["frames"][1])
    assert np.array_equal(again.position, episodes["position"][1])


def test_episodes_and_seeds_differ(episodes):
    assert not np.array_equal(episodes["frames"][0], episodes["frames"][1])
    with World(WorldConfig(**{**TINY.__dict__, "seed": 8})) as world:
        assert not np.array_equal(world.episode(0).position, episodes["position"][0])


def test_cube_keeps_moving_and_stays_in_arena(episodes):
    step = np.linalg.norm(np.diff(episodes["position"][..., :2], axis=1), axis=-1)
    assert (step > 1e-3).mean() > 0.8  # moving in most frames
    inner = TINY.arena_half_size
    assert np.abs(episodes["position"][..., :2]).max() < inner
    assert episodes["position"][..., 2].min() > 0


def test_projection_matches_what_the_tracker_sees(episodes):
    found = track_cube(episodes["frames"], expected_cube_area(episodes["frames"]))
    err = tracking_error(found, episodes["pixel"])
    assert err.detection_rate == 1.0
    assert err.rmse < 1.0  # pixels at 64 px


def test_bad_resolution_is_a_user_error():
    with pytest.raises(UserError, match="multiple of 8"):
        World(WorldConfig(resolution=60))


def test_a_cube_free_frame_shows_no_red_and_the_arena_is_unchanged(episodes):
    from lucid_dreamer.method.track import cube_blobs

    with World(TINY) as world:
        empty = world.cube_free_frame()
    assert empty.shape == episodes["frames"].shape[2:]
    assert np.isnan(cube_blobs(empty)[1])  # no red blob at all
    # away from the cube, the frame is the episode's first frame
    x, y = episodes["pixel"][0, 0].round().astype(int)
    far = np.ones(empty.shape[:2], bool)
    far[max(0, y - 12) : y + 12, max(0, x - 12) : x + 12] = False
    assert np.abs(empty.astype(int) - episodes["frames"][0, 0].astype(int))[far].mean() < 2


def test_the_camera_projects_as_the_renderer_does_and_lands_on_the_tracked_cube(episodes):
    from lucid_dreamer.method.world import Camera

    camera = Camera.of(TINY)
    np.testing.assert_allclose(camera.project(episodes["position"]), episodes["pixel"], atol=1e-6)
    found = track_cube(episodes["frames"], expected_cube_area(episodes["frames"]))
    distance = np.linalg.norm(camera.project(episodes["position"]) - found, axis=-1)
    assert np.sqrt(np.nanmean(distance**2)) < 1.0 and np.nanmax(distance) < 2.0  # px at 64 px


def test_unproject_inverts_project_on_the_cubes_plane():
    from lucid_dreamer.method.world import Camera

    cfg = WorldConfig()
    camera = Camera.of(cfg)
    xy = np.random.default_rng(0).uniform(-cfg.arena_half_size, cfg.arena_half_size, (50, 2))
    np.testing.assert_allclose(camera.unproject(camera.project(xy)), xy, atol=1e-9)
    pixels = np.random.default_rng(1).uniform(0, cfg.resolution - 1, (50, 2))
    np.testing.assert_allclose(camera.project(camera.unproject(pixels)), pixels, atol=1e-9)
    # tilted, not top-down: the arena's far side looks narrower than its near side
    a = cfg.arena_half_size
    near, far = camera.project(np.array([[-a, -a], [a, -a]])), camera.project(np.array([[-a, a], [a, a]]))
    assert far[1, 0] - far[0, 0] < near[1, 0] - near[0, 0]
