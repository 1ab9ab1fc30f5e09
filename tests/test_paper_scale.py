"""`lucid-dreamer paper-scale`: its start-up check, its time budget, the book's page without GPU records
(fast), and a dry run of the whole command at a reduced size on the CPU (slow)."""

import json
import time
from pathlib import Path

import pytest

from lucid_dreamer import cli
from lucid_dreamer.book import paper_scale_book
from lucid_dreamer.method.references import REFERENCES
from lucid_dreamer.pipeline import offline, paper_scale, paper_scale_run


def test_check_reports_a_missing_package_in_one_line(monkeypatch, capsys):
    absent = offline.Package("no_such_module_here", "no-such-dist", "1.0")
    monkeypatch.setattr(offline, "PACKAGES", (*offline.PACKAGES, absent))
    code = cli.main(["paper-scale", "--check", "--dry-run"])
    out, err = capsys.readouterr()
    assert code != 0
    missing = [line for line in err.splitlines() if line.startswith("missing:")]
    assert missing == [missing[0]] and "no-such-dist==1.0" in missing[0] and "import no_such_module_here" in missing[0]
    assert "Traceback" not in out + err and "nothing was run" in err


def test_check_passes_when_nothing_is_missing(capsys):
    assert cli.main(["paper-scale", "--check", "--dry-run"]) == 0
    assert "ready" in capsys.readouterr().out


def test_the_offline_packages_cover_everything_the_command_line_imports():
    """On the GPU machine only torch (with what it requires) and `offline.PACKAGES` exist: every module the
    command line imports must come from one of them, else `paper-scale` stops at its first import."""
    import subprocess
    import sys
    from importlib.metadata import PackageNotFoundError, packages_distributions, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    listed = "import sys, lucid_dreamer.cli; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    imported = subprocess.run([sys.executable, "-c", listed], capture_output=True, text=True, check=True).stdout.split()
    provided, todo = set(), ["torch", *(p.distribution for p in offline.PACKAGES)]
    while todo:  # the distributions and what they require (extras left out)
        name = canonicalize_name(todo.pop())
        if name in provided:
            continue
        provided.add(name)
        try:
            wanted = [Requirement(r) for r in requires(name) or []]
        except PackageNotFoundError:
            continue
        todo += [r.name for r in wanted if r.marker is None or "extra" not in str(r.marker)]
    owners = packages_distributions()
    optional = {"lucid_dreamer", "charset_normalizer"}  # ours; numpy.f2py tries it and goes on without
    third_party = {m: owners[m] for m in imported if m in owners and m not in sys.stdlib_module_names | optional}
    unprovided = {m: d for m, d in third_party.items() if not {canonicalize_name(x) for x in d} & provided}
    assert not unprovided, f"add to offline.PACKAGES: {unprovided}"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_budget_stops_between_stages_and_keeps_what_finished(tmp_path):
    clock, written = Clock(), []

    def slow():
        clock.now += 10  # the first stage overruns the budget of 5 s: it finishes, nothing after it starts
        return {"value": 1}

    def never():
        raise AssertionError("started after the budget was spent")

    def write(records):
        (tmp_path / "r.json").write_text(json.dumps(records))
        written.append(json.loads(json.dumps(records)))

    stages = [paper_scale.Stage("a", slow), paper_scale.Stage("b", never), paper_scale.Stage("c", never, ("a",))]
    records = paper_scale.run_stages(stages, budget=5, write=write, clock=clock)
    assert records["a"] == {"status": "done", "seconds": 10, "value": 1}
    assert records["b"]["status"] == records["c"]["status"] == "not run" and "budget" in records["b"]["reason"]
    assert written[0] == {"a": records["a"]}  # on disk before anything else was decided
    assert json.loads((tmp_path / "r.json").read_text()) == records


def test_a_stage_that_would_not_fit_at_the_finished_pace_is_not_started():
    clock = Clock()

    def takes(seconds):
        def run():
            clock.now += seconds
            return {}

        return run

    def never():
        raise AssertionError("started though it would not fit")

    stages = [paper_scale.Stage("a", takes(20)), paper_scale.Stage("b", never), paper_scale.Stage("c", takes(1))]
    # a ran at twice its estimate: b's 30 s become 60 s, more than the 50 s left; c's 2 s fit
    records = paper_scale.run_stages(stages, 70, lambda r: None, clock, expected={"a": 10, "b": 30, "c": 1})
    assert [records[s]["status"] for s in "abc"] == ["done", "not run", "done"]
    assert "x2.00" in records["b"]["reason"]


def test_a_failed_stage_is_recorded_and_what_needs_it_is_not_run(capsys):
    def broken():
        raise RuntimeError("CUDA out of memory")

    stages = [
        paper_scale.Stage("a", broken),
        paper_scale.Stage("b", lambda: {}, ("a",)),
        paper_scale.Stage("c", lambda: {"ok": True}),
    ]
    records = paper_scale.run_stages(stages, 100, lambda r: None, Clock())
    assert records["a"]["status"] == "failed" and "CUDA out of memory" in records["a"]["error"]
    assert records["b"]["status"] == "not run" and "needs a" in records["b"]["reason"]
    assert records["c"]["status"] == "done"


def test_the_command_keeps_finished_stages_when_its_budget_runs_out(tmp_path, monkeypatch, capsys):
    def world(self):
        time.sleep(0.3)
        return {"episodes": 5}

    monkeypatch.setattr(paper_scale_run.Run, "world", world)
    code = cli.main(["paper-scale", "--dry-run", "--quiet", "--out", str(tmp_path), "--budget", "0.1"])
    record = json.loads((tmp_path / paper_scale.RECORD).read_text())
    assert code == 0
    assert record["stages"]["world"]["status"] == "done" and record["stages"]["world"]["episodes"] == 5
    assert {s["status"] for name, s in record["stages"].items() if name != "world"} == {"not run"}
    assert record["provenance"]["commit"] and record["dry_run"] is True


def test_the_book_page_says_not_run_without_records(tmp_path):
    page = paper_scale_book.render(tmp_path)  # a repository with no records at all
    assert paper_scale_book.NOT_RUN in page
    for line in page.splitlines():
        if line.startswith("| ResNet-Rollout"):
            assert line.count(paper_scale_book.NOT_RUN) == 2  # both paper-scale cells, and no number there


def test_the_committed_page_matches_the_committed_records():
    root = Path(__file__).resolve().parent.parent
    page = (root / paper_scale_book.PAGE).read_text()
    has_records = (root / paper_scale_book.RUN / paper_scale.RECORD).exists()
    assert (paper_scale_book.NOT_RUN in page) != has_records
    assert "book/paper_scale" in (root / "_toc.yml").read_text()


@pytest.mark.slow
def test_dry_run_of_the_whole_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LUCID_DREAMER_ARTIFACTS", str(tmp_path / "artifacts"))
    out = tmp_path / "out"
    assert cli.main(["paper-scale", "--dry-run", "--quiet", "--out", str(out)]) == 0
    record = json.loads((out / paper_scale.RECORD).read_text())
    assert {name: s["status"] for name, s in record["stages"].items()} == {
        name: "done" for name in ("world", "tokenizer", "paper_settings", "tuned", "one_trajectory", "figures", "bench")
    }
    stages = record["stages"]
    assert stages["world"]["resolution"] == paper_scale.DRY_RUN.resolution
    assert stages["paper_settings"]["train"]["steps"] == paper_scale.DRY_RUN.train_steps
    assert set(stages["paper_settings"]["references"]) == set(REFERENCES)
    assert "paper_tracker" in stages["tuned"]["dream"] and stages["one_trajectory"]["dream"]["pooled"]["total_frames"]
    assert stages["bench"]["variants"][0].startswith("reference")
    assert sorted(p.name for p in out.iterdir()) == sorted([paper_scale.RECORD, *paper_scale.FIGURES])
    assert all((out / f).stat().st_size < 2**20 for f in paper_scale.FIGURES)
