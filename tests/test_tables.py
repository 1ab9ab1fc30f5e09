"""The book's result tables: cells that say what they are, and HTML the book's CSS styles."""

import math
import re

import pytest

from lucid_dreamer.book import comparison, tables


def test_an_interval_cell_says_mean_and_interval_or_why_there_is_none():
    assert tables.interval({"mean": 0.5, "low": 0.25, "high": 0.75}, 0, True) == "50% [25, 75]"
    assert tables.interval({"mean": 12.34, "low": math.nan, "high": math.nan}) == "12.3"
    assert tables.interval(None) == "not run yet"
    assert tables.interval({"mean": math.nan, "low": math.nan, "high": math.nan}) == "no detections"
    assert tables.number(None) == "-" and tables.number(0.123, 1, True) == "12.3%"


def test_a_table_renders_as_a_styled_html_table_with_its_headers():
    html = tables.table(["model", "strict RMSE (px at 512)"], [["ResNet-Rollout", "123.4 [1.0, 2.0]"]])._repr_html_()
    assert 'class="lucid-table"' in html and "lucid-table-wrap" in html and "strict RMSE (px at 512)</th>" in html
    # a number is aligned right on one line, words left (the book's CSS reads these classes)
    # an interval wraps only before its bracket: the space inside it does not break
    assert re.search(r'<td class="[^"]*\bnum\b[^"]*" >123.4 \[1.0,\u00a02.0\]</td>', html)
    assert re.search(r'<td class="[^"]*\btext\b[^"]*" >ResNet-Rollout</td>', html)
    assert "<script" not in tables.table(["a"], [["<script>"]])._repr_html_()  # cells are escaped
    again = tables.table(["model", "strict RMSE (px at 512)"], [["ResNet-Rollout", "123.4 [1.0, 2.0]"]])
    assert again._repr_html_() == html  # the same table gives the same page, run after run


def summary_of(**cells):
    return {("rivals", v): {"seeds": 3, "metrics": metrics} for v, metrics in cells.items()}


def test_the_rivals_tables_put_the_papers_numbers_beside_ours_in_the_papers_order():
    cell = {"mean": 100.0, "low": 90.0, "high": 110.0}
    names = {
        "rmse_512",
        "strict_512",
        "detection",
        "paper_detection",
        "paper_rmse_512",
        "samples_per_s",
        "detected_at_end",
        "jitter_512",
        "truth_jitter_512",
    }
    summary = summary_of(resnet_rollout=dict.fromkeys(names, cell))
    labels = {v: f"label {v}" for v in comparison.RIVALS}
    readme, by_paper_tracker, report = comparison.rivals_tables(summary, labels)
    first = readme.frame.iloc[0]
    assert first["model"] == "label resnet_rollout" and first["strict RMSE (px at 512)"] == "100.0 [90.0, 110.0]"
    assert first["the paper's RMSE (px at 512)"] == "71.08" and first["the paper's detection"] == "99%"
    assert readme.frame.iloc[1]["strict RMSE (px at 512)"] == "not run yet"  # no runs: said, not filled in
    assert list(report.frame["model"]) == [labels[v] for v in comparison.RIVALS]
    tracked = by_paper_tracker.frame.iloc[0]
    assert (
        tracked["model"] == first["model"] and tracked["RMSE, the paper's tracker (px at 512)"] == "100.0 [90.0, 110.0]"
    )
    assert tracked["the paper's RMSE (px at 512)"] == "71.08" and len(by_paper_tracker.frame.columns) == 5
    assert all(len(t.frame.columns) <= 6 for t in (readme, by_paper_tracker, report))  # each fits the column


def test_the_benchmark_tables_give_rates_ratios_and_shares_as_aligned_numbers():
    result = {
        "variants": ["ref", "ours"],
        "limits": {"fp32_flops_per_s": 1e11, "bf16_flops_per_s": 2e11, "copy_bytes_per_s": 1e8},
        "conv3d": {"ref": True, "ours": False},
        "bf16": {"ref": False, "ours": True},
        "train": {
            "16": {
                "samples_per_s": {"ref": {"median": 2.0}, "ours": {"median": 1000.0}},
                "cost_per_sample": {"conv3d": {"flops": 3e9, "bytes": 1e6}, "conv2d": {"flops": 1e9, "bytes": 2e6}},
            }
        },
        "dream": {"frames_per_s": {"ref": {"median": 10.0}, "ours": {"median": 80.0}}},
    }
    speed = tables.benchmark(result).frame
    assert list(speed.iloc[1]) == ["ours", "1,000.0", "80.0", "500.00x", "8.00x"]
    shares = tables.utilisation(result).frame
    assert list(shares.iloc[0]) == ["16x16", "ref", "3.00", "1.00", "2.00", "2.0%", "4.0%"]
    assert list(shares.iloc[1])[2:] == ["1.00", "1.00", "2.00", "500.0%", "2000.0%"]
    html = tables.benchmark(result)._repr_html_() + tables.utilisation(result)._repr_html_()
    assert not re.search(r'<td class="[^"]*\btext\b[^"]*" >[\d,.]+[x%]?</td>', html)  # every number aligned as one


def test_the_precision_sentence_pairs_seeds_and_says_when_there_is_nothing_to_compare(monkeypatch):
    monkeypatch.setattr(comparison, "metric_values", lambda record: record["values"])
    monkeypatch.setattr(comparison, "record_precision", lambda record: record["precision"])

    def record(group, variant, seed, precision, strict, detection):
        values = {"strict_512": strict, "detection": detection}
        return {"group": group, "variant": variant, "seed": seed, "precision": precision, "values": values}

    bf16 = [record("rivals", "resnet_rollout", s, "bf16 autocast", 300.0 + s, 0.5) for s in (0, 1, 2)]
    assert "not measured yet" in comparison.precision_difference(bf16)
    f32 = [record("precision", "float32", s, "float32", 290.0, 0.525) for s in (0, 1)]  # seed 2 not run
    sentence = comparison.precision_difference(bf16 + f32)
    # seeds 0 and 1 only: (10 + 11) / 2 px, and 2.5 points less detection in bf16
    assert "same 2 seeds" in sentence and "is +10.5 px" in sentence and "-2.5 percentage points" in sentence
    all_f32 = [{**r, "precision": "float32"} for r in bf16]
    assert "both of chapter 7's rows computed in float32" in comparison.precision_difference(all_f32 + f32)


def test_the_one_trajectory_table_says_which_rows_have_run():
    cell = {"mean": 0.96, "low": 0.95, "high": 0.97}
    summary = {("one_trajectory", "paper"): {"seeds": 2, "metrics": {"detection": cell, "paper_detection": cell}}}
    frame = tables.one_trajectory(summary, {"paper": "one trajectory", "held_out": "held-out"}).frame
    assert list(frame.columns) == ["", "one trajectory", "held-out"]
    rows = frame.set_index("")
    assert (
        list(rows.loc["seeds"]) == ["2", "0"] and rows.loc["detected (ours)", "one trajectory"] == "96.0% [95.0, 97.0]"
    )
    assert rows.loc["strict RMSE (px at 512)", "one trajectory"] == "not run yet"
    assert set(rows["held-out"][1:]) == {"not run yet"}


def test_the_map_tables_give_one_reference_row_per_world():
    row = dict.fromkeys(["detection_h1", "detection_h4", "detection_h16", "detection"], 0.5)
    row |= {"strict_512": 300.0, "strict_vs_copy_last": 1.234, "copy_last_strict_512": 250.0}
    row |= {"copy_last_detection_h4": 1.0, "oracle_detection": 0.99, "oracle_rmse_512": 5.0}
    row |= {"bouncing_strict_512": 150.0, "prior_strict_512": 140.0}
    row |= {"intervals": {k: (row[k] * 0.9, row[k] * 1.1) for k in list(row)[:6]}}
    row["intervals"]["detection"] = (float("nan"), float("nan"))  # one seed: no interval
    rows = [row | {"condition": "w", "training": t} for t in ("recipe", "one step")]
    cells = ["w: recipe", "50% [45, 55]", "50% [45, 55]", "50% [45, 55]", "50%", "300.0 [270.0, 330.0]"]
    assert list(tables.map_results(rows).frame.iloc[0]) == [*cells, "1.23 [1.11, 1.36]"]
    references = ["w", "250.0", "150.0", "140.0", "100%", "99%", "5.0"]
    assert list(tables.map_references(rows, "recipe").frame.iloc[0]) == references
    assert len(tables.map_references(rows, "recipe").frame) == 1


def test_a_runs_standing_against_the_references_names_which_it_is_below():
    refs = {"copying the last frame": 60.0, "constant velocity": 40.0}
    lower = "has a lower strict RMSE than copying the last frame"
    assert comparison.against_references(30.0, refs) == f"{lower} and constant velocity"
    assert comparison.against_references(50.0, refs) == f"{lower}, and a higher one than constant velocity"
    assert comparison.against_references(70.0, refs) == (
        "has a higher strict RMSE than copying the last frame and constant velocity"
    )
    assert comparison.against_references(40.0, refs) == f"{lower}, and the same one as constant velocity"
    for value, references in ((math.nan, refs), (30.0, {})):
        with pytest.raises(ValueError):
            comparison.against_references(value, references)


def test_the_reports_ablation_paragraphs_quote_numbers_only_once_their_rows_have_run():
    cell = {"mean": 100.0, "low": 90.0, "high": 110.0}
    metrics = dict.fromkeys(["rmse_512", "strict_512", "detection", "strict_h4_512", "strict_h16_512"], cell)
    refs = {comparison.REFERENCES["copy_last"]: {"strict_h4_512": 50.0, "strict_h16_512": 150.0}}
    empty = comparison.report_paragraphs({}, refs)
    assert "not all run yet" in empty["predict_change"] and "not all run yet" in empty["protocol"]
    summary = summary_of(next_one_step=metrics, change_one_step=metrics, change_rollout=metrics)
    summary = {("predict_change", v): cell for (_, v), cell in summary.items()}
    assert "not all run yet" in comparison.report_paragraphs(summary, refs)["predict_change"]  # no next_rollout
    resnet = {"seeds": 3, "metrics": metrics | {"strict_h16_512": {"mean": 120.0, "low": 110.0, "high": 130.0}}}
    paragraphs = comparison.report_paragraphs({**summary, ("predict_change", "next_rollout"): resnet}, refs)
    assert "against 100.0 [90.0, 110.0] and 120.0 [110.0, 130.0] px for ResNet-Rollout" in paragraphs["predict_change"]
    assert "within the first 4 dreamed frames is 100.0 [90.0, 110.0] px" in paragraphs["predict_change"]
    assert "50.0 px for copying the last frame" in paragraphs["predict_change"]
    assert "not all run yet" in paragraphs["protocol"] and "not run yet" not in paragraphs["predict_change"]
    assert all("not all run yet" in empty[name] for name in ("rollout", "motion"))
    rows = [("rollout", f"r{r}") for r in (1, 2, 4, 8)] + [("teacher_forcing", v) for v in ("rollout", "forced")]
    rows += [("motion", v) for v in ("w10_t0.1", "w1", "w10_t0.3")]
    rate = {"mean": 0.9, "low": 0.8, "high": 1.0}
    paragraphs = comparison.report_paragraphs(
        {row: {"seeds": 3, "metrics": metrics | {"detection": rate}} for row in rows}, refs
    )
    detected = "100.0 [90.0, 110.0] px RMSE (100.0 [90.0, 110.0] strict, 90% [80, 100] detected)"
    assert paragraphs["motion"].startswith(f"With plain L1 (weight 1) ResNet-Rollout scores {detected};")
    assert (
        "16 dreamed frames ResNet-Rollout's strict RMSE is 100.0 [90.0, 110.0] px trained one step"
        in paragraphs["rollout"]
    )
    assert "not run yet" not in paragraphs["rollout"] + paragraphs["motion"]


def test_the_precision_table_names_each_rows_setting_and_the_precision_its_records_used():
    cell = {"mean": 100.0, "low": 90.0, "high": 110.0}
    metrics = dict.fromkeys(comparison.ABLATION_COLUMNS, cell)
    summary = {("rivals", "resnet_rollout"): {"seeds": 3, "metrics": metrics}}
    records = [{"group": "rivals", "variant": "resnet_rollout"}]
    frame = comparison.precision_table(summary, records, lambda record: "bf16").frame
    assert list(frame.iloc[:, 0]) == ["bf16 (the machine's best)", "float32 (forced)"]
    assert list(frame.iloc[:, -1]) == [3, 0]


def test_same_horizon_shifts_name_the_largest_move_among_the_rivals_and_over_every_row():
    def row(label, strict):
        return {"label": label, "metrics": {"strict_512": {"mean": strict}}}

    summary = {("rivals", "a"): row("A", 100.0), ("rivals", "b"): row("B", 200.0), ("context", "k8"): row("K8", 300.0)}
    aligned = {("rivals", "a"): 98.0, ("rivals", "b"): 203.0, ("context", "k8"): 290.0}
    shifts = comparison.same_horizon_shifts(summary, aligned, 56)
    assert shifts["common_span_rivals_shift"] == "3.0"
    assert shifts["common_span_shift"] == "10.0 px (K8: 300.0 px over its whole dream, 290.0 within 56 frames)"
    assert set(comparison.same_horizon_shifts({}, {}, 56).values()) == {"- (not run yet)"}


def test_the_claim_budget_table_puts_each_landed_row_beside_itself_at_the_grids_budget():
    def cell(label, strict, seeds):
        stats = {"mean": strict, "low": strict - 1, "high": strict + 1}
        return {"label": label, "seeds": seeds, "metrics": dict.fromkeys(comparison.BUDGET_COLUMNS, stats)}

    own = {("rivals", "hero"): cell("Hero", 200.0, 3), ("context", "k1"): cell("1 frame", 90.0, 3)}
    again = {("rivals", "hero"): cell("Hero", 150.0, 2)}  # the context row has not landed at 1,500 yet
    frame = comparison.claim_budget_table(own, again, (400, 1500)).frame
    assert list(frame["row"]) == ["Hero"] and list(frame["seeds at 1,500"]) == [2]
    assert frame.iloc[0, 2] == "200.0 [199.0, 201.0] → 150.0 [149.0, 151.0]"
    assert frame.columns[2] == "strict RMSE (px at 512), 400 → 1,500 steps"


def test_the_learning_curves_standing_names_every_trivial_predictor():
    from lucid_dreamer.method.references import REFERENCES

    cells = {comparison.CURVE_LABELS["recipe"]: {400: {"strict_512": {"mean": 180.0, "low": 170.0, "high": 190.0}}}}
    refs = {
        REFERENCES[k]: {"strict_512": v}
        for k, v in {"copy_last": 188.6, "bouncing_velocity": 154.1, "position_prior": 143.4, "oracle": 1.0}.items()
    }
    text = comparison.curve_standing(cells, refs)
    assert text.startswith("180.0 [170.0, 190.0] px at 400 steps (the trivial predictors: copy last frame 188.6;")
    assert "154.1" in text and "143.4 px)" in text and "oracle" not in text


def test_the_budget_sentence_names_each_trainings_pick_once_and_the_budget_the_claim_rows_get():
    def runs(loss):
        return [{"train": {"best_val_loss": loss}}]

    curve = {  # in the records' order: the sentence follows the chapter's
        "change_rollout": {400: runs(2.0), 1500: runs(1.6), 6000: runs(1.59)},
        "recipe": {400: runs(2.0), 1500: runs(1.7), 6000: runs(1.5)},
    }
    sentence = comparison.budget_sentence(curve, 1500)
    assert sentence == (
        "the recipe (R = 4): 6,000 steps; predicts the change (R = 4): 1,500 steps (each the smallest of 400, 1,500 "
        "and 6,000 steps whose mean best validation loss is within 2% of the longest budget's); the rule asks for "
        "6,000 steps, more than the paper's 1,500, so the claim rows train again at 1,500 steps"
    )
    curve["recipe"][6000] = runs(1.69)  # now 1,500 is within 2% for both: no cap to mention
    assert comparison.budget_sentence(curve, 1500).endswith(
        "longest budget's); the claim rows train again at 1,500 steps"
    )
    del curve["change_rollout"][6000]  # budgets tried differ: each training names its own
    assert "predicts the change (R = 4): 1,500 steps (of 400 and 1,500)" in comparison.budget_sentence(curve, 1500)
    assert comparison.budget_sentence({"recipe": curve["recipe"]}, 1500).startswith(
        "the recipe (R = 4): 1,500 steps (the smallest of"
    )
    assert tables.listing(["a"]) == "a" and tables.listing(["a", "b", "c"]) == "a, b and c"
