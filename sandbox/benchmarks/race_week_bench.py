"""`p88 bench --race-week`: race week alone (a few minutes), not the whole fourteen-minute bench.

One world, every event's participants loaded by p88, then the reports and start lists twice:
every file new, then nothing changed (an ordinary night).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.floor import settle
from benchmarks.harness import fresh_database, machine, mismatches, run_worker, say
from benchmarks.race_week import run_race_week
from p88_pipeline.settings import load_settings
from p88_pipeline.warehouse.embedded import embedded_url
from p88_pipeline.warehouse.embedded_admin import stopped_afterwards


def race_week_only(scale: str = "seed", seed: int = 88, keep_db: bool = False) -> dict[str, Any]:
    """The embedded server the bench starts is stopped at the end unless `keep_db`."""
    with stopped_afterwards(load_settings().pgdata, keep_db, say):
        return _race_week(scale, seed)


def _race_week(scale: str, seed: int) -> dict[str, Any]:
    from p88_sandbox.config import SandboxConfig
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    admin_url = os.environ.get("P88_BENCH_ADMIN_URL") or embedded_url(
        load_settings().pgdata, "postgres"
    )
    world = World(seed=seed, scale=scale)
    config = SandboxConfig()
    config.quota_per_hour = dict.fromkeys(config.quota_per_hour, 10**9)
    with tempfile.TemporaryDirectory(prefix="p88-race-week-") as tmp:
        workdir = Path(tmp)
        with SandboxServer(world, config=config) as server:
            partners_file = workdir / "partners.yaml"
            partners_file.write_text(render_partners_yaml(world, server))
            db_url = fresh_database(admin_url, "p88_bench_race_week")
            as_of = world.clock.now()
            say(f"race week ({scale}): full sync of every event's participants")
            env = partner_environment(world)
            load = run_worker("p88-all-events", db_url, partners_file, as_of, env)
            wrong = mismatches(db_url, world, partners_file, "p88-all-events")
            settle(db_url)  # the report is timed on a settled server, not beside autovacuum
        say(f"race week: {load['rows_written']:,} rows loaded; report + start lists, twice")
        first = run_race_week(db_url, partners_file, as_of, workdir / "exports")
        again = run_race_week(db_url, partners_file, as_of, workdir / "exports")
    return {
        "scale": scale,
        "seed": seed,
        "machine": machine(),
        "participants": load["rows_written"],
        "mismatches": wrong,
        "first": first,
        "unchanged": again,
    }
