"""Reconcile the Dagster instance and sync_runs with the processes really running on this host.

A `p88 sync` worker that died without finishing (SIGKILL, OOM, the database stopping under it)
leaves its Dagster run STARTED, holding `runsignup_api` / `haku_api` pool slots, and its
sync_runs row `running`; later runs would wait for those slots forever. `p88 sync` runs this
before starting (and `p88 doctor` can): a run of this host whose process is gone is marked
failed with Dagster's own `instance.report_run_failed`, its slots are freed with
`event_log_storage.free_concurrency_slots_for_run`, and its sync_runs rows are closed.

Runs launched by the daemon (`p88 dev`, production) are the daemon's run monitoring's job
(dagster.yaml `run_monitoring`), not this: only runs carrying p88's process tags are judged here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

import dagster as dg
import psutil
import sqlalchemy as sa

from p88_pipeline.warehouse.runs import close_runs, open_run_ids

HOST_TAG, PID_TAG, PID_STARTED_TAG = "p88/host", "p88/pid", "p88/pid_started"
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
GONE = "the process running this sync ({where}) is gone (killed or crashed)"
CLOSED_ROW = (
    "the sync process ended before finishing (killed, crashed or stopped); its open race was "
    "rolled back and kept its watermark"
)


def process_tags() -> dict[str, str]:
    """Tags naming the process that executes a run, so a later check can tell it is gone."""
    me = psutil.Process()
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(me.pid),
        PID_STARTED_TAG: f"{me.create_time():.2f}",
    }


def process_alive(pid: int, started: float) -> bool:
    """Alive and the same process (a pid can be reused by another one after a crash)."""
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True


def dead_runs(instance: dg.DagsterInstance, host: str | None = None) -> list[dg.DagsterRun]:
    """Unfinished runs of this host whose process no longer exists."""
    host = host or socket.gethostname()
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: host}))
    dead = []
    for run in runs:
        try:
            pid, started = int(run.tags[PID_TAG]), float(run.tags[PID_STARTED_TAG])
        except (KeyError, ValueError):
            continue
        if pid != os.getpid() and not process_alive(pid, started):
            dead.append(run)
    return dead


def fail_runs(instance: dg.DagsterInstance, runs: Iterable[dg.DagsterRun], why: str) -> list[str]:
    """Mark runs failed and free their pool slots, with Dagster's own APIs."""
    done = []
    for run in runs:
        where = f"pid {run.tags.get(PID_TAG)} on {run.tags.get(HOST_TAG)}"
        instance.report_run_failed(run, message=f"p88: {why.format(where=where)}")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        done.append(run.run_id)
    return done


def finished_slot_holders(instance: dg.DagsterInstance) -> list[str]:
    """Runs that are over yet still hold or queue for pool slots: free them too."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders = storage.get_concurrency_run_ids()
    for pool in storage.get_concurrency_keys():
        holders |= {slot.run_id for slot in storage.get_concurrency_info(pool).claimed_slots}
    if not holders:
        return []
    records = instance.get_run_records(dg.RunsFilter(run_ids=sorted(holders)))
    over = [r.dagster_run.run_id for r in records if r.dagster_run.is_finished]
    for run_id in over:
        storage.free_concurrency_slots_for_run(run_id)
    return over


def close_rows(
    instance: dg.DagsterInstance, engine: sa.Engine, status: str = "failed", why: str = CLOSED_ROW
) -> int:
    """sync_runs rows still `running` whose Dagster run is over: closed with the reason."""
    open_ids = open_run_ids(engine)
    if not open_ids:
        return 0
    records = instance.get_run_records(dg.RunsFilter(run_ids=open_ids))
    over = [r.dagster_run.run_id for r in records if r.dagster_run.is_finished]
    return close_runs(engine, over, status, why)


def reconcile(
    instance: dg.DagsterInstance, engine: sa.Engine | None, row_status: str = "failed"
) -> list[str]:
    """Bring the instance and sync_runs back in line; one line per thing done (none if clean)."""
    failed = fail_runs(instance, dead_runs(instance), GONE)
    freed = finished_slot_holders(instance)
    closed = close_rows(instance, engine, row_status) if engine is not None else 0
    lines = []
    if failed or freed:
        runs = sorted(set(failed) | set(freed))
        lines.append(
            f"p88: reconciled {len(runs)} Dagster run(s) left behind by processes that are gone "
            f"({', '.join(r[:8] for r in runs)}): marked failed, pool slots freed"
        )
    if closed:
        lines.append(f"p88: closed {closed} sync_runs row(s) left 'running' ({row_status})")
    return lines
