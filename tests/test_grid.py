import json
from dataclasses import replace

import numpy as np
import pytest

from lucid_dreamer.method.errors import UserError
from lucid_dreamer.method.track import TRACKER_VERSION
from lucid_dreamer.pipeline import grid, grid_runner, grid_summaries, paths
from lucid_dreamer.pipeline.cache import config_hash
from lucid_dreamer.pipeline.presets import PRESETS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_row_has_every_seed_and_ids_are_unique(name):
    preset = PRESETS[name]
    runs = grid.grid_runs(preset)
    assert len({r.id for r in runs}) == len(runs)
    rows: dict = {}
    for r in runs:
        rows.setdefault((r.group, r.variant, r.claim_steps), []).append(r.seed)
        budget = {"one_trajectory": preset.grid.one_trajectory_steps}.get(r.group, preset.grid.steps)
        if r.group == "curve":
            budget = int(r.variant.rsplit("_s", 1)[1])
        if r.claim_steps is not None:
            budget = r.claim_steps
        assert r.experiment.train.steps == budget and r.experiment.train.seed == r.seed
    longest = f"_s{max(preset.grid.curve_steps)}"
    for (group, variant, _), seeds in rows.items():
        # the learning curve's longest budget trains the recipe with every seed, the others with one
        one = group == "curve" and variant.endswith(longest) and not variant.startswith("recipe")
        assert sorted(seeds) == ([preset.grid.seeds[0]] if one else sorted(preset.grid.seeds)), (group, variant)
    assert len(preset.grid.seeds) >= (5 if name == "paper" else 3 if name == "cpu" else 2)


def test_the_grid_holds_the_rivals_and_ablations_the_issue_asks_for():
    variants = {(r.group, r.variant) for r in grid.grid_runs(PRESETS["cpu"])}
    for row in [
        ("rivals", v)
        for v in (
            "resnet_rollout",
            "baseline_resnet",
            "unet_single",
            "rollout_unet",
            "sharp_shooter",
            "probabilistic_plus",
            "hero",
        )
    ]:
        assert row in variants
    assert {v for g, v in variants if g == "context"} == {"k1", "k2", "k4", "k8"}
    assert {v for g, v in variants if g == "rollout"} == {"r1", "r2", "r4", "r8"}
    assert {g for g, _ in variants} >= {
        "teacher_forcing",
        "motion",
        "width_resnet",
        "width_unet",
        "protocol",
        "trajectories",
    }


def test_the_map_covers_three_cube_sizes_two_speeds_two_trainings_and_the_papers_protocol():
    cpu = PRESETS["cpu"]
    runs = [r for r in grid.grid_runs(cpu) if r.group in ("map", "one_trajectory") and r.claim_steps is None]
    worlds = {(r.experiment.world or cpu.world).cube_half_size for r in runs if r.group == "map"}
    speeds = {(r.experiment.world or cpu.world).max_speed for r in runs if r.group == "map"}
    assert len(worlds) == 3 and len(speeds) == 2
    modes = {r.experiment.train.rollout_steps for r in runs if r.group == "map"}
    assert modes == {1, 4} and len([r for r in runs if r.group == "map"]) == 6 * 2 * 3
    paper = [r.experiment for r in runs if r.variant == "paper"]
    assert all(e.data.protocol == "paper" and e.world.frames_per_episode == 101 for e in paper)
    assert all(e.train.steps == 1500 and e.train.lr == 1e-4 for e in paper)
    # the main world's condition is the rivals' world: its recipe runs are the rivals' ResNet-Rollout
    # (at either budget)
    every = grid.grid_runs(cpu)
    rival = {(r.seed, r.claim_steps): r.experiment for r in every if r.id.startswith("rivals__resnet_rollout")}
    main = [r for r in every if r.variant == "cube5_speed0.5_recipe"]
    assert len(main) == 6
    assert all(r.experiment.world is None and r.experiment.train == rival[r.seed, r.claim_steps].train for r in main)


def test_shared_rows_share_their_cached_runs():
    runs = {r.id: r.experiment for r in grid.grid_runs(PRESETS["cpu"])}

    def key(run_id):
        e = runs[run_id]
        return config_hash(e.model, e.train, e.data)

    assert key("rivals__resnet_rollout__seed0") == key("context__k4__seed0") == key("width_resnet__w64__seed0")
    assert key("rivals__resnet_rollout__seed0") != key("rivals__resnet_rollout__seed1")
    assert runs["protocol__resnet_rollout_paper__seed0"].data.protocol == "paper"
    assert runs["trajectories__single__seed0"].data.train_episodes == 1
    assert key("predict_change__next_one_step__seed1") == key("rollout__r1__seed1")
    assert key("predict_change__change_one_step__seed1") != key("rollout__r1__seed1")


def test_runs_are_found_by_id():
    preset = PRESETS["smoke"]
    assert grid.find_run(preset, "rivals__hero__seed1").experiment.model.name == "latent_transformer"
    with pytest.raises(UserError, match="no grid run is called 'rivals__hero__seed9'"):
        grid.find_run(preset, "rivals__hero__seed9")


CLEAN = {"provenance": {"commit": "abc1234"}, "metrics": {"tracker_version": TRACKER_VERSION}}
"""What a record from a clean commit by today's tracker says of itself."""


def test_a_run_counts_as_done_only_with_the_same_configs(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    preset = PRESETS["cpu"]
    run = grid.grid_runs(preset)[0]
    assert not grid_runner.is_done(preset, run)
    path = paths.grid_records_dir(preset) / f"{run.id}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"configs": grid_runner.run_configs(preset, run), **CLEAN}))
    assert grid_runner.is_done(preset, run)
    path.write_text(json.dumps({"configs": {**grid_runner.run_configs(preset, run), "train": {}}, **CLEAN}))
    assert not grid_runner.is_done(preset, run)
    path.write_text("{truncated")
    assert not grid_runner.is_done(preset, run)


def test_a_record_forced_to_bf16_counts_as_done_under_auto_but_not_a_float32_one(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    preset = PRESETS["cpu"]
    run = grid.grid_runs(preset)[0]
    configs = grid_runner.run_configs(preset, run)
    assert configs["train"]["bf16"] == "auto"
    path = paths.grid_records_dir(preset) / f"{run.id}.json"
    path.parent.mkdir(parents=True)
    # a record from before the "auto" setting, made with bf16 forced on
    path.write_text(json.dumps({"configs": {**configs, "train": {**configs["train"], "bf16": True}}, **CLEAN}))
    assert grid_runner.is_done(preset, run)
    path.write_text(
        json.dumps({"configs": {**configs, "train": {**configs["train"], "bf16": True, "lr": 0.5}}, **CLEAN})
    )
    assert not grid_runner.is_done(preset, run)
    path.write_text(json.dumps({"configs": {**configs, "train": {**configs["train"], "bf16": False}}, **CLEAN}))
    assert not grid_runner.is_done(preset, run)  # a float32 run is another run


def test_a_records_precision_is_what_it_used_or_its_forced_setting():
    new = {"train": {"precision": {"precision": "float32", "setting": "auto"}}, "configs": {"train": {"bf16": "auto"}}}
    old = {"train": {}, "configs": {"train": {"bf16": True}}}
    forced = {"train": {}, "configs": {"train": {"bf16": False}}}
    assert [grid_runner.record_precision(r) for r in (new, old, forced)] == ["float32", "bf16 autocast", "float32"]
    assert grid_summaries.precision_counts([new, old, forced]) == {"float32": 2, "bf16 autocast": 1}


def record(strict, resolution=128):
    """A run whose two test episodes each score `strict`, with the cube found in half of their frames."""
    episode = {"rmse": strict / 2, "strict_rmse": strict, "detection_rate": 0.5, "valid_frames": 3, "total_frames": 6}
    report = {"pooled": episode, "within": {"4": episode}}
    metrics = {
        "resolution": resolution,
        **report,
        "per_episode": [episode, episode],
        "jitter_dream": 1.0,
        "jitter_truth": 0.5,
        "detected_at_end": 1.0,
        "paper": report,
    }
    copy_last = {"pooled": {**episode, "strict_rmse": 2 * strict}}
    return {
        "group": "g",
        "variant": "v",
        "label": "row",
        "metrics": metrics,
        "parameters": 10,
        "train": {"samples_per_s": 5.0},
        "references": {"copy_last": copy_last},
    }


def test_summaries_give_a_mean_and_interval_per_row_at_512_px():
    cell = grid_summaries.summarize([record(s) for s in (1.0, 2.0, 3.0)])[("g", "v")]
    strict = cell["metrics"]["strict_512"]
    assert (
        cell["seeds"] == 3
        and strict["mean"] == pytest.approx(8.0)
        and 4.0 <= strict["low"] < 8.0 < strict["high"] <= 12.0
    )
    assert cell["metrics"]["detection"]["low"] == cell["metrics"]["detection"]["high"] == 0.5
    assert strict["values"] == [4.0, 8.0, 12.0] and cell["metrics"]["rmse_512"]["mean"] == 4.0
    assert np.isnan(cell["metrics"]["strict_h16_512"]["mean"]) and cell["metrics"]["jitter_512"]["mean"] == 4.0
    assert cell["metrics"]["strict_vs_copy_last"]["mean"] == 0.5 and cell["metrics"]["detection_h4"]["mean"] == 0.5


@pytest.mark.parametrize(
    "commit, version, committed, trusted",
    [
        ("abc1234", TRACKER_VERSION, True, True),
        ("abc1234+dirty", TRACKER_VERSION, True, False),  # a dirty tree's numbers are run again
        ("unknown", TRACKER_VERSION, True, False),
        ("abc1234+dirty", TRACKER_VERSION, False, True),  # smoke's records are made afresh, never committed
        ("abc1234", TRACKER_VERSION - 1, True, False),  # an older tracker's numbers are run again
        ("abc1234", None, False, False),
    ],
)
def test_a_record_is_trusted_only_from_a_clean_commit_and_the_current_tracker(commit, version, committed, trusted):
    record = {"provenance": {"commit": commit}, "metrics": {} if version is None else {"tracker_version": version}}
    assert grid_runner.trusted(record, committed) is trusted


@pytest.mark.parametrize(
    "commit, package, trusted",
    [
        ("abc1234+dirty", "c0ffee000001", True),  # the dirt lay outside the package
        ("abc1234+dirty", "c0ffee000002", False),  # the package itself was changed
        ("abc1234+dirty", None, False),  # an older record names no package
        ("def5678+dirty", "c0ffee000001", False),  # a commit git cannot read
    ],
)
def test_a_dirty_tree_is_trusted_only_when_its_package_was_the_commits(monkeypatch, commit, package, trusted):
    # a notebook edited beside the run dirties the tree but not the code that ran
    monkeypatch.setattr(grid_runner, "package_hash_at", lambda commit: {"abc1234": "c0ffee000001"}.get(commit))
    made_by = {"commit": commit} | ({} if package is None else {"package": package})
    record = {"provenance": made_by, "metrics": {"tracker_version": TRACKER_VERSION}}
    assert grid_runner.trusted(record) is trusted


def test_compute_hours_counts_a_shared_run_once():
    def timed(configs, seconds, train_seconds):
        return {
            "configs": configs,
            "seconds": seconds,
            "train": {"train_seconds": train_seconds},
            "metrics": {"dream_seconds": 10.0},
        }

    records = [timed({"a": 1}, 3600.0, 3000.0), timed({"a": 1}, 2.0, 3000.0), timed({"b": 1}, 5.0, 1790.0)]
    assert grid_summaries.compute_hours(records) == 1.5  # b came from the cache: its training and dreaming count
    assert grid_summaries.distinct_trainings(records) == 2


def test_the_main_worlds_conditions_come_from_any_record_made_in_it():
    mine = {"configs": {"world": {}}, "conditions": {"cube_cells": 4.8}}
    other = {"configs": {"world": {}, "tokenizer_world": {}}, "conditions": {"cube_cells": 1.3}}
    assert grid_summaries.main_conditions([other, mine]) == {"cube_cells": 4.8}
    assert grid_summaries.main_conditions([other]) is None


def test_an_experiment_names_its_budget_with_steps_and_learning_rate():
    paper, ours = PRESETS["cpu"].experiments
    assert paper.budget == "1,500 steps, lr 1e-4" and ours.budget == "1,500 steps, lr 1e-3"
    assert replace(paper, train=replace(paper.train, lr=2.5e-4)).budget == "1,500 steps, lr 2.5e-4"


def test_strict_within_scores_only_the_first_frames_of_a_dream(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "tracks_path", lambda preset, name: tmp_path / f"{name}.json")
    truth = np.full((2, 5, 2), 64.0)
    dream = truth.copy()
    dream[:, 3:] = np.nan  # the cube lost after 3 frames: the diagonal is charged from then on
    grid_runner._write_tracks(tmp_path / "truth.json", {"cube": truth, "paper": truth})
    grid_runner._write_tracks(tmp_path / "run.json", {"cube": dream, "paper": dream}, truth="truth")
    record = {"id": "run", "metrics": {"resolution": 128}}
    assert grid_summaries.strict_within(None, record, 3) == 0.0
    assert grid_summaries.strict_within(None, record, 5) == pytest.approx(724.1 * np.sqrt(2 / 5), rel=1e-3)


def curve_record(group, variant, steps, val_loss):
    return {
        "group": group,
        "variant": variant,
        "configs": {"train": {"steps": steps}},
        "train": {"best_val_loss": val_loss},
    }


def test_the_budget_is_the_smallest_within_two_percent_of_the_longest_on_validation_loss():
    records = [
        curve_record("rivals", "resnet_rollout", 400, 2.10),
        curve_record("curve", "recipe_s1500", 1500, 1.60),
        curve_record("curve", "recipe_s1500", 1500, 1.62),
        curve_record("curve", "recipe_s6000", 6000, 1.58),
        curve_record("predict_change", "next_one_step", 400, 1.40),
        curve_record("curve", "one_step_s1500", 1500, 1.22),
        curve_record("rivals", "rollout_unet", 400, 0.1),  # not a training of the curve
        {**curve_record("rivals", "resnet_rollout", 1500, 0.1), "claim_steps": 1500},  # a claim row again
    ]
    curve = grid_summaries.learning_curve(records)
    assert {name: sorted(b) for name, b in curve.items()} == {"recipe": [400, 1500, 6000], "one_step": [400, 1500]}
    assert grid_summaries.chosen_budget(curve["recipe"]) == 1500  # 1.61 is within 2% of 1.58; 2.10 is not
    assert grid_summaries.chosen_budget(curve["one_step"]) == 1500  # the longest is always within
    curve["recipe"][6000][0]["train"]["best_val_loss"] = 1.50  # 1.61 is 7% above: the longest is needed
    assert grid_summaries.chosen_budget(curve["recipe"]) == 6000


def test_every_claim_row_and_map_cell_trains_again_at_the_chosen_budget_and_nothing_else_does():
    cpu = PRESETS["cpu"]
    runs = grid.grid_runs(cpu)
    again = {(r.group, r.variant, r.seed): r for r in runs if r.claim_steps is not None}
    own = {(r.group, r.variant, r.seed): r for r in runs if r.claim_steps is None and r.group in grid.AGAIN_GROUPS}
    assert again.keys() == own.keys() and len(again) > 0
    # the claim rows first: the map trains again only after them
    assert [r.group == "map" for r in runs if r.claim_steps] == sorted(r.group == "map" for r in runs if r.claim_steps)
    for key, run in again.items():
        assert run.id == f"{key[0]}__{key[1]}__s1500__seed{key[2]}" and run.experiment.train.steps == 1500
        assert run.experiment.model == own[key].experiment.model
        assert replace(run.experiment.train, steps=400) == own[key].experiment.train
    assert [r.variant for r in runs if r.claim_steps and r.group == "rivals"][-1] == "hero"
    assert not any(r.claim_steps for r in grid.grid_runs(PRESETS["smoke"]))


def claim_record(run):
    return {"id": run.id, "group": run.group, "variant": run.variant, "claim_steps": run.claim_steps}


def ids(records):
    return {r["id"] for r in records}


def test_the_claims_are_judged_at_the_chosen_budget_only_once_every_claim_row_landed():
    cpu = PRESETS["cpu"]
    runs = grid.grid_runs(cpu)
    own = [claim_record(r) for r in runs if r.claim_steps is None]
    claim_rows = [claim_record(r) for r in grid.runs_again(cpu, grid.CLAIM_GROUPS)]
    records, budget = grid_summaries.claim_records(cpu, own + claim_rows[:-1])
    assert budget == 400 and ids(records) == {r["id"] for r in own if r["group"] not in grid.MAP_GROUPS}
    # the map trained again does not hold the claim rows back, nor stand in before all of it has landed
    map_again = [claim_record(r) for r in grid.runs_again(cpu, grid.MAP_GROUPS)]
    records, budget = grid_summaries.claim_records(cpu, own + claim_rows + map_again[:-1])
    assert budget == 1500
    assert ids(records) == {r["id"] for r in own if r["group"] not in grid.AGAIN_GROUPS} | ids(claim_rows)
    judged = grid_summaries.judged_runs(cpu, own + claim_rows + map_again[:-1])
    assert {r.id for r in judged if r.group not in grid.MAP_GROUPS} == ids(records)


def test_the_map_is_shown_at_the_chosen_budget_only_once_every_one_of_its_runs_landed():
    cpu = PRESETS["cpu"]
    runs = grid.grid_runs(cpu)
    own = [claim_record(r) for r in runs if r.claim_steps is None]
    own_map = [r for r in own if r["group"] == "map"]
    map_again = [claim_record(r) for r in grid.runs_again(cpu, grid.MAP_GROUPS)]
    assert len(map_again) == len(own_map) == 36 and all("__s1500__" in r["id"] for r in map_again)
    assert grid_summaries.map_records(cpu, own + map_again[:-1]) == (own_map, 400)
    assert grid_summaries.map_records(cpu, own + map_again) == (map_again, 1500)
    # the claims are judged without the map, whatever budget it is at: one budget for the rows they compare
    records, budget = grid_summaries.claim_records(cpu, own + map_again)
    assert budget == 400 and ids(records) == {r["id"] for r in own if r["group"] != "map"}
    judged = [r for r in grid_summaries.judged_runs(cpu, own + map_again) if r.group == "map"]
    assert {r.id for r in judged} == ids(map_again)


def test_a_run_with_another_records_very_configs_takes_it_over_without_training(tmp_path, monkeypatch):
    from lucid_dreamer.pipeline import stages

    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    monkeypatch.setattr(stages, "train_stage", lambda *a, **k: pytest.fail("trained again"))
    cpu = PRESETS["cpu"]
    runs = {r.id: r for r in grid.grid_runs(cpu)}
    curve, claim = runs["curve__recipe_s1500__seed1"], runs["rivals__resnet_rollout__s1500__seed1"]
    twin = {
        "id": curve.id,
        "group": "curve",
        "variant": curve.variant,
        "seed": 1,
        "configs": grid_runner.run_configs(cpu, curve),
    }
    paths.grid_records_dir(cpu).mkdir(parents=True)
    (paths.grid_records_dir(cpu) / f"{curve.id}.json").write_text(json.dumps({**twin, **CLEAN}))
    paths.tracks_path(cpu, curve.id).parent.mkdir()
    paths.tracks_path(cpu, curve.id).write_text(json.dumps({"truth": "truth__x__k4", "cube": [[[1.0, 2.0]]]}))
    record = grid_runner.run_one(cpu, claim)
    assert record["twin_of"] == curve.id and record["id"] == claim.id and record["claim_steps"] == 1500
    assert grid_runner.is_done(cpu, claim)
    assert json.loads(paths.tracks_path(cpu, claim.id).read_text())["cube"] == [[[1.0, 2.0]]]
    # a twin from a dirty tree is no twin: the run trains
    dirty = {**twin, **CLEAN, "provenance": {"commit": "abc1234+dirty"}}
    (paths.grid_records_dir(cpu) / f"{curve.id}.json").write_text(json.dumps(dirty))
    (paths.grid_records_dir(cpu) / f"{claim.id}.json").unlink()
    with pytest.raises(pytest.fail.Exception, match="trained again"):
        grid_runner.run_one(cpu, claim)


def test_every_committed_truth_file_has_the_reference_tracks_beside_it():
    from lucid_dreamer.method.references import REFERENCES, REFERENCES_VERSION

    preset = PRESETS["cpu"]
    folder = paths.grid_records_dir(preset) / "tracks"
    truths = sorted(p.stem for p in folder.glob("truth__*.json"))
    assert truths and set(truths) <= set(grid_runner.world_contexts(preset))
    for truth in truths:
        refs = json.loads(paths.tracks_path(preset, grid_runner.references_name(truth)).read_text())
        assert refs["truth"] == truth and refs["references_version"] == REFERENCES_VERSION
        shape = np.shape(json.loads(paths.tracks_path(preset, truth).read_text())["cube"])
        for name in REFERENCES:
            assert np.shape(grid_summaries.reference_tracks(preset, truth)[name]) == shape


def test_the_horizon_table_scores_a_record_and_the_references_on_the_same_frames(tmp_path, monkeypatch):
    from lucid_dreamer.method.analyze import pool_sums
    from lucid_dreamer.method.references import REFERENCES, TRIVIAL

    preset = PRESETS["cpu"]
    monkeypatch.setattr(paths, "grid_records_dir", lambda p: tmp_path)
    truth = np.full((2, 6, 2), 10.0)
    grid_runner._write_tracks(paths.tracks_path(preset, "truth__x__k4"), {"cube": truth, "paper": truth})
    grid_runner._write_tracks(
        paths.tracks_path(preset, "r__a__seed0"), {"cube": truth + [3, 4], "paper": truth}, truth="truth__x__k4"
    )
    refs = {f"{n}/{t}": truth + [6, 8] for n in REFERENCES for t in ("cube", "paper")}
    grid_runner._write_tracks(paths.tracks_path(preset, "references__x__k4"), refs, truth="truth__x__k4")
    record = {"id": "r__a__seed0", "group": "r", "variant": "a", "metrics": {"resolution": 128}}
    row = grid_summaries.horizon_table(preset, [record])[("r", "a")]
    assert set(grid_summaries.trivial_of(row)) == set(TRIVIAL)
    assert pool_sums(row["seeds"][0].sum(0))["strict_rmse"][-1] == pytest.approx(5 * 4)  # px at 512
    assert pool_sums(row["references"]["copy_last"].sum(0))["strict_rmse"][0] == pytest.approx(10 * 4)


def test_the_reference_points_are_todays_whatever_a_record_carries():
    """A record made before the reference set changed carries the retired references; the book shows
    today's, from the committed reference tracks, and they agree with the record where both exist."""
    from lucid_dreamer.book import comparison
    from lucid_dreamer.method.references import REFERENCES

    preset = PRESETS["cpu"]
    record = json.loads((paths.grid_records_dir(preset) / "rivals__resnet_rollout__seed0.json").read_text())
    shown = comparison.references(preset, [record])
    assert set(shown) == set(REFERENCES.values())  # the stored tracks are rounded: rel=1e-3 below
    carried = record["references"]["copy_last"]
    to_512 = 512 / record["metrics"]["resolution"]
    copy_last = shown[REFERENCES["copy_last"]]
    assert copy_last["strict_512"] == pytest.approx(carried["pooled"]["strict_rmse"] * to_512, rel=1e-3)
    assert copy_last["strict_h4_512"] == pytest.approx(carried["within"]["4"]["strict_rmse"] * to_512, rel=1e-3)
    assert copy_last["detection"] == pytest.approx(carried["pooled"]["detection_rate"], rel=1e-3)


def test_the_grid_writes_the_reference_tracks_of_a_world_that_has_none(tmp_path, monkeypatch):
    """A fresh clone's first grid run writes a truth file; the references beside it must follow, or the book
    cannot score the record against them."""
    from lucid_dreamer.method.references import REFERENCES

    preset = PRESETS["smoke"]
    monkeypatch.setattr(paths, "grid_records_dir", lambda p: tmp_path)
    monkeypatch.setattr(grid_runner, "select_runs", lambda p, only=None: [])
    monkeypatch.setattr(grid_runner, "world_contexts", lambda p: {"truth__x__k4": (p, 4), "truth__y__k4": (p, 4)})
    truth = np.full((2, 3, 2), 10.0)
    grid_runner._write_tracks(paths.tracks_path(preset, "truth__x__k4"), {"cube": truth, "paper": truth})
    loaded = []

    def stage_tracks(world, k, progress=True):
        loaded.append(k)
        return {name: {"cube": truth + 1, "paper": truth + 1} for name in REFERENCES} | {
            "truth": {"cube": truth, "paper": truth}
        }

    monkeypatch.setattr(grid_runner.stages, "load_reference_tracks", stage_tracks)
    grid_runner.run_grid(preset, progress=False)
    assert paths.tracks_path(preset, "references__x__k4").exists() and loaded == [4]
    assert not paths.tracks_path(preset, "references__y__k4").exists()  # no truth file: nothing to score
    grid_runner.run_grid(preset, progress=False)
    assert loaded == [4]  # written once: the next grid call leaves it


@pytest.mark.parametrize(
    "commit_then, commit_now, package_now, expected",
    [
        ("abc1234", "abc1234", "c0ffee000001", {"commit": "abc1234", "package": "c0ffee000001"}),
        # HEAD moved on (a record committed beside the run): the record names its commit's package
        (
            "abc1234",
            "bcd2345",
            "c0ffee000001",
            {"commit": "abc1234+dirty", "package": "c0ffee000001", "cp": "c0ffee000001"},
        ),
        # a notebook was being edited all along: the same
        (
            "abc1234+dirty",
            "abc1234+dirty",
            "c0ffee000001",
            {"commit": "abc1234+dirty", "package": "c0ffee000001", "cp": "c0ffee000001"},
        ),
        ("abc1234", "abc1234+dirty", "c0ffee000002", {"commit": "abc1234+dirty"}),  # the package was edited mid-run
    ],
)
def test_a_run_whose_code_changed_while_it_ran_names_no_package(
    monkeypatch, commit_then, commit_now, package_now, expected
):
    monkeypatch.setattr(grid_runner, "provenance", lambda *_: {"commit": commit_now, "package": package_now})
    monkeypatch.setattr(grid_runner, "package_hash_at", lambda commit: {"abc1234": "c0ffee000001"}.get(commit))
    made_by = {"notebook": "lucid-dreamer grid", "preset": "cpu", "commit": commit_then, "package": "c0ffee000001"}
    moved = grid_runner._still(made_by)
    names = {"commit": "commit", "package": "package", "commit_package": "cp"}
    assert {names[k]: moved[k] for k in names if k in moved} == expected
    record = {"provenance": moved, "metrics": {"tracker_version": TRACKER_VERSION}}
    monkeypatch.setattr(grid_runner, "package_hash_at", lambda commit: None)  # a copy without git history
    assert grid_runner.trusted(record) is ("package" in expected)
