"""`p88 sync`: run partners through the Dagster jobs, so CLI runs sit in the same run history
as scheduled ones, then print each partner's figures from sync_runs."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.defs.jobs import job_name
from p88_pipeline.partners import Partner
from p88_pipeline.providers.registry import names
from p88_pipeline.run_tags import partner_tags

log = logging.getLogger("p88.cli")


@dataclass
class PartnerRun:
    partner: Partner
    run_id: str
    success: bool
    duration_s: float
    error: str | None = None


def run_config(
    *, force_full: bool = False, incremental_days: int = 7, as_of: str | None = None
) -> dict[str, Any]:
    settings: dict[str, Any] = {"force_full_sync": force_full, "incremental_days": incremental_days}
    if as_of:
        settings["as_of"] = as_of
    return {
        "resources": {"sync_settings": {"config": settings}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }


def _execute(
    instance: dg.DagsterInstance, slug: str, name: str, config: dict[str, Any]
) -> tuple[str, bool, str | None]:
    from p88_pipeline.definitions import defs

    result = defs.resolve_job_def(name).execute_in_process(
        partition_key=slug,
        instance=instance,
        run_config=config,
        raise_on_error=False,
        tags=partner_tags(slug, "cli"),
    )
    if result.success:
        return result.run_id, True, None
    errors = [
        f"{e.step_key}: {e.step_failure_data.error.message.strip()}"
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data and e.step_failure_data.error
    ]
    return result.run_id, False, "; ".join(errors) or "run failed"


def _execute_in_worker(slug: str, name: str, config: dict[str, Any]):
    """A worker process's run: Dagster's in-process execution is not thread-safe, processes are."""
    from p88_pipeline.cli import configure_logging

    configure_logging()
    return _execute(dg.DagsterInstance.get(), slug, name, config)


def run_partners(
    instance: dg.DagsterInstance,
    partners: Sequence[Partner],
    provider: str,
    config: dict[str, Any],
    parallel: int = 1,
) -> list[PartnerRun]:
    """One Dagster run per partner; with parallel > 1, partners run side by side in worker
    processes on the same instance (DAGSTER_HOME), each with its own quota limiter."""
    name = job_name(provider)
    instance.add_dynamic_partitions("timing_partner", [p.slug for p in partners])
    started = {p.slug: time.monotonic() for p in partners}
    for partner in partners:
        log.info("partner %s (%s): starting %s", partner.slug, partner.name, name)
    if parallel <= 1 or len(partners) <= 1:
        outcomes = [_execute(instance, p.slug, name, config) for p in partners]
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(parallel, len(partners)), mp_context=context) as pool:
            futures = [pool.submit(_execute_in_worker, p.slug, name, config) for p in partners]
            outcomes = [f.result() for f in futures]
    results = []
    for partner, (run_id, success, error) in zip(partners, outcomes, strict=True):
        if not success:
            log.error("partner %s: run %s failed: %s", partner.slug, run_id, error)
        duration = time.monotonic() - started[partner.slug]
        results.append(PartnerRun(partner, run_id, success, duration, error))
    return results


FIGURE_COLUMNS = (
    "events_total",
    "events_future",
    "events_synced",
    "participants_upserted",
    "participants_removed",
    "api_calls",
    "duration_s",
)


def run_figures(engine: sa.Engine, run_ids: Sequence[str]) -> dict[tuple[str, str, str], dict]:
    """(run_id, provider, partner id) -> figures, straight from sync_runs."""
    if not run_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT run_id, provider, timing_partner_id, status, sync_types, "
                f"{', '.join(FIGURE_COLUMNS)} FROM sync_runs WHERE run_id = ANY(:ids)"
            ),
            {"ids": list(run_ids)},
        ).mappings()
        return {(r["run_id"], r["provider"], r["timing_partner_id"]): dict(r) for r in rows}


def type_summary(sync_types: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for sync_type in sync_types.values():
        counts[sync_type] = counts.get(sync_type, 0) + 1
    return " ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "-"


def providers_of(provider: str) -> Sequence[str]:
    return names() if provider == "all" else (provider,)
