"""What `p88 bench --orchestration N` reads back: ticks and runs from the Dagster instance, and
samples of Postgres connections and process memory taken while the daemon drains the queue."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import dagster as dg
import psutil
import sqlalchemy as sa
from dagster._core.scheduler.instigation import InstigatorTick, InstigatorType

from p88_pipeline.lib.run_tags import SOURCE_TAG
from p88_pipeline.warehouse.sizes import connections_by_database, max_connections

FINISHED = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}
EVENTS = (
    dg.DagsterEventType.RUN_ENQUEUED,
    dg.DagsterEventType.RUN_DEQUEUED,
    dg.DagsterEventType.RUN_STARTING,
    dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
)


def sensor_ticks(instance: dg.DagsterInstance, name: str) -> list[InstigatorTick]:
    """The sensor's ticks, newest first, through the instance's public tick storage."""
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == name:
            return list(
                instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=200)
            )
    return []


def tick_figures(tick: InstigatorTick) -> dict[str, Any]:
    end = tick.tick_data.end_timestamp
    return {
        "status": tick.status.value,
        "started": tick.timestamp,
        "seconds": None if end is None else round(end - tick.timestamp, 3),
        "runs_requested": len(tick.run_ids),
    }


def run_figures(instance: dg.DagsterInstance, run_id: str) -> dict[str, Any]:
    """One run's timeline: queued (waiting for a slot), launch (process start and code load until
    the run reports STARTED), its steps (the sync itself) and the rest (Dagster bookkeeping)."""
    stamps: dict[str, float] = {}
    for record in instance.get_records_for_run(run_id, of_type=set(EVENTS)).records:
        entry = record.event_log_entry
        stamps.setdefault(entry.dagster_event_type.value, entry.timestamp)
    steps = sum(
        (s.end_time or 0) - (s.start_time or 0)
        for s in instance.get_run_step_stats(run_id)
        if s.start_time
    )
    end = stamps.get("PIPELINE_SUCCESS", stamps.get("PIPELINE_FAILURE"))
    enqueued = stamps.get("PIPELINE_ENQUEUED")
    starting = stamps.get("PIPELINE_STARTING")  # the coordinator launched it: a slot was free
    dequeued = stamps.get("PIPELINE_DEQUEUED", starting)  # not every version logs a dequeue
    started = stamps.get("PIPELINE_START")
    run = instance.get_run_by_id(run_id)
    out = {
        "status": run.status.value if run else "?",
        "enqueued": enqueued,
        "ended": end,
        "steps_s": steps,
    }
    if None not in (enqueued, dequeued, starting, started, end):
        out |= {
            "queued_s": dequeued - enqueued,
            "launch_s": started - starting,
            "in_slot_s": end - dequeued,
            "bookkeeping_s": (end - started) - steps,
        }
    return out


def summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    timed = [r for r in runs if "launch_s" in r]

    def med(key: str) -> float | None:
        return round(statistics.median(r[key] for r in timed), 3) if timed else None

    first = min((r["enqueued"] for r in runs if r["enqueued"]), default=None)
    last = max((r["ended"] for r in runs if r["ended"]), default=None)
    drain = None if first is None or last is None else last - first
    return {
        "runs": len(runs),
        "succeeded": sum(1 for r in runs if r["status"] == "SUCCESS"),
        "drain_s": None if drain is None else round(drain, 1),
        "runs_per_minute": round(len(runs) / drain * 60, 2) if drain else None,
        "median_launch_s": med("launch_s"),
        "median_steps_s": med("steps_s"),
        "median_bookkeeping_s": med("bookkeeping_s"),
        "median_in_slot_s": med("in_slot_s"),
        "median_queued_s": med("queued_s"),
        "max_queued_s": round(max((r["queued_s"] for r in timed), default=0.0), 1),
        "overhead_share": round(
            1 - sum(r["steps_s"] for r in timed) / sum(r["in_slot_s"] for r in timed), 3
        )
        if timed
        else None,
    }


class Sampler:
    """Every `interval` s: client connections per database (pg_stat_activity) and the resident
    memory of the daemon's process tree (daemon, code server, run workers)."""

    def __init__(self, admin_url: str, root_pid: int, interval: float = 0.5) -> None:
        self.engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.root_pid = root_pid
        self.interval = interval
        self.peak_connections: dict[str, int] = {}
        self.peak_total = 0
        self.peak_tree_rss_mb = 0.0
        self.peak_worker_rss_mb = 0.0
        self.peak_workers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        with self.engine.connect() as conn:
            self.max_connections = max_connections(conn)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _loop(self) -> None:
        with self.engine.connect() as conn:
            while not self._stop.wait(self.interval):
                counts = connections_by_database(conn)
                self.peak_total = max(self.peak_total, sum(counts.values()))
                for name, count in counts.items():
                    self.peak_connections[name] = max(self.peak_connections.get(name, 0), count)
                self._memory()

    def _memory(self) -> None:
        try:
            root = psutil.Process(self.root_pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total, workers = 0.0, []
        for proc in tree:
            try:
                rss = proc.memory_info().rss / 2**20
                # Run workers: the code server starts them with multiprocessing (spawn_main)
                if any(m in " ".join(proc.cmdline()) for m in ("spawn_main", "execute_run")):
                    workers.append(rss)
            except psutil.NoSuchProcess:
                continue
            total += rss
        self.peak_tree_rss_mb = max(self.peak_tree_rss_mb, total)
        self.peak_worker_rss_mb = max([self.peak_worker_rss_mb, *workers])
        self.peak_workers = max(self.peak_workers, len(workers))

    def figures(self) -> dict[str, Any]:
        return {
            "max_connections": self.max_connections,
            "peak_connections_total": self.peak_total,
            "peak_connections_by_database": {k: v for k, v in self.peak_connections.items() if v},
            "peak_daemon_tree_rss_mb": round(self.peak_tree_rss_mb),
            "peak_run_worker_rss_mb": round(self.peak_worker_rss_mb),
            "peak_run_workers": self.peak_workers,
        }


def kept_instance_figures(instance: dg.DagsterInstance, sensor: str) -> dict[str, Any]:
    """The figures of the runs the sensor requested, re-read from a kept instance (a tick
    lists its runs only once it has submitted them all: the runs carry the sensor's tag)."""
    tick = max(sensor_ticks(instance, sensor), key=lambda t: len(t.run_ids))
    runs = instance.get_runs(filters=dg.RunsFilter(tags={SOURCE_TAG: sensor}))
    done = [run_figures(instance, r.run_id) for r in runs if r.status in FINISHED]
    return {
        "stale_tick": tick_figures(tick),
        "requested": len(runs),
        "unfinished_runs": len(runs) - len(done),
        **summarize_runs(done),
    }


def wait_for(what: str, condition: Any, timeout: float, poll: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"orchestration bench: {what} did not happen within {timeout:.0f} s")


def main(argv: list[str]) -> int:
    """`python -m benchmarks.orchestration_figures DAGSTER_PG_URL`: re-read the figures of an
    instance `p88 bench --orchestration N --keep-db` left (database p88_orch_dagster)."""
    import json
    import os
    import shutil
    import tempfile

    from p88_pipeline.settings import dagster_yaml

    os.environ["DAGSTER_PG_URL"] = argv[0]
    with tempfile.TemporaryDirectory() as home:
        shutil.copyfile(dagster_yaml(), os.path.join(home, "dagster.yaml"))
        instance = dg.DagsterInstance.from_config(home)
        print(json.dumps(kept_instance_figures(instance, "stale_watermarks"), indent=2))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
