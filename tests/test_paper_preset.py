"""A dry run of the `paper` preset on the CPU: every stage at the paper's shapes (512 px frames,
16x64x64 latents, the paper's model sizes), with a handful of episodes and frames and one or two
optimizer steps, so that the 512-px path cannot first fail on the GPU that runs it (slow)."""

import json
from dataclasses import replace

import pytest

from lucid_dreamer.method.references import REFERENCES
from lucid_dreamer.pipeline import grid, grid_runner, grid_summaries, paths, provenance, stages
from lucid_dreamer.pipeline.presets import PRESETS, context_sweep_experiments

pytestmark = pytest.mark.slow
PAPER = PRESETS["paper"]


def tiny(preset):
    """The preset at its own resolution and sizes, with 3 episodes (train, validation, test) of 9 frames
    (4 context and 4 rollout frames to train on, and a ninth for the one-step sweep) and 1 step each."""
    short = {"steps": 1, "batch_size": 2, "eval_every": 1, "val_windows": 2}
    return replace(
        preset,
        world=replace(preset.world, episodes=3, frames_per_episode=9),
        tokenizer=replace(preset.tokenizer, steps=1, batch_size=1),
        data=replace(preset.data, val_episodes=1, test_episodes=1),
        experiments=tuple(replace(e, train=replace(e.train, **short)) for e in preset.experiments[:1]),
        sweep_steps=1,
        grid=replace(preset.grid, steps=1, seeds=(0,)),
    )


@pytest.fixture
def dry_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LUCID_DREAMER_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)  # grid records go under tmp_path/figures
    # a committed preset trusts only records from a commit's package: the checkout's own state (a
    # developer's uncommitted change) must not decide whether the dry run's records count
    monkeypatch.setattr(provenance, "_commit", lambda: "0123abc")
    return tiny(PAPER)


def test_every_stage_runs_at_the_papers_shapes(dry_run):
    P = dry_run
    assert (P.world.resolution, P.grid.transformer, P.grid.unet_width) == (512, (512, 8, 8), 128)
    latents, _ = stages.load_latents(P, progress=False)
    assert latents.shape == (3, 9, 16, 64, 64)
    exp = P.experiments[0]
    dreamed = json.loads((stages.dream_stage(P, exp, progress=False) / "metrics.json").read_text())
    assert dreamed["resolution"] == 512 and dreamed["pooled"]["total_frames"] <= 9 - exp.model.context_frames
    references = json.loads((stages.references_stage(P, 4, progress=False) / "metrics.json").read_text())
    assert set(references) == set(REFERENCES)
    one_step = context_sweep_experiments(P)[0]
    assert "sharpness_ratio" in json.loads(
        (stages.one_step_stage(P, one_step, progress=False) / "metrics.json").read_text()
    )
    # the grid's own kinds of model and loss at the paper's sizes: U-Net with the gradient difference
    # loss, the Gaussian head (sampled when dreaming), the transformer
    chosen = ("sharp_shooter", "probabilistic_plus", "hero")
    runs = [r for r in grid.grid_runs(P) if r.group == "rivals" and r.variant in chosen]
    for run in runs:
        grid_runner.run_one(P, run)
    records = grid_runner.load_records(P)
    assert sorted(r["id"] for r in records) == sorted(r.id for r in runs)
    assert all(r["metrics"]["resolution"] == 512 for r in records)
    assert set(grid_summaries.summarize(records)) == {(r.group, r.variant) for r in runs}
