"""The reports hang below every provider's participants and run in every sync job."""

from __future__ import annotations

import dagster as dg

from p88_pipeline.definitions import defs
from p88_pipeline.providers.registry import names

REPORTS = {dg.AssetKey(["reports", "event_registrations"]), dg.AssetKey(["reports", "start_lists"])}


def test_reports_depend_on_every_providers_participants() -> None:
    graph = defs.resolve_asset_graph()
    for key in REPORTS:
        assert graph.get(key).parent_keys == {dg.AssetKey([p, "participants"]) for p in names()}
        assert graph.get(key).partitions_def.name == "timing_partner"


def test_the_partner_sync_jobs_end_with_the_reports() -> None:
    for job in ("sync", "full_refresh"):
        keys = defs.resolve_job_def(job).asset_layer.asset_graph.executable_asset_keys
        assert keys >= REPORTS, job
    for job in (f"{p}_sync" for p in names()):
        selected = defs.resolve_job_def(job).asset_layer.selected_asset_keys
        assert not selected & REPORTS, job
