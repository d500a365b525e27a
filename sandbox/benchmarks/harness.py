"""`p88 bench`: every strategy on the same sandbox world and a fresh database each, side by side.

Per repetition: a new world (same seed), a full first sync, one simulated night and a nightly
sync, another night and a nightly sync with simulated latency. Strategies run in a worker process
(their own memory and GIL); the sandbox runs here. Figures are medians over the repetitions.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.floor import copy_floor, settle
from benchmarks.minimum import excess_by_provider, minimum_by_account, minimum_calls
from benchmarks.race_week import run_race_week
from benchmarks.strategies import STRATEGIES
from benchmarks.worker import peak_rss_mb
from p88_pipeline.config.partners import load_partners
from p88_pipeline.settings import PROJECT_ROOT, load_settings
from p88_pipeline.warehouse.db import get_engine
from p88_pipeline.warehouse.embedded import embedded_url
from p88_pipeline.warehouse.embedded_admin import stopped_afterwards
from p88_pipeline.warehouse.migrations import prepare_warehouse
from p88_sandbox.truth import compare_with_truth

DEFAULT_STRATEGIES = ("before", "seed-optimized", "p88")


# What the bench is doing, for a progress display: strategy, repetition (from 0), repetitions,
# the phase starting (None: the strategy is done).
Step = Callable[[str, int, int, str | None], None]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def say_step(name: str, rep: int, reps: int, phase: str | None) -> None:
    if phase:
        say(f"[{name} #{rep + 1}] {phase}")


def empty_database(admin_url: str, name: str) -> str:
    """A database of that name, dropped first if it exists; its URL."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def fresh_database(admin_url: str, name: str) -> str:
    """An empty warehouse (migrated) of that name."""
    url = empty_database(admin_url, name)
    prepare_warehouse(get_engine(url))
    return url


def run_worker(
    strategy: str, db_url: str, partners_file: Path, as_of: datetime, env: dict[str, str]
) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.worker",
            strategy,
            db_url,
            str(partners_file),
            as_of.isoformat(),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{strategy} worker failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def mismatches(db_url: str, world: Any, partners_file: Path, strategy: str) -> int:
    """Records that differ from the truth over every event the strategy was asked to sync:
    past ones too for the every-event strategies."""
    engine = get_engine(db_url)
    grace = STRATEGIES[strategy].grace
    total = 0
    for partner in load_partners(partners_file):
        for provider in partner.accounts:
            total += compare_with_truth(
                engine, world, provider, partner.id, partner.slug, world.clock.now(), grace
            ).mismatches
    return total


def one_repetition(
    plan: BenchPlan, name: str, rep: int, site: BenchSite, step: Step = say_step
) -> dict[str, Any]:
    from p88_sandbox.config import SandboxConfig
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    world = World(seed=plan.seed, scale=plan.scale)
    config = SandboxConfig()
    config.quota_per_hour = dict.fromkeys(config.quota_per_hour, 10**9)  # the bench measures us
    with SandboxServer(world, config=config) as server:
        partners_file = site.workdir / f"partners-{name}-{rep}.yaml"
        partners_file.write_text(render_partners_yaml(world, server))
        env = partner_environment(world)
        db_url = fresh_database(site.admin_url, f"p88_bench_{name.replace('-', '_')}_{rep}")
        out: dict[str, Any] = {}
        as_of = world.clock.now()
        step(name, rep, plan.repetitions(name), "full first sync")
        out["full"] = run_worker(name, db_url, partners_file, as_of, env)
        out["full"]["minimum"] = sum(minimum_calls(world, as_of, None).values())
        out["mismatches"] = mismatches(db_url, world, partners_file, name)
        if name == "p88" and rep == 0 and plan.all_events:
            step(name, rep, plan.repetitions(name), "full sync of every event's participants")
            all_url = fresh_database(site.admin_url, "p88_bench_p88_all_events")
            out["all_events"] = run_worker("p88-all-events", all_url, partners_file, as_of, env)
            out["all_events"]["mismatches"] = mismatches(
                all_url, world, partners_file, "p88-all-events"
            )
            settle(all_url)  # its autovacuum would run during the next three measurements
            out["copy_floor_rows_s"] = copy_floor(all_url)
            reps = plan.repetitions(name)
            step(name, rep, reps, "the load stage alone: every event, a partner at a time")
            alone_url = fresh_database(site.admin_url, "p88_bench_p88_load_alone")
            out["load_alone"] = run_worker("p88-load-alone", alone_url, partners_file, as_of, env)
            settle(alone_url)
            step(
                name,
                rep,
                plan.repetitions(name),
                "race-week report + start lists on every participant",
            )
            out["race_week"] = run_race_week(
                all_url, partners_file, as_of, site.workdir / "exports"
            )
        for phase, latency in (("nightly", 0), ("nightly_latency", plan.latency_ms)):
            since = as_of
            world.advance(timedelta(days=1))
            as_of = world.clock.now()
            first = phase == "nightly"
            by_account = minimum_by_account(world, as_of, since, first_incremental=first)
            minimum = minimum_calls(world, as_of, since, first_incremental=first)
            if name == "before" and latency:
                # Partners and calls in series: latency adds calls x latency to the measured
                # night. Modelled, not run: 16,000+ sequential calls at 100 ms take half an hour.
                result = dict(out["nightly"])
                result["wall_s"] += result["api_calls"] * latency / 1000
                result["modelled"] = True
            else:
                server.set_latency(latency)
                step(name, rep, plan.repetitions(name), f"{phase} sync (latency {latency} ms)")
                result = run_worker(name, db_url, partners_file, as_of, env)
                server.set_latency(0)
                out["mismatches"] += mismatches(db_url, world, partners_file, name)
            result["minimum"] = sum(minimum.values())
            result["max_minimum_per_partner"] = max(minimum.values())
            if "per_partner" in result:
                result["by_provider"] = excess_by_provider(by_account, result["per_partner"])
            out[phase] = result
        return out


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(name: str, reps: list[dict[str, Any]]) -> dict[str, Any]:
    def med(phase: str, key: str) -> float:
        return median([r[phase][key] for r in reps])

    full_load = [r["full"]["load_rows"] / r["full"]["load_s"] for r in reps if r["full"]["load_s"]]
    return {
        "strategy": name,
        "repetitions": len(reps),
        "full_wall_s": med("full", "wall_s"),
        "full_api_calls": med("full", "api_calls"),
        "full_minimum_calls": med("full", "minimum"),
        "full_rows": med("full", "rows_written"),
        "full_events_listed": med("full", "events_listed"),
        "full_events_synced": med("full", "events_synced"),
        "load_rows_per_s": median(full_load),
        "nightly_api_calls": med("nightly", "api_calls"),
        "nightly_max_calls_per_partner": med("nightly", "max_calls_per_partner"),
        "nightly_mean_calls_per_partner": med("nightly", "mean_calls_per_partner"),
        "nightly_minimum_calls": med("nightly", "minimum"),
        "nightly_rows": med("nightly", "rows_written"),
        "nightly_wall_s": med("nightly", "wall_s"),
        "nightly_latency_wall_s": med("nightly_latency", "wall_s"),
        "nightly_latency_modelled": bool(reps[0]["nightly_latency"].get("modelled")),
        "peak_rss_mb": max(max(r[p]["peak_rss_mb"] for p in ("full", "nightly")) for r in reps),
        "partner_peak_rss_mb": max(
            max(r[p].get("partner_peak_rss_mb", 0.0) for p in ("full", "nightly")) for r in reps
        ),
        # The full first sync's peak per partner process: how it spreads, not only its maximum.
        "partner_rss_mb": reps[0]["full"].get("partner_rss_mb"),
        "mismatches": sum(r["mismatches"] for r in reps),
        "nightly_by_provider": reps[0]["nightly"].get("by_provider"),
        "copy_floor_rows_s": next(
            (r["copy_floor_rows_s"] for r in reps if "copy_floor_rows_s" in r), None
        ),
        **_all_events(reps),
    }


def _all_events(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """p88 loading every participant of every event: the full-size load figures."""
    run = next((r["all_events"] for r in reps if "all_events" in r), None)
    if run is None:
        return {}
    return {
        "all_events_wall_s": run["wall_s"],
        "all_events_rows": run["rows_written"],
        "all_events_load_rows_per_s": run["load_rows"] / run["load_s"] if run["load_s"] else 0.0,
        "all_events_peak_rss_mb": run["peak_rss_mb"],
        "all_events_partner_peak_rss_mb": run.get("partner_peak_rss_mb"),
        "all_events_mismatches": run["mismatches"],
        **_load_alone(next((r["load_alone"] for r in reps if "load_alone" in r), None)),
        **race_week_figures(next(r["race_week"] for r in reps if "race_week" in r)),
    }


def _load_alone(run: dict[str, Any] | None) -> dict[str, Any]:
    if run is None:
        return {}
    return {
        "load_alone_rows": run["load_rows"],
        "load_alone_rows_per_s": run["load_rows"] / run["load_s"] if run["load_s"] else 0.0,
    }


def race_week_figures(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "race_week_s": run["wall_s"],
        "race_week_events": run["events"],
        "race_week_files": run["files"],
        "race_week_peak_rss_mb": run["peak_rss_mb"],
    }


@dataclass(frozen=True)
class BenchPlan:
    """What one bench run measures: the world, the strategies, how often, at which latency."""

    scale: str = "seed"
    repeat: int = 3
    latency_ms: int = 100
    seed: int = 88
    strategies: Sequence[str] = DEFAULT_STRATEGIES
    all_events: bool = True  # p88's every-event load and race week too

    def repetitions(self, strategy: str) -> int:
        return 1 if strategy == "before" else self.repeat


@dataclass(frozen=True)
class BenchSite:
    """Where a repetition runs: the server it creates its databases on, its scratch folder."""

    admin_url: str
    workdir: Path


def run_bench(
    plan: BenchPlan = BenchPlan(),
    keep_db: bool = False,
    step: Step = say_step,
    note: Callable[[str], None] = say,
) -> dict[str, Any]:
    """The bench's databases are throwaway: an embedded server it starts is stopped at the end."""
    with stopped_afterwards(load_settings().pgdata, keep_db, note):
        return bench(plan, step)


def bench(plan: BenchPlan, step: Step = say_step) -> dict[str, Any]:
    settings = load_settings()
    # The bench creates and drops its own databases: on P88_BENCH_ADMIN_URL's server, else on
    # the embedded one.
    admin_url = os.environ.get("P88_BENCH_ADMIN_URL") or embedded_url(settings.pgdata, "postgres")
    started = time.perf_counter()
    summaries = {}
    with tempfile.TemporaryDirectory(prefix="p88-bench-") as tmp:
        site = BenchSite(admin_url, Path(tmp))
        for name in plan.strategies:
            results = [
                one_repetition(plan, name, rep, site, step) for rep in range(plan.repetitions(name))
            ]
            summaries[name] = summarize(name, results)
            step(name, plan.repetitions(name), plan.repetitions(name), None)
    return {
        "scale": plan.scale,
        "world": world_size(plan.scale, plan.seed),
        # The harness process: sandbox server, its world and caches, the truth comparisons.
        "sandbox_peak_rss_mb": round(peak_rss_mb(), 1),
        "seed": plan.seed,
        "repeat": plan.repeat,
        "latency_ms": plan.latency_ms,
        "machine": machine(),
        "seconds": round(time.perf_counter() - started, 1),
        "strategies": summaries,
    }


def world_size(scale: str, seed: int) -> dict[str, int]:
    from p88_sandbox.world import World

    counts = World(seed=seed, scale=scale).counts()
    return {k: counts[k] for k in ("partners", "events", "participants")}


def machine() -> dict[str, Any]:
    import platform

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
    }
