"""A grid record keeps what a new metric needs: the centroids of dream and truth by both trackers."""

import json

import numpy as np
import pytest

from lucid_dreamer.method.analyze import score
from lucid_dreamer.method.references import REFERENCES
from lucid_dreamer.method.track import TRACKER_VERSION
from lucid_dreamer.pipeline import grid, grid_runner, grid_summaries, paths
from lucid_dreamer.pipeline.presets import PRESETS

SMOKE = PRESETS["smoke"]


def array(nested):
    return np.array([[[np.nan if v is None else v for v in p] for p in frames] for frames in nested], float)


@pytest.mark.slow
def test_a_records_centroids_give_back_its_metrics_and_its_world(artifacts, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the smoke records go under ./artifacts/smoke/figures
    (tmp_path / "_toc.yml").write_text("")
    # a map world of its own, encoded by the smoke world's tokenizer
    run = next(r for r in grid.grid_runs(SMOKE) if r.group == "map" and r.experiment.world is not None)
    record = grid_runner.run_one(SMOKE, run)
    saved = json.loads(paths.tracks_path(SMOKE, run.id).read_text())
    truth = json.loads(paths.tracks_path(SMOKE, saved["truth"]).read_text())
    again = score(
        {k: array(saved[k]) for k in ("cube", "paper")},
        {k: array(truth[k]) for k in ("cube", "paper")},
        record["metrics"]["resolution"],
    )
    for tracker in (again, again["paper"]):
        mine = record["metrics"] if tracker is again else record["metrics"]["paper"]
        assert tracker["pooled"]["detection_rate"] == mine["pooled"]["detection_rate"]
        assert tracker["pooled"]["strict_rmse"] == pytest.approx(mine["pooled"]["strict_rmse"], abs=0.1)
    # the record names its world's conditions and references, and counts as done
    assert record["conditions"]["cube_cells"] > 0 and set(record["references"]) == set(REFERENCES)
    # the reference points' tracks go beside the world's true tracks, on the same frames
    assert grid_runner.write_reference_tracks(SMOKE, progress=False) == [grid_runner.references_name(saved["truth"])]
    refs = grid_summaries.reference_tracks(SMOKE, saved["truth"])
    assert set(refs) == set(REFERENCES) and all(xy.shape == array(truth["cube"]).shape for xy in refs.values())
    assert record["metrics"]["tracker_version"] == TRACKER_VERSION and grid_runner.is_done(SMOKE, run)
    assert record["configs"]["tokenizer_world"] == record["configs"]["world"] | {
        "cube_half_size": SMOKE.world.cube_half_size,
        "max_speed": SMOKE.world.max_speed,
    }
