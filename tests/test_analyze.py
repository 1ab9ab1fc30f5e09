import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lucid_dreamer.method.analyze import (
    MISS_CHARGES,
    charged_episode_metrics,
    contrast_interval,
    detection_toggles,
    episode_sums,
    fill_misses,
    horizon_report,
    mean_interval,
    pool_sums,
    scale_to,
    trajectory_metrics,
)

NAN = np.nan


def test_metrics_on_a_hand_made_trajectory_with_a_miss():
    truth = np.array([[10, 10], [20, 10], [30, 10], [40, 10], [NAN, NAN]], float)
    dream = np.array([[13, 14], [20, 10], [NAN, NAN], [40, 22], [5, 5]], float)
    m = trajectory_metrics(dream, truth, resolution=100)
    # errors on frames both detect: 5, 0, 12; frame 3 missed; frame 5 has no truth
    assert (m["valid_frames"], m["total_frames"]) == (3, 4)
    assert m["detection_rate"] == pytest.approx(0.75)
    assert m["rmse"] == pytest.approx(np.sqrt((25 + 0 + 144) / 3))
    assert m["mean_error"] == pytest.approx(17 / 3)
    assert m["max_error"] == pytest.approx(12)
    diagonal2 = 2 * 100**2
    assert m["strict_rmse"] == pytest.approx(np.sqrt((25 + 0 + 144 + diagonal2) / 4))


def test_a_dream_that_loses_the_cube_has_no_rmse_but_the_worst_strict_rmse():
    truth = np.array([[10, 10], [20, 20]], float)
    m = trajectory_metrics(np.full((2, 2), NAN), truth, resolution=64)
    assert np.isnan(m["rmse"]) and m["detection_rate"] == 0
    assert m["strict_rmse"] == pytest.approx(64 * np.sqrt(2))


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, (12, 2), elements=st.floats(0, 127)),
    arrays(np.float64, (12, 2), elements=st.floats(0, 127)),
    arrays(np.bool_, 12),
)
def test_strict_rmse_is_never_below_the_papers(dream, truth, missed):
    dream[missed] = NAN
    m = trajectory_metrics(dream, truth, 128)
    if m["valid_frames"]:
        assert m["strict_rmse"] >= m["rmse"] - 1e-9
        assert m["mean_error"] <= m["rmse"] + 1e-9 <= m["max_error"] + 2e-9
    assert m["total_frames"] == 12 and m["valid_frames"] == int((~missed).sum())


def test_horizon_report_windows_and_curves():
    truth = np.zeros((2, 20, 2)) + 50
    dream = truth.copy()
    dream[:, 4:, 0] += 3  # exact for 4 frames, 3 px off afterwards
    r = horizon_report(dream, truth, 100)
    assert r["within"]["1"]["rmse"] == 0 and r["within"]["4"]["rmse"] == 0
    assert r["within"]["16"]["rmse"] == pytest.approx(3 * np.sqrt(12 / 16))
    assert r["by_horizon"]["rmse"][:5] == [0, 0, 0, 0, 3]
    assert len(r["per_episode"]) == 2
    big = scale_to(r, 400)
    assert big["pooled"]["rmse"] == pytest.approx(4 * r["pooled"]["rmse"])
    assert big["by_horizon"]["rmse"][4] == pytest.approx(12)
    assert big["pooled"]["detection_rate"] == r["pooled"]["detection_rate"]
    assert big["per_episode"][0]["max_error"] == pytest.approx(12)


def test_sharpness_drops_with_blur_and_looks_around_the_cube():
    from scipy import ndimage

    from lucid_dreamer.method.analyze import sharpness

    frame = np.zeros((64, 64, 3), np.uint8)
    frame[::8] = 200  # a sharp background pattern far from the cube
    frame[30:38, 30:38] = (220, 20, 20)
    blurred = frame.copy()
    blurred[20:48, 20:48] = ndimage.uniform_filter(frame[20:48, 20:48].astype(float), size=(5, 5, 1)).astype(np.uint8)
    centre = np.array([[33.5, 33.5]])
    sharp_c, blur_c = sharpness(frame[None], centre, 8)[0], sharpness(blurred[None], centre, 8)[0]
    assert blur_c < 0.5 * sharp_c
    assert np.isnan(sharpness(frame[None], np.array([[np.nan, np.nan]]))[0])
    assert sharpness(frame[None])[0] > 0


def test_jitter_is_zero_at_constant_velocity_and_counts_only_detected_triples():
    from lucid_dreamer.method.analyze import jitter

    line = np.stack([np.arange(6.0), 2 * np.arange(6.0)], axis=-1)
    assert jitter(line) == 0.0
    zigzag = np.array([[0.0, 0], [1, 0], [0, 0], [1, 0], [0, 0], [1, 0]])  # acceleration 2 every frame
    assert jitter(zigzag) == pytest.approx(2.0)
    zigzag[4] = [50, 50]  # a jump
    zigzag[1] = np.nan  # triples through frame 1 do not count; those through the jump do
    # frames 2, 3, 4: (50, 50) - 2 (1, 0) + (0, 0); frames 3, 4, 5: (1, 0) - 2 (50, 50) + (1, 0)
    expected = (np.linalg.norm([48, 50]) + np.linalg.norm([-98, -100])) / 2
    assert jitter(zigzag) == pytest.approx(expected)
    assert np.isnan(jitter(np.full((4, 2), np.nan)))


def random_tracks(rng, episodes, frames, resolution, miss):
    """Truth and dream centroids [E, T, 2] inside the frame; each dreamed frame lost with `miss`."""
    truth = rng.uniform(0, resolution - 1, (episodes, frames, 2))
    dream = rng.uniform(0, resolution - 1, (episodes, frames, 2))
    dream[rng.random((episodes, frames)) < miss] = NAN
    truth[rng.random((episodes, frames)) < 0.1] = NAN
    return dream, truth


def seeds_of(per_seed_reports, scale=1.0):
    return [episode_sums(r["per_episode"], scale) for r in per_seed_reports]


def test_episode_sums_pool_to_the_pooled_metrics():
    dream, truth = random_tracks(np.random.default_rng(0), 5, 20, 128, miss=0.3)
    report = horizon_report(dream, truth, 128)
    pooled = pool_sums(episode_sums(report["per_episode"], scale=4.0).sum(axis=0))
    for name in ("rmse", "strict_rmse"):
        assert pooled[name] == pytest.approx(4 * report["pooled"][name])
    assert pooled["detection_rate"] == pytest.approx(report["pooled"]["detection_rate"])
    lost = episode_sums([trajectory_metrics(np.full((3, 2), NAN), truth[0, :3], 128)])
    assert np.isnan(pool_sums(lost[0])["rmse"]) and pool_sums(lost[0])["detection_rate"] == 0


def diagonal(resolution):
    """The frame's diagonal, the largest strict RMSE, plus float rounding: pooling squares the
    per-episode RMSEs, sums and roots them again, which can land a last digit above it."""
    return resolution * np.sqrt(2) * (1 + 1e-14)


def strict_and_detection(seeds):
    return [mean_interval(seeds, lambda sums, k=k: pool_sums(sums)[k]) for k in ("strict_rmse", "detection_rate")]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 6), st.sampled_from([0.0, 0.02, 0.5, 0.98, 1.0]))
def test_an_interval_never_leaves_the_metrics_range(seed, seeds, episodes, miss):
    rng = np.random.default_rng(seed)
    reports = [horizon_report(*random_tracks(rng, episodes, 8, 64, miss), 64) for _ in range(seeds)]
    (_, *strict), (_, *detection) = strict_and_detection(seeds_of(reports))
    if not np.isnan(strict[0]):
        assert 0 <= strict[0] <= strict[1] <= diagonal(64)
        assert 0 <= detection[0] <= detection[1] <= 1


def test_intervals_at_the_edges_of_the_range():
    truth = np.tile(np.array([[10.0, 10.0], [20.0, 20.0]]), (3, 1, 1))
    lost = [horizon_report(np.full_like(truth, NAN), truth, 512)] * 3  # every frame lost: the diagonal
    exact = [horizon_report(truth, truth, 512)] * 3  # every frame exact: 0 px
    (strict, low, high), (detection, *rate) = strict_and_detection(seeds_of(lost))
    assert strict == low == high == pytest.approx(512 * np.sqrt(2)) and high <= diagonal(512)
    assert detection == 0 and rate == [0, 0]
    (strict, low, high), (detection, *rate) = strict_and_detection(seeds_of(exact))
    assert strict == low == high == 0 and rate == [1, 1]


def test_intervals_shrink_with_more_seeds_and_episodes_and_are_reproducible():
    rng = np.random.default_rng(1)
    reports = [horizon_report(*random_tracks(rng, 4, 16, 128, miss=0.4), 128) for _ in range(3)]

    def width(seeds):
        _, low, high = strict_and_detection(seeds)[0]
        return high - low

    seeds = seeds_of(reports)
    assert strict_and_detection(seeds) == strict_and_detection(seeds)  # the resampling has a fixed seed
    assert width([np.tile(s, (4, 1)) for s in seeds]) < 0.7 * width(seeds)  # 4x the episodes
    assert width(seeds * 4) < 0.7 * width(seeds)  # 4x the seeds


def test_an_interval_of_per_seed_values_lies_within_them():
    mean, low, high = mean_interval([[1.0], [2.0], [6.0]])
    assert mean == 3.0 and 1.0 <= low < mean < high <= 6.0
    assert np.isnan(mean_interval([[5.0]])[1])  # one value: nothing to resample


def test_a_difference_between_rows_scored_on_the_same_episodes_is_paired():
    """Episodes of very different difficulty, and a model that is 2 px better on every one of them: the
    paired interval of the difference lies wholly below 0; resampled as if the rows had been scored on
    different episodes, the episodes' spread swamps the difference."""
    rng = np.random.default_rng(1)
    difficulty = rng.uniform(10, 200, 16)
    seeds = 3

    def row(offset):  # per-seed [episodes, 1] errors, each seed 0.5 px off the others
        return [(difficulty + offset + 0.5 * s)[:, None] for s in range(seeds)]

    first = lambda sums: sums[..., 0] / 16  # noqa: E731 (the mean error over the episodes)
    diff = lambda m: m[0] - m[1]  # noqa: E731
    mean, low, high = contrast_interval([row(0), row(2)], [first, first], ["test", "test"], diff)
    assert mean == pytest.approx(-2) and low < mean < high < 0
    unpaired = contrast_interval([row(0), row(2)], [first, first], ["a", "b"], diff)
    assert unpaired[1] < 0 < unpaired[2]
    with pytest.raises(ValueError, match="different numbers of episodes"):
        contrast_interval([row(0), [r[:8] for r in row(2)]], [first, first], ["test", "test"], diff)


def test_a_lost_cube_is_charged_as_the_miss_charge_says():
    dream = np.array([[[NAN, NAN], [10.0, 20.0], [NAN, NAN], [30.0, 40.0]]])
    centre = (64 - 1) / 2
    assert np.isnan(fill_misses(dream, "diagonal", 64)).sum() == 4  # left for strict RMSE to charge the diagonal
    last = fill_misses(dream, "last_seen", 64)[0]
    assert last[0].tolist() == [centre, centre] and last[2].tolist() == [10.0, 20.0]
    assert fill_misses(dream, "centre", 64)[0, 2].tolist() == [centre, centre]
    truth = np.array([[[10.0, 20.0]] * 4])
    by = {c: charged_episode_metrics(dream, truth, 64, c)[0] for c in MISS_CHARGES}
    assert by["diagonal"]["strict_rmse"] > by["centre"]["strict_rmse"] > by["last_seen"]["strict_rmse"]
    assert {m["detection_rate"] for m in by.values()} == {0.5} and {m["rmse"] for m in by.values()} == {
        by["diagonal"]["rmse"]
    }  # only the charge of a lost cube changes
    with pytest.raises(ValueError, match="unknown miss charge"):
        fill_misses(dream, "nearest", 64)


def test_flicker_counts_each_change_between_found_and_lost():
    dream = np.array([[[1.0, 1.0], [NAN, NAN], [1.0, 1.0], [1.0, 1.0]], [[1.0, 1.0]] * 4])
    assert detection_toggles(dream).tolist() == [[2.0, 3.0], [0.0, 3.0]]


def test_intervals_cover_95_percent_by_default():
    # a mean of n normal values: its 95% interval is about +-1.96 standard errors (90% would be +-1.64)
    values = np.random.default_rng(1).normal(size=400)
    standard_error = values.std() / np.sqrt(len(values))
    for low, high in (
        mean_interval([[v] for v in values])[1:],
        contrast_interval([[[v] for v in values]], [lambda sums: sums[..., 0]], [None], lambda m: m[0])[1:],
    ):
        assert 1.85 < (high - low) / 2 / standard_error < 2.07


def test_reflect_folds_a_free_path_between_the_walls():
    from lucid_dreamer.method.references import reflect

    np.testing.assert_allclose(reflect(np.array([0.0, 0.5, 1.2, 2.5, -1.3, 4.0]), 1.0), [0, 0.5, 0.8, -0.5, -0.7, 0])


def test_bouncing_velocity_reflects_off_the_arenas_wall():
    from lucid_dreamer.method.references import bouncing_velocity
    from lucid_dreamer.method.world import Camera, WorldConfig

    cfg = WorldConfig()
    camera, bound = Camera.of(cfg), cfg.arena_half_size - cfg.cube_half_size
    start = np.array([[bound - 0.15, 0.2], [bound - 0.05, 0.2]])  # 0.1 m a frame towards the +x wall
    path = bouncing_velocity(camera.project(start)[None], 3, camera, bound)
    expected = np.array([[bound - 0.05, 0.2], [bound - 0.15, 0.2], [bound - 0.25, 0.2]])  # back off the wall
    np.testing.assert_allclose(camera.unproject(path[0]), expected, atol=1e-9)
    # one context frame has no velocity: the cube stays put
    still = bouncing_velocity(camera.project(start[-1:])[None], 2, camera, bound)
    np.testing.assert_allclose(still[0], camera.project(start[[-1, -1]]), atol=1e-9)


def test_the_position_prior_averages_the_training_episodes_only():
    from lucid_dreamer.method.references import position_prior

    tracks = np.zeros((6, 10, 2))
    tracks[[0, 1, 2]] = np.arange(10.0)[None, :, None]  # training: position = frame index
    tracks[[3, 4]] = 100.0  # test episodes sit elsewhere
    tracks[5] = 50.0  # validation
    tracks[1, 5] = NAN  # a frame the tracker missed is left out of the mean
    splits = {"train": np.array([0, 1, 2]), "val": np.array([5]), "test": np.array([3, 4])}
    prior = position_prior(tracks, splits, first=4, horizon=3)
    assert prior.shape == (2, 3, 2)
    np.testing.assert_allclose(prior[1], [[4, 4], [5, 5], [6, 6]])


def test_horizon_sums_are_the_episode_sums_within_each_horizon():
    from lucid_dreamer.method.analyze import horizon_sums

    dream, truth = random_tracks(np.random.default_rng(3), 4, 12, 128, miss=0.3)
    sums = horizon_sums(dream, truth, 128, scale=4.0)
    for h in (1, 5, 12):
        expected = episode_sums(charged_episode_metrics(dream[:, :h], truth[:, :h], 128, "diagonal"), 4.0)
        np.testing.assert_allclose(sums[:, h - 1], expected, rtol=1e-9)


def test_the_ratio_to_the_best_trivial_predictor_is_paired_over_episodes():
    from lucid_dreamer.method.analyze import beats_until, horizon_ratios, horizon_sums

    rng = np.random.default_rng(0)
    episodes, frames = 16, 5
    truth = np.full((episodes, frames, 2), 60.0)
    hardness = rng.uniform(2, 40, episodes)[:, None, None]  # some episodes are much harder for everyone
    offset = np.array([1.0, 0.0])
    trivial = {
        "a": horizon_sums(truth + hardness * offset, truth, 128),
        "b": horizon_sums(truth + 1.5 * hardness * offset, truth, 128),
    }
    seeds = [horizon_sums(truth + hardness * f * offset, truth, 128) for f in (0.88, 0.9, 0.92)]
    r = horizon_ratios(seeds, trivial)
    np.testing.assert_allclose(r["ratio"], 0.9, rtol=1e-9)
    assert list(r["best"]) == ["a"] * frames
    # paired: the episodes' spread cancels, so the interval is the seeds' spread, not the episodes'
    assert (r["high"] < 0.95).all() and (r["low"] > 0.85).all()
    assert beats_until(r) == frames
    worse = horizon_ratios([s * np.array([1.0, 1.5, 1, 1]) for s in seeds], trivial)  # squared errors x1.5
    assert beats_until(worse) == 0
