"""`p88 bench --orchestration N`: the Dagster path at N partners, end to end.

A sandbox world of N small partners (the tiny world's size each, so the sync work is small and
the orchestration overhead shows); the repository's dagster.yaml on a fresh instance database of
the embedded Postgres; a real `dagster-daemon`. The partners file first lists every partner
inactive: the partition sensor registers them all without runs. Then they are set active and the
next `stale_watermarks` tick requests a run for each (no events stored yet), which the daemon's
run queue drains. Only sensor behaviour is used (the file, the ticks), never its code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg

from benchmarks.harness import empty_database, fresh_database, machine, mismatches, say
from benchmarks.orchestration_figures import (
    FINISHED,
    Sampler,
    run_figures,
    sensor_ticks,
    summarize_runs,
    tick_figures,
    wait_for,
)
from p88_pipeline.commands.dev import workspace_file
from p88_pipeline.commands.instance import ensure_pools
from p88_pipeline.commands.process_tree import stop_tree
from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline.defs.sensors import PARTITIONS_SENSOR, STALE_SENSOR
from p88_pipeline.providers.registry import pools
from p88_pipeline.settings import dagster_yaml, load_settings
from p88_pipeline.warehouse.db import normalize_url
from p88_pipeline.warehouse.embedded import embedded_url
from p88_pipeline.warehouse.embedded_admin import stopped_afterwards

SENSOR_INTERVAL_S = 60  # both sensors' minimum_interval_seconds: a tick can be that far away


def run_orchestration(
    partners: int, seed: int = 88, keep_db: bool = False, drain_limit_s: float | None = None
) -> dict[str, Any]:
    """The bench's databases are throwaway: an embedded server it starts is stopped at the end."""
    with stopped_afterwards(load_settings().pgdata, keep_db, say):
        with tempfile.TemporaryDirectory(prefix="p88-orchestration-") as tmp:
            return orchestrate(partners, seed, Path(tmp), drain_limit_s)


def orchestrate(
    n: int, seed: int, workdir: Path, drain_limit_s: float | None = None
) -> dict[str, Any]:
    from p88_sandbox.config import SandboxConfig
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    settings = load_settings()
    admin_url = os.environ.get("P88_BENCH_ADMIN_URL") or embedded_url(settings.pgdata, "postgres")
    world = World(seed=seed, scale=f"partners-{n}")
    config = SandboxConfig()
    config.quota_per_hour = dict.fromkeys(config.quota_per_hour, 10**9)
    started = time.perf_counter()
    with SandboxServer(world, config=config) as server:
        active_text = render_partners_yaml(world, server)
        partners_file = workdir / "partners.yaml"
        partners_file.write_text(active_text.replace("active: true", "active: false"))
        warehouse_url = fresh_database(admin_url, "p88_orch_warehouse")
        dagster_url = normalize_url(empty_database(admin_url, "p88_orch_dagster"))
        home = workdir / "dagster"
        home.mkdir()
        shutil.copyfile(dagster_yaml(), home / "dagster.yaml")
        env = {
            **os.environ,
            **partner_environment(world),
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": dagster_url,
            "P88_DATABASE_URL": warehouse_url,
            "P88_PARTNERS_FILE": str(partners_file),
            "P88_DATA_DIR": str(settings.data_dir),
            "P88_EXPORT_DIR": str(workdir / "exports"),
        }
        os.environ["DAGSTER_PG_URL"] = dagster_url  # dagster.yaml reads it, here too
        instance = dg.DagsterInstance.from_config(str(home))
        ensure_pools(instance, pools())  # as `p88 dev` does before the daemon starts
        daemon = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster-daemon"),
                "run",
                "-w",
                str(workspace_file()),
            ],
            env=env,
            cwd=home,
            start_new_session=True,
            stdout=open(workdir / "daemon.log", "w"),  # noqa: SIM115 (closed with the process)
            stderr=subprocess.STDOUT,
        )
        try:
            with Sampler(admin_url, daemon.pid) as sampler:
                figures = drive(instance, n, partners_file, active_text, drain_limit_s)
            figures["sampled"] = sampler.figures()
        except BaseException:
            say((workdir / "daemon.log").read_text()[-3000:])
            raise
        finally:
            stop_tree(daemon.pid)
        figures["mismatches"] = mismatches(warehouse_url, world, partners_file, "p88")
    return {
        "partners": n,
        "world": world.counts(),
        "seed": seed,
        "machine": machine(),
        "max_concurrent_runs": run_queue_limit(instance),
        "seconds": round(time.perf_counter() - started, 1),
        **figures,
    }


def run_queue_limit(instance: dg.DagsterInstance) -> int | None:
    return instance.get_concurrency_config().run_queue_config.max_concurrent_runs


def drive(
    instance: dg.DagsterInstance,
    n: int,
    partners_file: Path,
    active_text: str,
    drain_limit_s: float | None = None,
) -> dict[str, Any]:
    say(f"[orchestration {n}] daemon started; waiting for the partition sensor")

    def registered() -> int:
        keys = instance.get_dynamic_partitions(timing_partner_partitions.name)
        return len(keys) if len(keys) >= n else 0

    wait_for("registration of every partner", registered, timeout=6 * SENSOR_INTERVAL_S)
    partition_tick = next(
        (
            t
            for t in sensor_ticks(instance, PARTITIONS_SENSOR)
            if t.tick_data.dynamic_partitions_request_results
        ),
        None,
    )
    # The two sensors tick close together: flip only once the stale sensor has ticked on the
    # registered, inactive partners, so the next tick is the first to see them active.
    registered_at = partition_tick.tick_data.end_timestamp if partition_tick else time.time()
    wait_for(
        f"a {STALE_SENSOR} tick after registration",
        lambda: any(
            t.timestamp > registered_at and t.is_completed
            for t in sensor_ticks(instance, STALE_SENSOR)
        ),
        timeout=3 * SENSOR_INTERVAL_S,
    )
    flipped = time.time()
    partners_file.write_text(active_text)
    say(f"[orchestration {n}] {n} partners registered; set active, waiting for {STALE_SENSOR}")

    def requesting_tick() -> Any:
        return next(
            (
                t
                for t in sensor_ticks(instance, STALE_SENSOR)
                if t.timestamp >= flipped and t.run_ids and t.is_completed
            ),
            None,
        )

    # The tick ends once it has created and submitted every run: seconds per run on a busy host.
    tick = wait_for(
        "a stale_watermarks tick with runs", requesting_tick, 2 * SENSOR_INTERVAL_S + 15 * n
    )
    say(f"[orchestration {n}] tick requested {len(tick.run_ids)} runs; draining the queue")
    run_ids = list(tick.run_ids)

    def finished() -> list[str]:
        runs = instance.get_runs(filters=dg.RunsFilter(run_ids=run_ids))
        return [r.run_id for r in runs if r.status in FINISHED]

    try:
        wait_for(
            "the queue to drain",
            lambda: len(finished()) == len(run_ids),
            timeout=drain_limit_s or 900 + 20 * n,
            poll=2,
        )
    except TimeoutError:  # a partial drain still measures the rate: say how partial
        say(f"[orchestration {n}] drain limit reached: figures of the runs finished so far")
    done = finished()
    runs = [run_figures(instance, run_id) for run_id in done]
    return {
        "drained": len(done) == len(run_ids),
        "unfinished_runs": len(run_ids) - len(done),
        "partition_tick": tick_figures(partition_tick) if partition_tick else None,
        "stale_tick": tick_figures(tick),
        "tick_to_first_enqueue_s": round(min(r["enqueued"] for r in runs) - tick.timestamp, 2),
        **summarize_runs(runs),
    }
