"""The nightly sync: every active partner once at 02:00 UTC, whatever its watermarks say.

A plain @schedule: Dagster's partitioned-schedule helpers reject dynamic partitions, and a
ScheduleDefinition on a dynamically partitioned job would emit requests without a partition key.
The nightly run is also what finds new events of partners whose known events are all past.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from p88_pipeline.defs.jobs import sync_job
from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline.defs.resources import PartnersResource
from p88_pipeline.defs.sensors import registered_partners
from p88_pipeline.lib.run_tags import partner_tags

NAME = "nightly_sync"


@dg.schedule(
    name=NAME,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    job=sync_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="One sync run per active timing partner every night at 02:00 UTC.",
)
def nightly_sync_schedule(
    context: dg.ScheduleEvaluationContext, partners: PartnersResource
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    active = [p for p in partners.load() if p.active]
    if not active:
        yield dg.SkipReason("no active partners in the partners file")
        return
    # Self-sufficient if the partitions sensor is stopped: register partners it has not seen yet
    # (adding an existing key is a no-op), since a request for an unknown partition fails the tick.
    registered = registered_partners(context.instance)
    missing = [p.slug for p in active if p.slug not in registered]
    if missing:
        context.instance.add_dynamic_partitions(timing_partner_partitions.name, missing)
    tick = context.scheduled_execution_time or datetime.now(UTC)
    day = tick.astimezone(UTC).date().isoformat()
    for partner in active:
        yield dg.RunRequest(
            partition_key=partner.slug,
            run_key=f"{partner.slug}:{day}",
            tags=partner_tags(partner.slug, NAME),
        )
