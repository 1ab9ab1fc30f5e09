"""The world's conditions are measured in pixels and latent cells, and the map's findings follow one rule."""

import numpy as np
import pytest
import torch

from lucid_dreamer.book import conditions_report
from lucid_dreamer.method import conditions
from lucid_dreamer.method.world import WorldConfig

RED = (220, 20, 15)


def moving_square(side=16, step=4.0, frames=6, size=128):
    """One episode of a red square moving right by `step` px a frame on grey, and its true centres."""
    video = np.full((1, frames, size, size, 3), 120, np.uint8)
    centres = np.empty((1, frames, 2))
    for t in range(frames):
        left = int(10 + step * t)
        video[0, t, 50 : 50 + side, left : left + side] = RED
        centres[0, t] = (left + (side - 1) / 2, 50 + (side - 1) / 2)
    return video, centres


def test_a_known_square_measures_its_size_and_speed_in_pixels_and_cells():
    video, centres = moving_square(side=16, step=4.0)
    measured = conditions.measure(video, centres, cell_px=8)
    assert measured["cube_px"] == pytest.approx(16, abs=0.5)
    assert measured["cube_cells"] == pytest.approx(2, abs=0.07)
    assert measured["speed_px"]["median"] == pytest.approx(4.0) and measured["speed_cells"]["median"] == 0.5
    assert measured["in_view"] == 1.0 and "motion_mask" not in measured
    by_tracker = conditions.measure(video, cell_px=8)  # user data: the tracker's centres
    assert by_tracker["speed_px"]["median"] == pytest.approx(4.0, abs=0.01)


def test_the_motion_mask_is_measured_near_the_cube_and_elsewhere():
    video, centres = moving_square(side=16, step=8.0)
    latents = torch.zeros(1, 6, 16, 16, 16)
    for t in range(6):  # latents change only in the cells the square covers
        x, y = (centres[0, t] / 8).astype(int)
        latents[0, t, :, y - 1 : y + 1, x - 1 : x + 1] = t
    mask = conditions.measure(video, centres, latents, cell_px=8)["motion_mask"]
    assert mask["near_cube"] > 0.2 and mask["elsewhere"] == 0


def test_conditions_change_only_the_cube_and_its_speed():
    base = WorldConfig()
    sizes = {c.cube_cells for c in conditions.CONDITIONS}
    speeds = {c.speed_cells for c in conditions.CONDITIONS}
    assert sizes == {1.3, 2.7, 5} and speeds == {0.25, 0.5} and len(conditions.CONDITIONS) == 6
    world = conditions.condition("cube5_speed0.5").world(base)
    assert (world.resolution, world.episodes, world.arena_half_size) == (base.resolution, base.episodes, 0.8)
    assert world.cube_half_size > base.cube_half_size


def row(name, training, h4_low, ratio_high):
    """A map row whose detection within 4 frames has the interval [h4_low, 1]."""
    return {
        "condition": name,
        "training": training,
        "intervals": {
            "detection_h1": (1.0, 1.0),
            "detection_h4": (h4_low, 1.0),
            "detection_h16": (0.0, 0.2),
            "strict_vs_copy_last": (0.5, ratio_high),
        },
    }


def test_findings_count_the_worlds_that_keep_the_cube_and_beat_copy_last_by_the_rule():
    recipe, one_step = conditions.TRAININGS["recipe"], conditions.TRAININGS["one_step"]
    rows = [row("a", recipe, 0.95, 0.9), row("b", recipe, 0.5, 1.1), row("a", one_step, 0.89, 0.99)]
    found = conditions_report.findings(rows)
    assert found["recipe_keeps_h4"] == "1 of 2 (a)" and found["recipe_keeps_h16"] == "0 of 2"
    assert found["recipe_beats_copy_last"] == "1 of 2 (a)"  # b's interval reaches above 1
    assert found["one_step_keeps_h4"] == "0 of 1" and found["one_step_beats_copy_last"] == "1 of 1 (a)"


def test_map_rows_scale_to_512_px_and_carry_the_references_of_their_world():
    measured = {"resolution": 128, "cube_cells": 4.8, "speed_cells": {"median": 0.48}}
    refs = {
        "copy_last": {"pooled": {"strict_rmse": 50.0}, "within": {"4": {"detection_rate": 1.0}}},
        "oracle": {"pooled": {"detection_rate": 1.0, "rmse": 0.5}},
    }
    record = {"group": "map", "variant": "cube5_speed0.5_recipe", "conditions": measured, "references": refs}
    cell = {"mean": 0.5, "low": 0.4, "high": 0.6}
    metrics = dict.fromkeys(
        ("detection_h1", "detection_h4", "detection_h16", "detection", "strict_512", "strict_vs_copy_last"), cell
    )
    today = {"bouncing_velocity": {"strict_512": 150.0}, "position_prior": {"strict_512": 140.0}}
    summary = {("map", "cube5_speed0.5_recipe"): {"seeds": 3, "metrics": metrics}}
    (row,) = conditions_report.map_rows([record], summary, lambda r: today if r is record else None)
    assert (row["condition"], row["cube_cells"], row["speed_cells"], row["seeds"]) == ("cube5_speed0.5", 5, 0.5, 3)
    assert row["measured_cube_cells"] == 4.8 and row["training"] == conditions.TRAININGS["recipe"]
    assert row["copy_last_strict_512"] == 200.0 and row["oracle_rmse_512"] == 2.0  # 128 px -> 512 px
    assert row["intervals"]["strict_vs_copy_last"] == (0.4, 0.6)
    assert (row["bouncing_strict_512"], row["prior_strict_512"]) == (150.0, 140.0)  # today's references


def test_a_condition_spans_the_same_latent_cells_at_any_frame_size():
    cube = conditions.condition("cube5_speed0.5")
    at_128, at_512 = cube.world(WorldConfig(resolution=128)), cube.world(WorldConfig(resolution=512))
    assert at_512.cube_half_size == pytest.approx(at_128.cube_half_size / 4)
    assert at_512.max_speed == pytest.approx(at_128.max_speed / 4)


def test_an_unknown_condition_is_a_one_line_error():
    from lucid_dreamer.method.errors import UserError

    with pytest.raises(UserError, match="no condition is called 'cube9'.*cube1.3_speed0.25"):
        conditions.condition("cube9")


def test_findings_say_not_run_yet_before_the_map_has_run():
    found = conditions_report.findings([])
    assert found["recipe_keeps_h4"] == found["one_step_beats_copy_last"] == "not run yet" and len(found) == 8


def test_the_protocol_sentences_lead_with_our_tracker_and_say_how_many_seeds_have_run():
    def stats(mean):
        return {"mean": mean, "low": mean, "high": mean}

    metrics = {"detection": stats(0.97), "strict_512": stats(206.5), "paper_detection": stats(1.0)}
    summary = {("one_trajectory", "paper"): {"seeds": 2, "metrics": metrics | {"paper_rmse_512": stats(161.3)}}}
    sentences = conditions_report.protocol_sentences(summary, "1,500 steps, lr 1e-4", 3)
    paper = sentences["paper"]
    assert "2 of 3 seeds" in paper and "1,500 steps, lr 1e-4" in paper and "101 frames" in paper
    assert paper.index("our tracker finds the cube in 97.0%") < paper.index("The paper's tracker finds it in 100.0%")
    assert "not the cube" in paper and "71.08" in paper  # the paper's rate qualified, its pixels not compared
    assert sentences["held_out"].endswith("have not run yet.") and "not run yet px" not in " ".join(sentences.values())
    summary[("one_trajectory", "held_out")] = {"seeds": 1, "metrics": metrics}
    held_out = conditions_report.protocol_sentences(summary, "1,500 steps, lr 1e-4", 3)["held_out"]
    assert "1 of 3 seeds" in held_out and "97.0%" in held_out and "206.5 [206.5, 206.5] px" in held_out
    assert "has not run yet" in conditions_report.protocol_sentences({}, "x", 3)["paper"]


def test_the_cpu_world_is_the_maps_5_cell_cube_and_the_hard_condition_is_on_the_map():
    from lucid_dreamer.pipeline.presets import MAIN_CONDITION, get_preset

    cpu, smoke = get_preset("cpu").world, get_preset("smoke").world
    assert MAIN_CONDITION.name == "cube5_speed0.5" and MAIN_CONDITION.world(cpu) == cpu
    assert MAIN_CONDITION.world(smoke) != smoke  # a 64 px world is not on the map
    assert conditions.condition(conditions.HARD).cube_half_size == 0.06  # the scene's own 12 cm cube


def test_against_copy_last_follows_the_verdict_rule():
    def row(low, high):
        return {"strict_vs_copy_last": (low + high) / 2, "intervals": {"strict_vs_copy_last": (low, high)}}

    assert conditions_report.against_copy_last(row(0.8, 0.9)).endswith(
        "better than copying the last frame (the whole interval below 1)"
    )
    assert "worse than copying" in conditions_report.against_copy_last(row(1.1, 1.3))
    reaches = conditions_report.against_copy_last(row(0.93, 1.11))
    assert reaches.startswith("1.02 [0.93, 1.11]") and "does not beat copying" in reaches
    one_seed = {"strict_vs_copy_last": 0.9, "intervals": {"strict_vs_copy_last": (float("nan"), float("nan"))}}
    assert conditions_report.against_copy_last(one_seed) == "0.90 (one seed: no interval, so no verdict)"


def test_the_map_budget_sentence_says_which_budget_is_shown_and_how_far_the_other_has_got():
    pending = conditions_report.map_budget_sentence(400, 1500, 7, 36)
    assert "7 of 36 runs so far" in pending and "shown at 400 steps until" in pending
    done = conditions_report.map_budget_sentence(1500, 1500, 36, 36)
    assert "shown at it" in done and "so far" not in done
    assert "one budget" in conditions_report.map_budget_sentence(2, None, 0, 0)
