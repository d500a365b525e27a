"""Jobs: the incremental sync (all providers, or one) and full_refresh, which UI backfills use."""

from __future__ import annotations

import dagster as dg

from p88_pipeline.providers.registry import names

ALL_ASSETS = dg.AssetSelection.groups(*names())
# One process per run: a partner's steps share its HTTP sessions and Haku token, and a run costs
# one process start instead of one per step. Partners still run in parallel, as separate runs.
EXECUTOR = dg.in_process_executor

sync_job = dg.define_asset_job(
    "sync",
    selection=ALL_ASSETS,
    description="Incremental sync of one timing partner.",
    executor_def=EXECUTOR,
)
full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=ALL_ASSETS,
    description="Forced full sync (reconciles deletes). Backfill it over partners from the UI.",
    config={"resources": {"sync_settings": {"config": {"force_full_sync": True}}}},
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
