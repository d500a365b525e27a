"""Jobs: the incremental sync (all providers, or one) and full_refresh, which UI backfills use."""

from __future__ import annotations

import dagster as dg

from p88_pipeline.defs.reports import GROUP as REPORTS
from p88_pipeline.providers.registry import names

# The partner jobs end with its race-week reports (no API calls); the one-provider jobs do not
# (a partner without that provider must get no materialization from them at all).
ALL_ASSETS = dg.AssetSelection.groups(*names(), REPORTS)
# One process per run: a partner's steps share its HTTP sessions and Haku token, and a run costs
# one process start instead of one per step. Partners still run in parallel, as separate runs.
EXECUTOR = dg.in_process_executor

sync_job = dg.define_asset_job(
    "sync",
    selection=ALL_ASSETS,
    description="Incremental sync of one timing partner.",
    executor_def=EXECUTOR,
)
FULL_SYNC_TAG = "p88/full_sync"
full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=ALL_ASSETS,
    description="FULL SYNC of one timing partner: every future event is read in full, ignoring "
    "watermarks (run config force_full_sync: true), and registrations gone from the provider are "
    "soft-deleted. Costs more API calls than `sync`. Backfill it over partners from the job's "
    "Partitions tab.",
    config={"resources": {"sync_settings": {"config": {"force_full_sync": True}}}},
    tags={FULL_SYNC_TAG: "true"},
    executor_def=EXECUTOR,
)
provider_sync_jobs = {
    provider: dg.define_asset_job(
        f"{provider}_sync",
        selection=dg.AssetSelection.groups(provider),
        description=f"Sync of one timing partner's {provider} account only.",
        executor_def=EXECUTOR,
    )
    for provider in names()
}


def job_name(provider: str) -> str:
    return "sync" if provider == "all" else provider_sync_jobs[provider].name
