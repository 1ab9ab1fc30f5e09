"""The grid beyond one process: local workers and Slurm through submitit, and what `grid --list` says.

Slurm is exercised without a cluster by submitit's own means: its debug executor runs the Slurm
settings' jobs in this process, and stand-in `srun`/`sbatch`/`sacct` commands let its real Slurm
executor write and "submit" the sbatch array.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from filelock import FileLock
from safetensors.torch import load_file

from lucid_dreamer import cli
from lucid_dreamer.method.track import TRACKER_VERSION
from lucid_dreamer.pipeline import executors, grid, grid_runner, paths, stages
from lucid_dreamer.pipeline.cache import BUILD_LOG
from lucid_dreamer.pipeline.executors import ExecutorConfig
from lucid_dreamer.pipeline.presets import PRESETS

SMOKE = PRESETS["smoke"]
# The smoke preset with a short tokenizer training and runs long enough to be stopped part way
# (checkpoints at steps 100 and 120).
LONG = replace(SMOKE, tokenizer=replace(SMOKE.tokenizer, steps=100), grid=replace(SMOKE.grid, steps=120))
SHARED = "rivals__resnet_rollout__seed0", "context__k4__seed0"  # one configuration: one training
OTHERS = "rivals__baseline_resnet__seed0", "rivals__unet_single__seed0", "rivals__probabilistic_plus__seed0"
STOPPED = "rivals__baseline_resnet__seed0"  # the quickest to train (one frame, one step)


@pytest.fixture
def home(artifacts, tmp_path, monkeypatch):
    """An empty artifacts root that worker processes find too, with the smoke records beside it."""
    monkeypatch.chdir(tmp_path)  # the smoke preset's records go under ./artifacts/smoke/figures
    return tmp_path


@pytest.fixture(scope="module")
def long_data(tmp_path_factory):
    """LONG's simulation, tokenizer, latents and references, built once for the tests that stop a run."""
    root = tmp_path_factory.mktemp("long")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LUCID_DREAMER_ARTIFACTS", str(root))
        stages.references_stage(LONG, grid.find_run(LONG, STOPPED).experiment.model.context_frames, progress=False)
    return root / "smoke"


@pytest.fixture
def long_home(home, long_data):
    """`home` with LONG's shared stages already built."""
    shutil.copytree(long_data, home / "artifacts" / "smoke")
    return home


def runs_named(preset, ids):
    return [run for run in grid.grid_runs(preset) if run.id in ids]


def fake_run_one(preset, run, progress=False):
    """A run's record, without training: enough for `is_done`."""
    path = paths.grid_records_dir(preset) / f"{run.id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "id": run.id,
        "configs": grid_runner.run_configs(preset, run),
        "provenance": {"commit": "abc1234"},
        "metrics": {"tracker_version": TRACKER_VERSION},
    }
    path.write_text(json.dumps(record))


def measured(metrics: dict) -> dict:
    """A run's metrics without its dreaming time (the one number that is not a function of the configs)."""
    return {name: value for name, value in metrics.items() if name != "dream_seconds"}


def builds(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


# --- flags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--executor", "local", "--workers", "0"], "--workers must be at least 1, got 0"),
        (["--workers", "2"], "--workers is for --executor local, not inline"),
        (["--executor", "local", "--slurm-partition", "gpu"], "--slurm-partition is for --executor slurm, not local"),
        (["--executor", "local", "--gpus-per-job", "1"], "--gpus-per-job is for --executor slurm, not local"),
        (["--slurm-option", "account=lab"], "--slurm-option is for --executor slurm, not inline"),
        (["--timeout-min", "10"], "--timeout-min is for --executor local or slurm, not inline"),
        (["--executor", "local", "--timeout-min", "0"], "--timeout-min must be at least 1, got 0"),
        (["--executor", "slurm"], "--executor slurm needs Slurm's sbatch and srun"),
    ],
)
def test_executor_flags_that_do_not_fit_are_one_line_errors_and_write_nothing(
    flags, message, home, monkeypatch, capsys
):
    monkeypatch.setenv("PATH", "/nonexistent")  # no Slurm here
    assert cli.main(["grid", "--preset", "smoke", "--quiet", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not any(home.iterdir())


# --- what --list says --------------------------------------------------------------------------


def test_each_run_is_done_running_queued_failed_or_todo(home):
    done, running, queued, failed, killed, todo = grid.grid_runs(SMOKE)[:6]
    fake_run_one(SMOKE, done)
    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
    log = home / "job.err"
    log.write_text("starting\nKilled\n\n")

    def entry(job_id):
        return {"job": str(job_id), "cluster": "local", "log": str(log), "result": str(home / "no_result.pkl")}

    jobs = paths.jobs_dir(SMOKE)
    (jobs / "runs").mkdir(parents=True)
    (jobs / "runs.json").write_text(
        json.dumps({queued.id: entry(os.getpid()), failed.id: entry(os.getpid()), killed.id: entry(gone)})
    )
    (jobs / "runs" / f"{failed.id}.error.json").write_text(json.dumps({"error": "ValueError: boom"}))
    with FileLock(paths.run_lock_path(SMOKE, running.id)):  # as a worker holds it while it runs the run
        states = executors.run_states(SMOKE, [done, running, queued, failed, killed, todo])
    assert {run_id: state.state for run_id, state in states.items()} == {
        done.id: "done",
        running.id: "running",
        queued.id: "queued",  # its job's process (this one) is alive
        failed.id: "failed",
        killed.id: "failed",  # its job's process is gone and wrote no result
        todo.id: "todo",
    }
    assert states[failed.id].detail == f"ValueError: boom (log: {log})"
    assert states[killed.id].detail == f"job {gone} ended before the run finished: Killed (log: {log})"
    assert states[queued.id].detail == f"job {os.getpid()}"


def test_a_run_runs_under_its_lock_and_a_finished_run_is_not_run_again(home, monkeypatch):
    seen = []

    def run_one(preset, run, progress=False):
        seen.append(executors.run_states(preset, [run])[run.id].state)  # what `grid --list` says meanwhile
        fake_run_one(preset, run)

    monkeypatch.setattr(grid_runner, "run_one", run_one)
    run = grid.grid_runs(SMOKE)[0]
    assert grid_runner.run_pending(SMOKE, run) and not grid_runner.run_pending(SMOKE, run)
    assert seen == ["running"]


# --- Slurm without a cluster -------------------------------------------------------------------


def test_slurm_settings_run_through_submitits_debug_executor_one_job_per_training(home, monkeypatch):
    monkeypatch.setattr(grid_runner, "run_one", fake_run_one)
    runs = runs_named(SMOKE, SHARED + OTHERS)
    cfg = ExecutorConfig("slurm", partition="gpu", gpus_per_job=1, timeout_min=60, slurm_options=(("account", "lab"),))
    jobs = executors.submit(SMOKE, runs, cfg, cluster="debug")
    assert len(jobs) == 4  # the two rows that share a configuration share a job
    executors.wait(SMOKE, runs, jobs, progress=False)
    assert {state.state for state in executors.run_states(SMOKE, runs).values()} == {"done"}
    entries = json.loads((paths.jobs_dir(SMOKE) / "runs.json").read_text())
    assert entries[SHARED[0]]["job"] == entries[SHARED[1]]["job"]
    assert len({entries[run_id]["job"] for run_id in SHARED + OTHERS}) == 4


FAKE_SLURM = {
    "srun": "exit 0",
    "sbatch": 'echo "$1" >> "$FAKE_SLURM/submitted"; echo "Submitted batch job 4242"',
    "sacct": 'echo "JobID|State|NodeList"; echo "4242_[0-99]|$(cat "$FAKE_SLURM/state")|"',
}


def test_the_slurm_command_line_submits_one_array_with_the_settings_asked_for(home, monkeypatch, capsys):
    bin_dir = home / "bin"
    bin_dir.mkdir()
    for name, body in FAKE_SLURM.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    (bin_dir / "state").write_text("PENDING")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(bin_dir))
    submit = ["grid", "--preset", "smoke", "--quiet", "--only", "rivals__", "--executor", "slurm"]
    settings = ["--slurm-partition", "gpu", "--gpus-per-job", "1", "--timeout-min", "90"]
    settings += ["--slurm-option", "account=lab", "--slurm-option", "exclusive"]

    assert cli.main([*submit, *settings]) == 0
    assert "submitted 14 runs as 14 Slurm jobs (array 4242)" in capsys.readouterr().out
    (script,) = paths.jobs_dir(SMOKE).glob("*/4242_submission.sh")
    lines = set(script.read_text().splitlines())
    for line in (
        "--partition=gpu",
        "--gpus-per-node=1",
        "--time=90",
        "--account=lab",
        "--exclusive",
        "--array=0-13%14",
    ):
        assert f"#SBATCH {line}" in lines
    assert "#SBATCH --signal=USR2@90" in lines  # submitit's warning before the time limit: the job requeues itself

    assert cli.main(["grid", "--preset", "smoke", "--list"]) == 0
    listing = capsys.readouterr().out
    assert (
        "queued   rivals__hero__seed1  job 4242_13" in listing
        and f"14 queued, {len(grid.grid_runs(SMOKE)) - 14} todo" in listing
    )
    assert cli.main(submit) == 0  # the queued runs are left to their jobs
    assert "nothing to submit" in capsys.readouterr().out
    assert len((bin_dir / "submitted").read_text().splitlines()) == 1

    (bin_dir / "state").write_text("FAILED")
    assert cli.main(["grid", "--preset", "smoke", "--list"]) == 0
    failed = [line for line in capsys.readouterr().out.splitlines() if "rivals__hero__seed1" in line]
    assert failed == [
        f"failed   rivals__hero__seed1  job 4242_13 ended before the run finished: nothing in its log "
        f"(log: {script.parent / '4242_13_0_log.err'})"
    ]


# --- local workers -----------------------------------------------------------------------------


def test_a_failing_run_is_reported_with_its_log_and_the_jobs_other_runs_go_on(home):
    experiment = grid.grid_runs(SMOKE)[0].experiment
    ghosts = [grid.GridRun("rivals", f"ghost{k}", 0, experiment) for k in (1, 2)]  # ids no grid run has
    jobs = executors.submit(SMOKE, ghosts, ExecutorConfig("local", workers=1))
    executors.wait(SMOKE, ghosts, jobs, progress=False)
    states = executors.run_states(SMOKE, ghosts)
    log = Path(json.loads((paths.jobs_dir(SMOKE) / "runs.json").read_text())[ghosts[1].id]["log"])
    for run in ghosts:
        assert states[run.id].state == "failed"
        assert states[run.id].detail == (
            f"UserError: no grid run is called {run.id!r}; `lucid-dreamer grid --list` shows them (log: {log})"
        )
    assert "Traceback" in log.read_text()


def descendant(pid: int, command: str) -> int:
    """The process under `pid` whose command line contains `command` (a job's worker under submitit's
    local controller), waiting for it to start."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pending = [pid]
        while pending:
            parent = pending.pop()
            for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
                if command in Path(f"/proc/{child}/cmdline").read_text():
                    return int(child)
                pending.append(int(child))
        time.sleep(0.05)
    raise AssertionError(f"no process running {command} under {pid}")


def stop_mid_training(job, sig) -> Path:
    """Send `sig` to the job's worker once the run's training has written a checkpoint; returns the
    training's unfinished folder."""
    train = Path(os.environ["LUCID_DREAMER_ARTIFACTS"]) / "smoke" / "train"
    deadline = time.monotonic() + 300
    while not any(train.glob(".*.partial/last.safetensors")):
        assert not job.done(), f"the job ended before it could be stopped: {job.paths.stderr.read_text()}"
        assert time.monotonic() < deadline, "timed out waiting for a checkpoint"
        time.sleep(0.01)
    os.kill(descendant(int(job.job_id), "submitit.core._submit"), sig)
    (partial,) = train.glob(".*.partial")
    return partial


@pytest.mark.slow
def test_two_local_workers_give_the_inline_records_and_build_each_shared_stage_once(home, monkeypatch):
    only = ["--only", "rivals__"]
    # The inline grid with the threads each of two workers gets: float sums depend on the thread count.
    threads = torch.get_num_threads()
    torch.set_num_threads(executors.local_threads(2))
    try:
        assert cli.main(["grid", "--preset", "smoke", "--quiet", *only]) == 0
    finally:
        torch.set_num_threads(threads)
    inline = {record["id"]: record for record in grid_runner.load_records(SMOKE)}

    (home / "inline").mkdir()
    (home / "artifacts").rename(home / "inline" / "artifacts")
    log = home / "builds.jsonl"
    monkeypatch.setenv(BUILD_LOG, str(log))
    assert cli.main(["grid", "--preset", "smoke", "--quiet", *only, "--executor", "local", "--workers", "2"]) == 0
    local = {record["id"]: record for record in grid_runner.load_records(SMOKE)}

    assert local.keys() == inline.keys() and len(local) == 14
    for run_id, record in local.items():
        assert measured(record["metrics"]) == measured(inline[run_id]["metrics"]), run_id  # bit for bit
        assert record["train"]["best_val_loss"] == inline[run_id]["train"]["best_val_loss"], run_id
    built = [(b["stage"], b["entry"]) for b in builds(log)]
    assert len(built) == len(set(built))  # the workers started together on an empty cache
    assert {stage for stage, _ in built} == {
        "simulate",
        "tokenizer",
        "latents",
        "conditions",
        "references",
        "train",
        "dream",
    }
    assert len({b["pid"] for b in builds(log)}) == 2
    assert {b["threads"] for b in builds(log)} == {executors.local_threads(2)}


@pytest.mark.slow
def test_a_worker_killed_mid_training_leaves_nothing_corrupt_and_its_run_resumes_when_resubmitted(
    long_home, monkeypatch
):
    log = long_home / "builds.jsonl"
    monkeypatch.setenv(BUILD_LOG, str(log))
    runs = runs_named(LONG, [STOPPED])
    cfg = ExecutorConfig("local", workers=1)
    (job,) = executors.submit(LONG, runs, cfg)
    partial = stop_mid_training(job, signal.SIGKILL)
    while not job.done():
        time.sleep(0.05)

    state = executors.run_states(LONG, runs)[STOPPED]
    assert state.state == "failed" and "ended before the run finished" in state.detail
    for stage in ("simulate", "tokenizer", "latents", "references", "train", "dream"):  # every entry is whole
        folder = long_home / "artifacts" / "smoke" / stage
        for entry in (p for p in folder.glob("*") if p.is_dir() and not p.name.startswith(".")):
            assert (entry / "config.json").exists(), entry
    assert not (partial.parent / partial.name[1:].removesuffix(".partial")).exists()
    assert load_file(partial / "last.safetensors")  # checkpoints are renamed into place: never torn

    jobs = executors.submit(LONG, executors.runs_to_submit(LONG, runs), cfg)  # what re-running the command does
    executors.wait(LONG, runs, jobs, progress=False)
    assert executors.run_states(LONG, runs)[STOPPED].state == "done"
    trainings = [b for b in builds(log) if b["stage"] == "train"]
    assert len(trainings) == 1 and trainings[0]["resumed"]  # from the killed worker's checkpoint


@pytest.mark.slow
def test_a_job_at_its_time_limit_is_requeued_by_submitit_and_resumes(long_home, monkeypatch):
    log = long_home / "builds.jsonl"
    monkeypatch.setenv(BUILD_LOG, str(log))
    runs = runs_named(LONG, [STOPPED])
    # With a 10-minute limit submitit takes the signal for the time limit (not a pre-emption), and
    # requeues only a job that can checkpoint.
    (job,) = executors.submit(LONG, runs, ExecutorConfig("local", workers=1, timeout_min=10))
    stop_mid_training(job, signal.SIGUSR2)  # what Slurm sends shortly before the limit (--signal=USR2@90)
    executors.wait(LONG, runs, [job], progress=False)

    assert executors.run_states(LONG, runs)[STOPPED].state == "done"
    submitit_log = job.paths.stdout.read_text()
    assert "this job is timed-out" in submitit_log and "Requeued job" in submitit_log
    trainings = [b for b in builds(log) if b["stage"] == "train"]
    assert len(trainings) == 1 and trainings[0]["resumed"]
