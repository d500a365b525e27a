"""`p88 sync`: run partners through the Dagster jobs, so CLI runs sit in the same run history
as scheduled ones, then print each partner's figures from sync_runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.defs.jobs import job_name
from p88_pipeline.partners import PROVIDERS, Partner

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


def run_partners(
    instance: dg.DagsterInstance,
    partners: Sequence[Partner],
    provider: str,
    config: dict[str, Any],
) -> list[PartnerRun]:
    from p88_pipeline.definitions import defs

    job = defs.resolve_job_def(job_name(provider))
    instance.add_dynamic_partitions("timing_partner", [p.slug for p in partners])
    results = []
    for partner in partners:
        started = time.monotonic()
        log.info("partner %s (%s): starting %s", partner.slug, partner.name, job.name)
        result = job.execute_in_process(
            partition_key=partner.slug, instance=instance, run_config=config,
            raise_on_error=False, tags={"timing_partner": partner.slug, "p88/source": "cli"},
        )  # fmt: skip
        error = None
        if not result.success:
            failures = [e for e in result.all_events if e.is_step_failure]
            error = "; ".join(
                f"{e.step_key}: {e.step_failure_data.error.message.strip()}"
                for e in failures if e.step_failure_data and e.step_failure_data.error
            ) or "run failed"  # fmt: skip
            log.error("partner %s: run %s failed: %s", partner.slug, result.run_id, error)
        results.append(
            PartnerRun(partner, result.run_id, result.success, time.monotonic() - started, error)
        )
    return results


FIGURE_COLUMNS = (
    "events_total", "events_future", "events_synced", "participants_upserted",
    "participants_removed", "api_calls", "duration_s",
)  # fmt: skip


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
    return PROVIDERS if provider == "all" else (provider,)
