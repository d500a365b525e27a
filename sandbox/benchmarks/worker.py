"""One phase (full or nightly) of one strategy, in its own process so peak memory is its own.

`python -m benchmarks.worker STRATEGY DB_URL PARTNERS_FILE AS_OF` prints one JSON line.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.strategies import STRATEGIES, LoadMeter, Strategy, timed_writer
from p88_pipeline.config.partners import Partner, load_partners
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.registry import spec_for
from p88_pipeline.sync.engine import (
    LoadOptions,
    SyncScope,
    select_future,
    sync_events,
    sync_participants,
)
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline.warehouse.db import get_engine

UNPACED_QUOTA = 10**9


def _account_for(strategy: Strategy, partner: Partner, provider: str) -> Partner:
    account = partner.accounts[provider]
    changes = {}
    if strategy.page_size is not None:
        changes["page_size"] = strategy.page_size
    if not strategy.paced:
        changes["quota_per_hour"] = UNPACED_QUOTA
    accounts = {**partner.accounts, provider: replace(account, **changes)}
    return replace(partner, accounts=accounts)


def run_partner(
    strategy: Strategy, engine, dsn: str, partner: Partner, as_of: datetime, meter: LoadMeter
) -> dict:
    figures = {}
    for provider in sorted(partner.accounts):
        tuned = _account_for(strategy, partner, provider)
        client = build_client(tuned, provider)
        # The grace reaches the events list too: RunSignUp's start_date and Haku's early stop
        # would otherwise cut the list to recent events before any event is judged.
        events = sync_events(engine, client, tuned, strategy.grace)
        early_stop_only = not spec_for(provider).server_filter
        full = strategy.always_full or (early_stop_only and not strategy.early_stop)
        policy = SyncPolicy(force_full=full, grace=strategy.grace)
        _, future = select_future(engine, provider, tuned, as_of, policy)
        options = LoadOptions(
            group_by_race=strategy.group_by_race,
            parallel_groups=strategy.parallel_groups,
            writer=timed_writer(meter, strategy.row_by_row, dsn),
        )
        result = sync_participants(
            SyncScope(engine, client, tuned), future, policy, lambda: as_of, options
        )
        figures[provider] = {
            "api_calls": events.api_calls + result.api_calls,
            "events_total": events.events_total,
            "events_future": result.events_future,
            "upserted": result.participants_upserted,
            "removed": result.participants_removed,
            "sync_types": result.type_counts,
            # pages read only to find the end of a read (providers/paging.py): the proving calls
            "proving_calls": getattr(getattr(client, "caps", None), "extra_calls", 0),
        }
    return figures


def peak_rss_mb() -> float:
    """This process's own high-water mark. (ru_maxrss would report the forking parent's size:
    Linux carries it across exec, and the harness holding the seed world is the parent.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def partner_job(
    name: str, db_url: str, partners_file: str, slug: str, as_of: datetime
) -> dict[str, Any]:
    """One partner in its own process, as `p88 sync` runs partners (one Dagster run each)."""
    get_engine.cache_clear()  # never share a pooled connection across fork
    strategy = STRATEGIES[name]
    engine = get_engine(db_url)
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    partner = next(p for p in load_partners(partners_file) if p.slug == slug)
    meter = LoadMeter()
    figures = run_partner(strategy, engine, dsn, partner, as_of, meter)
    return {
        "figures": figures,
        "intervals": meter.intervals,
        "rows": meter.rows,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str]) -> int:
    name, db_url, partners_file, as_of_text = argv
    strategy = STRATEGIES[name]
    as_of = datetime.fromisoformat(as_of_text)
    partners = [p for p in load_partners(partners_file) if p.active]
    started = time.perf_counter()
    # A fresh process per partner, as Dagster starts a run worker per partner: each process's
    # peak is then one partner's, at any number of partners. Forked from a server that imported
    # this module once (fork itself is refused with max_tasks_per_child).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["benchmarks.worker"])
    with ProcessPoolExecutor(
        strategy.parallel_partners, mp_context=context, max_tasks_per_child=1
    ) as pool:
        jobs = [
            pool.submit(partner_job, name, db_url, partners_file, p.slug, as_of) for p in partners
        ]
        done = [job.result() for job in jobs]
    wall = time.perf_counter() - started
    meter = LoadMeter()
    for job in done:
        for interval in job["intervals"]:
            meter.add(*interval, rows=0)
        meter.rows += job["rows"]
    results = [job["figures"] for job in done]
    per_partner = {p.slug: r for p, r in zip(partners, results, strict=True)}
    calls = {slug: sum(v["api_calls"] for v in r.values()) for slug, r in per_partner.items()}
    # Processes run side by side: their peaks add up (an upper bound of the concurrent total).
    concurrent = sorted((j["peak_rss_mb"] for j in done), reverse=True)
    print(
        json.dumps(
            {
                "strategy": name,
                "wall_s": wall,
                "api_calls": sum(calls.values()),
                "max_calls_per_partner": max(calls.values(), default=0),
                "mean_calls_per_partner": sum(calls.values()) / len(calls) if calls else 0.0,
                "events_listed": sum(v["events_total"] for r in results for v in r.values()),
                "events_synced": sum(v["events_future"] for r in results for v in r.values()),
                "rows_written": sum(v["upserted"] for r in results for v in r.values()),
                "rows_removed": sum(v["removed"] for r in results for v in r.values()),
                "load_s": meter.seconds,
                "load_rows": meter.rows,
                "peak_rss_mb": peak_rss_mb() + sum(concurrent[: strategy.parallel_partners]),
                # One partner's process, as one Dagster run holds it: flat as partners are added.
                "partner_peak_rss_mb": max(concurrent, default=0.0),
                "partner_rss_mb": {
                    p.slug: round(j["peak_rss_mb"], 1) for p, j in zip(partners, done, strict=True)
                },
                "per_partner": per_partner,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
