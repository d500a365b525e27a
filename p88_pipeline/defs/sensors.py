"""Sensors: partners.yaml -> dynamic partitions, and sync_watermarks -> incremental runs.

Registration and freshness are separate sensors so each stays one cheap step per tick: reading a
YAML file, and one aggregate query over the watermarks.
"""

from datetime import UTC, datetime

import dagster as dg

from p88_pipeline.defs.freshness import due_run_config, missed_targets_observations
from p88_pipeline.defs.inactive import inactive_marks
from p88_pipeline.defs.jobs import sync_job
from p88_pipeline.defs.partitions import timing_partner_partitions
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.freshness.due_runs import (
    DagsterView,
    plan_incremental_runs,
    skip_summary,
    tick_headline,
)
from p88_pipeline.freshness.inputs import gather
from p88_pipeline.freshness.staleness import partner_freshness
from p88_pipeline.lib.run_tags import partner_tags, run_partner

PARTITIONS_SENSOR = "timing_partner_partitions"
STALE_SENSOR = "stale_watermarks"
ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def skipped(reason: str, headline: str) -> dg.SensorResult:
    """A skipped tick whose headline reads in the UI's tick list. Dagster lists a sensor tick's
    cursor but shows its skip reason only on hover; these sensors keep no state in the cursor
    (they re-read partners.yaml and the warehouse), so the cursor carries the headline."""
    return dg.SensorResult(skip_reason=reason, cursor=headline)


def registered_partners(instance: dg.DagsterInstance) -> set[str]:
    return set(timing_partner_partitions.get_partition_keys(dynamic_partitions_store=instance))


@dg.sensor(
    name=PARTITIONS_SENSOR,
    job=sync_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds partners from partners.yaml as timing_partner partitions and starts the "
    "first sync of each new active partner in the same tick; marks a partner set inactive as "
    "'inactive since' on its partitions. Partitions are never deleted.",
)
def partner_partitions_sensor(
    context: dg.SensorEvaluationContext, partners: PartnersResource
) -> dg.SensorResult:
    configured = partners.load()
    existing = registered_partners(context.instance)
    new = [p for p in configured if p.slug not in existing]
    known = existing | {p.slug for p in new}
    marks = inactive_marks(context.instance, configured, known, datetime.now(UTC))
    if marks:
        context.log.info(
            "marked inactive: " + ", ".join(sorted({m.partition or "" for m in marks}))
        )
    if not new and not marks:
        headline = f"all {len(configured)} partners are registered"
        return skipped(headline, headline)
    runs = [
        dg.RunRequest(
            partition_key=p.slug,
            run_key=f"{p.slug}:first-sync",
            tags=partner_tags(p.slug, PARTITIONS_SENSOR),
        )
        for p in new
        if p.active
    ]
    context.log.info(
        f"registering {', '.join(p.slug for p in new)}; first sync for "
        f"{', '.join(r.partition_key for r in runs) or 'none (inactive)'}"
    )
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[
            timing_partner_partitions.build_add_request([p.slug for p in new])
        ]
        if new
        else [],
        asset_events=marks,
        cursor="; ".join(
            part
            for part in (
                f"registered: {', '.join(p.slug for p in new)}" if new else "",
                f"inactive: {', '.join(sorted({m.partition or '' for m in marks}))}"
                if marks
                else "",
            )
            if part
        ),
    )


def busy_partners(instance: dg.DagsterInstance) -> set[str]:
    """Partners with a queued or running run: their watermarks are about to move."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE_STATUSES), limit=1000)
    return {slug for run in runs if (slug := run_partner(run.tags))}


@dg.sensor(
    name=STALE_SENSOR,
    job=sync_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests, per active partner, an incremental sync of its due events only: "
    "never synced, or behind their freshness target by proximity (10 min within 48 h, 60 min "
    "within 14 days, 6 h later), nearest first within 80 % of each account's hourly quota.",
)
def stale_watermarks_sensor(
    context: dg.SensorEvaluationContext,
    partners: PartnersResource,
    warehouse: WarehouseResource,
    sync_settings: SyncSettingsResource,
) -> dg.SensorResult:
    configured = partners.load()
    active = [p for p in configured if p.active]
    if not active:
        return skipped("no active partners in the partners file", "no active partners")
    now, cutoff = sync_settings.now_and_cutoff()
    engine = warehouse.get_engine()
    freshness = partner_freshness(engine, [p.id for p in active], cutoff)
    decisions = plan_incremental_runs(
        configured,
        freshness,
        now,
        dagster=DagsterView(registered_partners(context.instance), busy_partners(context.instance)),
        inputs=gather(engine, active, now, cutoff),
    )
    due = [d for d in decisions if d.due]
    for d in due:
        context.log.info(f"{d.slug}: due ({d.reason}); run key {d.run_key}")
    by_slug = {p.slug: p for p in configured}
    observations = missed_targets_observations(decisions, by_slug)
    if not due:
        return dg.SensorResult(
            skip_reason=skip_summary(decisions),
            cursor=tick_headline(decisions),
            asset_events=observations,
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=d.slug,
                run_key=d.run_key,
                run_config=due_run_config(d, by_slug[d.slug]),
                tags=partner_tags(d.slug, STALE_SENSOR),
            )
            for d in due
        ],
        cursor=tick_headline(decisions),
        asset_events=observations,
    )
