from lucid_dreamer import audit


def row(mean, half=1.0, **extra):
    return {"mean": mean, "low": mean - half, "high": mean + half, "values": [mean]}


def grid(cells: dict) -> dict:
    """(group, variant) -> {"metrics": {...}} from keys "group/variant/metric"."""
    out: dict = {}
    for key, cell in cells.items():
        group, variant, metric = key.split("/")
        out.setdefault((group, variant), {"metrics": {}})["metrics"][metric] = cell
    return out


def verdict(text, ev):
    (claim,) = [c for c in audit.CLAIMS if c.text.startswith(text)]
    return claim.check(ev)


def test_missing_evidence_is_pending_never_guessed():
    rows = audit.audit(audit.Evidence(grid={}))
    assert len(rows) == len(audit.CLAIMS)
    assert {r["verdict"] for r in rows} <= {audit.PENDING, audit.UNTESTABLE}


def test_a_difference_holds_only_when_the_intervals_separate():
    ev = audit.Evidence(grid({"rivals/resnet_rollout/strict_512": row(50), "rivals/unet_single/strict_512": row(60)}))
    assert verdict("context matters", ev)[1] == audit.HOLDS
    ev = audit.Evidence(
        grid({"rivals/resnet_rollout/strict_512": row(50, 6), "rivals/unet_single/strict_512": row(60, 6)})
    )
    assert verdict("context matters", ev)[1] == audit.PARTLY
    ev = audit.Evidence(grid({"rivals/resnet_rollout/strict_512": row(70), "rivals/unet_single/strict_512": row(60)}))
    assert verdict("context matters", ev)[1] == audit.FAILS


def test_higher_is_better_flips_the_comparison():
    ev = audit.Evidence(grid({"motion/w10_t0.1/detection": row(0.9, 0.02), "motion/w1/detection": row(0.5, 0.02)}))
    line, v = verdict("motion weighting", ev)
    assert v == audit.HOLDS and "90.0%" in line


def test_reductions_and_detection_rates_by_hand():
    ev = audit.Evidence(grid({"rivals/resnet_rollout/strict_512": row(40), "rivals/rollout_unet/strict_512": row(100),
                             "rivals/resnet_rollout/detection": row(0.16, 0.03)}))  # fmt: skip
    line, v = verdict("56% reduction", ev)
    assert v == audit.HOLDS and "60% less" in line  # 1 - 40/100
    assert verdict("99% detection", ev)[1] == audit.FAILS
    ev = audit.Evidence(grid({"rivals/resnet_rollout/strict_512": row(90), "rivals/rollout_unet/strict_512": row(100)}))
    assert verdict("56% reduction", ev)[1] == audit.PARTLY  # better, but by 10%, not 56%


def test_context_blur_reads_the_sweep():
    sweep = {"1": {"sharpness_ratio": 0.66}, "4": {"sharpness_ratio": 0.80}}
    assert verdict("a 4-frame context", audit.Evidence({}, context=sweep))[1] == audit.PARTLY
    sweep["4"]["sharpness_ratio"] = 0.97
    assert verdict("a 4-frame context", audit.Evidence({}, context=sweep))[1] == audit.HOLDS


def test_a_detection_claim_inside_a_wide_interval_is_only_partly_confirmed():
    ev = audit.Evidence(grid({"rivals/sharp_shooter/detection": row(0.45, 1.0)}))
    line, v = verdict("Sharp-Shooter", ev)
    assert v == audit.PARTLY and "[0, 100]" in line  # clipped for display
    ev = audit.Evidence(grid({"rivals/sharp_shooter/detection": row(0.57, 0.3)}))
    assert verdict("Sharp-Shooter", ev)[1] == audit.HOLDS


def test_intervals_are_shown_clipped_to_what_a_measure_can_be():
    assert audit._text(row(1.0, 3.0)) == "1.0 [0.0, 4.0]"  # an RMSE is never negative
    assert audit._text(row(0.9, 0.2), 0, True) == "90% [70, 100]"


def width_sweep(group, strict_by_params):
    return {(group, f"w{i}"): {"metrics": {"parameters": row(p, 0), "strict_512": row(s)}}
            for i, (p, s) in enumerate(strict_by_params)}  # fmt: skip


def test_the_inverted_u_needs_both_families_to_rise_past_their_best():
    rising = [(1e3, 80), (1e4, 50), (1e5, 90)]
    leaning = [(1e3, 80), (1e4, 50), (1e5, 51)]  # worse at the widest, inside the intervals
    falling = [(1e3, 80), (1e4, 60), (1e5, 50)]  # the widest is the best
    ev = audit.Evidence({**width_sweep("width_resnet", rising), **width_sweep("width_unet", rising)})
    line, v = verdict("small beats big", ev)
    assert v == audit.HOLDS and "best at 10,000 parameters" in line
    ev = audit.Evidence({**width_sweep("width_resnet", rising), **width_sweep("width_unet", leaning)})
    assert verdict("small beats big", ev)[1] == audit.PARTLY
    ev = audit.Evidence({**width_sweep("width_resnet", falling), **width_sweep("width_unet", rising)})
    line, v = verdict("small beats big", ev)
    assert v == audit.FAILS and "best at the widest (100,000 parameters)" in line
    assert verdict("small beats big", audit.Evidence(width_sweep("width_resnet", rising)))[1] == audit.PENDING


def test_generalising_better_also_needs_a_smaller_gap_to_the_training_trajectory():
    cells = {"protocol/resnet_rollout_paper/strict_512": row(30), "protocol/resnet_rollout_held_out/strict_512": row(50),
             "protocol/probabilistic_plus_paper/strict_512": row(20),
             "protocol/probabilistic_plus_held_out/strict_512": row(80)}  # fmt: skip
    line, v = verdict("small models generalise", audit.Evidence(grid(cells)))
    assert v == audit.HOLDS and "+20.0 against +60.0" in line
    cells["protocol/probabilistic_plus_paper/strict_512"] = row(75)  # better held out, yet overfits more
    assert verdict("small models generalise", audit.Evidence(grid(cells)))[1] == audit.PARTLY
    del cells["protocol/resnet_rollout_paper/strict_512"]
    assert verdict("small models generalise", audit.Evidence(grid(cells)))[1] == audit.PENDING
