"""Whether the grid's dreams blur: measured from a run's cached dreams, and only from its record's."""

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from lucid_dreamer.method.analyze import mean_interval
from lucid_dreamer.method.errors import UserError
from lucid_dreamer.method.track import TRACKER_VERSION
from lucid_dreamer.pipeline import grid, grid_runner, grid_sharpness, paths, stages
from lucid_dreamer.pipeline.presets import PRESETS

SMOKE = PRESETS["smoke"]
CPU = PRESETS["cpu"]


def rollout_unet(preset, seed=0):
    return next(r for r in grid.grid_runs(preset) if r.id == f"rivals__rollout_unet__seed{seed}")


def write(preset, run, dream, reference, configs=None, commit="abc1234"):
    """A sharpness file as the grid writes it (a clean commit, today's tracker unless told)."""
    path = paths.sharpness_path(preset, run.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    metrics = {"dream": dream, "reference": reference, "tracker_version": TRACKER_VERSION}
    configs = configs or grid_runner.run_configs(preset, run)
    path.write_text(json.dumps({"metrics": metrics, "configs": configs, "provenance": {"commit": commit}}))


def test_a_rows_sharpness_is_the_seeds_mean_ratio_over_the_episodes_where_the_cube_is(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    runs = [rollout_unet(CPU, seed) for seed in (0, 1, 2)]
    records = [
        {"id": r.id, "group": r.group, "variant": r.variant, "configs": grid_runner.run_configs(CPU, r)} for r in runs
    ]
    write(CPU, runs[0], [1.0, 2.0, None], [2.0, 2.0, 5.0])  # the third episode never shows the cube
    write(CPU, runs[1], [3.0, 1.0, 2.0], [4.0, 4.0, 4.0])
    write(CPU, runs[2], [2.0, 2.0, 2.0], [2.0, 2.0, 2.0])
    cell = grid_sharpness.sharpness_cells(CPU, records)[("rivals", "rollout_unet")]
    assert cell["values"] == pytest.approx([0.75, 0.5, 1.0])
    assert cell["mean"] == pytest.approx(0.75) and cell["low"] < 0.75 < cell["high"]
    # the interval resamples each seed's episodes with the same draws for dream and reconstruction
    pairs = [np.array([[1.0, 2.0], [2.0, 2.0]]), np.array([[3.0, 4.0], [1.0, 4.0], [2.0, 4.0]]), np.full((3, 2), 2.0)]
    assert (cell["low"], cell["high"]) == pytest.approx(mean_interval(pairs, lambda s: s[..., 0] / s[..., 1])[1:])
    # a row with a seed unmeasured, measured for other configs, from a changed package or with no
    # episode showing the cube is not measured
    for broken in (
        {"configs": grid_runner.run_configs(CPU, rollout_unet(CPU, 1))},
        {"commit": "abc1234+dirty"},
        {"dream": [None, None], "reference": [2.0, 2.0]},
    ):
        write(CPU, runs[2], **{"dream": [2.0], "reference": [2.0], **broken})
        assert grid_sharpness.sharpness_cells(CPU, records) == {}, broken
    paths.sharpness_path(CPU, runs[2].id).unlink()
    assert grid_sharpness.sharpness_cells(CPU, records) == {}


def test_a_sharpness_run_that_matches_nothing_is_a_one_line_error():
    with pytest.raises(UserError, match="no run of the Rollout U-Net or ResNet-Rollout matches 'unet_singel'"):
        grid_sharpness.write_dream_sharpness(CPU, only="unet_singel", progress=False)


@pytest.mark.slow
def test_the_stage_measures_blur_and_the_grid_writes_only_its_records_dreams(artifacts, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    run = rollout_unet(SMOKE)
    grid_runner.run_one(SMOKE, run)
    assert grid_sharpness.write_dream_sharpness(SMOKE, only="rollout_unet__seed0", progress=False) == [run.id]
    measured = json.loads(paths.sharpness_path(SMOKE, run.id).read_text())["metrics"]
    assert len(measured["dream"]) == len(measured["reference"]) == SMOKE.data.test_episodes
    assert grid_sharpness.write_dream_sharpness(SMOKE, progress=False) == []  # written once

    # a dream that is the tokenizer's reconstruction is exactly as sharp; a blurred one less so
    def frames_of(blur):
        def load(preset, experiment, progress=True):
            latents, _ = stages.load_latents(preset, progress=False)
            test = stages.split_episodes(len(latents), preset.data)["test"]
            k = experiment.model.context_frames
            decoded = stages.decode_episodes(stages.load_tokenizer(preset, False), latents[test, k:])
            return ndimage.uniform_filter(decoded, size=(1, 1, blur, blur, 1)) if blur else decoded

        return load

    for seed, blur in ((11, 0), (12, 3)):  # seeds of their own: stages of their own, nothing trained
        monkeypatch.setattr(stages, "load_dream_frames", frames_of(blur))
        exp = replace(run.experiment, train=replace(run.experiment.train, seed=seed))
        sharp = json.loads((stages.dream_sharpness_stage(SMOKE, exp, progress=False) / "metrics.json").read_text())
        dream, reference = np.array(sharp["dream"]), np.array(sharp["reference"])
        if blur:
            assert (dream < reference).all()
        else:
            np.testing.assert_array_equal(dream, reference)

    # the dreams must be the record's model's: a record whose training differs stops the write
    path = paths.grid_records_dir(SMOKE) / f"{run.id}.json"
    record = json.loads(path.read_text())
    record["train"]["best_val_loss"] *= 1.02  # 1% apart would pass: CPU training is not bit-for-bit repeatable
    path.write_text(json.dumps(record))
    paths.sharpness_path(SMOKE, run.id).unlink()
    with pytest.raises(UserError, match="trained again is another model"):
        grid_sharpness.write_dream_sharpness(SMOKE, progress=False)
    assert not paths.sharpness_path(SMOKE, run.id).exists()
