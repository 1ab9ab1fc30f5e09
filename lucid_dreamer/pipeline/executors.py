"""The grid beyond one process: worker processes on this machine or a Slurm job array, through submitit.

submitit starts the jobs (subprocesses here, an `sbatch` array on a cluster), keeps their logs and
pickles under `artifacts/<preset>/jobs/<submission time>/`, and requeues a job that the
scheduler pre-empts or times out. Nothing is read back from its files: a job runs its share of the
runs as the inline grid does (each record written atomically, each run under its lock), and jobs
share the cache through its per-entry locks (`cache.cached`). Our own bookkeeping is JSON beside
them: `runs.json` maps each submitted run to its job and log, `runs/<run id>.error.json` holds the
last line of a run's failure.
"""

from __future__ import annotations

import json
import os
import shlex
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import submitit
from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from ..method.atomic import atomic_write
from . import paths
from .grid import GridRun, find_run
from .grid_runner import is_done, run_configs, run_pending
from .presets import Preset

SLURM_TIMEOUT_MIN = 60
LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # submitit's local default, 2 minutes, would requeue nearly every job


@dataclass(frozen=True)
class ExecutorConfig:
    """Where the grid's runs execute, and what each job asks for."""

    kind: str = "inline"
    """`inline` (this process, one run after another), `local` (worker processes here) or `slurm`."""
    workers: int = 2
    """Local worker processes; each takes a share of the runs, of the cores, and a GPU round-robin."""
    partition: str | None = None
    """Slurm partition of the jobs (None: the cluster's default)."""
    gpus_per_job: int = 0
    """GPUs each Slurm job asks for."""
    timeout_min: int | None = None
    """A job's time limit in minutes (None: an hour on Slurm, a week locally); a job that reaches it is
    requeued and continues where it stopped."""
    slurm_options: tuple[tuple[str, str], ...] = ()
    """Other sbatch settings as (option, value), e.g. (("account", "lab"), ("cpus-per-task", "8"))."""


@dataclass(frozen=True)
class RunState:
    """Where one run of the grid stands."""

    state: str
    """todo (never submitted), queued, running, done or failed."""
    detail: str = ""
    """The job that holds it; for a failed run, the error's last line and the log with the rest."""


class GridJob(submitit.helpers.Checkpointable):
    """One job's share of the grid, run one after another in the job's process.

    Checkpointable: when the scheduler pre-empts the job or its time runs out, submitit requeues this
    same call; finished runs are skipped and an unfinished training resumes from its last checkpoint.
    """

    def __init__(self, preset: Preset, threads: int | None = None) -> None:
        self.preset = preset
        self.threads = threads

    def __call__(self, run_ids: list[str]) -> None:
        import torch

        if self.threads is not None:
            torch.set_num_threads(self.threads)  # local workers share the cores rather than each taking all
        failed = []
        for run_id in run_ids:
            start = time.perf_counter()
            try:
                ran = run_pending(self.preset, find_run(self.preset, run_id))
            except Exception as e:  # the job's other runs go on; its log keeps the traceback
                traceback.print_exc()
                _write_json(error_path(self.preset, run_id), {"error": _error_line(e)})
                failed.append(run_id)
                continue
            print(
                f"{run_id}: ran in {time.perf_counter() - start:.0f} s" if ran else f"{run_id}: already done",
                flush=True,
            )
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(run_ids)} runs failed: {', '.join(failed)}")


def error_path(preset: Preset, run_id: str) -> Path:
    return paths.jobs_dir(preset) / "runs" / f"{run_id}.error.json"


def _error_line(error: Exception) -> str:
    """The error as the last line of its traceback reads: its type and (the first line of) its message."""
    return f"{type(error).__name__}: {error}".splitlines()[0].strip()


def _write_json(path: Path, obj) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1) + "\n")


def _batches(preset: Preset, runs: list[GridRun], jobs: int | None) -> list[list[str]]:
    """Run ids per job. Runs with the same configs (rows that share a run) go to one job, where all but
    the first find their training and dreams cached; these groups are dealt round-robin to `jobs`
    jobs, or make a job each (None)."""
    groups: dict[str, list[str]] = {}
    for run in runs:
        groups.setdefault(json.dumps(run_configs(preset, run), sort_keys=True), []).append(run.id)
    shares = list(groups.values())
    n = len(shares) if jobs is None else min(jobs, len(shares))
    return [[run_id for group in shares[i::n] for run_id in group] for i in range(n)]


def local_threads(workers: int) -> int:
    """Threads of each of `workers` local workers: the cores shared out. Float sums depend on the thread
    count, so records match the inline grid's bit for bit when it runs with as many threads."""
    return max(1, (os.cpu_count() or 1) // workers)


def _local_gpus() -> list[str]:
    """This machine's GPUs, as CUDA_VISIBLE_DEVICES names them."""
    import torch

    count = torch.cuda.device_count()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible.split(",")[:count] if visible else [str(i) for i in range(count)]


def submit(preset: Preset, runs: list[GridRun], cfg: ExecutorConfig, cluster: str | None = None) -> list:
    """Start `runs` as submitit jobs and record which job holds which run; returns the jobs.

    Locally, one job per worker; on Slurm, one job per group of runs that share their training, as one
    array. `cluster` replaces the executor submitit uses (the tests run the Slurm settings through its
    "debug" executor, which runs the jobs in this process when they are waited for).
    """
    cluster = cluster or cfg.kind
    folder = paths.jobs_dir(preset) / time.strftime("%Y%m%d-%H%M%S")  # this submission's logs and pickles
    executor = submitit.AutoExecutor(folder, cluster=cluster)
    executor.update_parameters(
        name=f"lucid-dreamer-grid-{preset.name}",
        timeout_min=cfg.timeout_min or (SLURM_TIMEOUT_MIN if cfg.kind == "slurm" else LOCAL_TIMEOUT_MIN),
        gpus_per_node=cfg.gpus_per_job or None,
        slurm_partition=cfg.partition,
        slurm_additional_parameters=dict(cfg.slurm_options) or None,
    )
    for run in runs:  # a failure from an earlier job is not this one's
        error_path(preset, run.id).unlink(missing_ok=True)
    if cfg.kind == "local":
        batches = _batches(preset, runs, cfg.workers)
        job = GridJob(preset, threads=local_threads(cfg.workers))
        gpus, jobs = _local_gpus(), []
        for i, batch in enumerate(batches):
            if gpus:  # submitit hides the GPUs from local jobs unless told which each may see
                executor.update_parameters(
                    local_setup=[f"export CUDA_VISIBLE_DEVICES={shlex.quote(gpus[i % len(gpus)])}"]
                )
            jobs.append(executor.submit(job, batch))
    else:
        batches = _batches(preset, runs, None)
        with executor.batch():
            jobs = [executor.submit(GridJob(preset), batch) for batch in batches]
    _record(preset, cluster, jobs, batches)
    return jobs


def _record(preset: Preset, cluster: str, jobs: list, batches: list[list[str]]) -> None:
    path = paths.jobs_dir(preset) / "runs.json"
    with FileLock(path.with_name(".runs.json.lock"), fallback_to_soft=False):  # two submissions at once
        entries = json.loads(path.read_text()) if path.exists() else {}
        for job, batch in zip(jobs, batches):
            entry = {
                "job": job.job_id,
                "cluster": cluster,
                "log": str(job.paths.stderr),
                "result": str(job.paths.result_pickle),
            }
            entries |= {run_id: entry for run_id in batch}
        _write_json(path, entries)


def wait(preset: Preset, runs: list[GridRun], jobs: list, progress: bool = True) -> None:
    """Wait until the jobs end, counting finished runs; Ctrl-C stops the jobs."""
    try:
        with tqdm(total=len(runs), desc="grid", unit="run", disable=not progress) as bar:
            while not all(job.done() for job in jobs):
                bar.update(sum(is_done(preset, r) for r in runs) - bar.n)
                time.sleep(1)
            bar.update(sum(is_done(preset, r) for r in runs) - bar.n)
    except KeyboardInterrupt:
        for job in jobs:
            job.cancel(check=False)
        raise


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another account
    return True


def _jobs_over(entries: list[dict]) -> dict[str, bool]:
    """For each job, whether it has ended (so that a run it did not finish has failed)."""
    over = {}
    for e in entries:
        if e["cluster"] == "local":
            # submitit knows a local job's process only in the command that started it; its id is the pid
            over[e["job"]] = Path(e["result"]).exists() or not _process_alive(int(e["job"]))
        elif e["cluster"] == "debug":
            over[e["job"]] = True  # debug jobs run inside the command that submitted them
    # Every Slurm job is registered before any is asked: one sacct call answers for all.
    slurm = {e["job"]: submitit.SlurmJob(Path(e["log"]).parent, e["job"]) for e in entries if e["cluster"] == "slurm"}
    return over | {job_id: job.done() for job_id, job in slurm.items()}


def _held(path: Path) -> bool:
    """Whether another process holds the lock at `path`."""
    if not path.exists():
        return False
    try:
        with FileLock(path, timeout=0, fallback_to_soft=False):
            return False
    except Timeout:
        return True


def _log_tail(path: str) -> str:
    """The last line of a job's log (the end of its traceback, or what stopped it)."""
    text = Path(path).read_text(errors="replace") if Path(path).exists() else ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "nothing in its log"


def run_states(preset: Preset, runs: list[GridRun]) -> dict[str, RunState]:
    """Each run's state: done (its record is there), running (a process holds its lock), failed (its job
    wrote an error for it, or ended without finishing it), queued (its job has not ended), or todo."""
    path = paths.jobs_dir(preset) / "runs.json"
    entries = json.loads(path.read_text()) if path.exists() else {}
    states, waiting = {}, []
    for run in runs:
        entry = entries.get(run.id)
        if is_done(preset, run):
            states[run.id] = RunState("done")
        elif _held(paths.run_lock_path(preset, run.id)):
            states[run.id] = RunState("running", f"job {entry['job']}" if entry else "")
        elif entry is None:
            states[run.id] = RunState("todo")
        elif error_path(preset, run.id).exists():
            error = json.loads(error_path(preset, run.id).read_text())["error"]
            states[run.id] = RunState("failed", f"{error} (log: {entry['log']})")
        else:
            waiting.append(run.id)
    over = _jobs_over([entries[run_id] for run_id in waiting])
    for run_id in waiting:
        entry = entries[run_id]
        if over[entry["job"]]:
            detail = f"job {entry['job']} ended before the run finished: {_log_tail(entry['log'])}"
            states[run_id] = RunState("failed", f"{detail} (log: {entry['log']})")
        else:
            states[run_id] = RunState("queued", f"job {entry['job']}")
    return states


def runs_to_submit(preset: Preset, runs: list[GridRun]) -> list[GridRun]:
    """The runs that no job holds: neither queued nor running."""
    states = run_states(preset, runs)
    return [r for r in runs if states[r.id].state not in ("queued", "running")]
