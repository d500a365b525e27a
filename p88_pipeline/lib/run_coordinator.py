"""The instance's run coordinator: Dagster's queued coordinator, plus p88's partner tag on every
partitioned run, however it was launched.

Runs from the UI (Materialize, "Materialize all" = the implicit `__ASSET_JOB`, asset or job
backfills) carry only `dagster/partition`; the per-partner concurrency limit in dagster.yaml keys
on `timing_partner`. Tagging at submission, before the run enters the queue, puts every run under
the same limit and makes it findable by partner, whichever button started it.
"""

from __future__ import annotations

from dagster._core.run_coordinator.base import SubmitRunContext
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import DagsterRun

from p88_pipeline.lib.run_tags import tags_to_add


class PartnerRunCoordinator(QueuedRunCoordinator):
    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        if missing := tags_to_add(dict(run.tags)):
            self._instance.add_run_tags(run.run_id, missing)
        return super().submit_run(context)
