"""The 02:00 UTC schedule: one run per active partner, keyed on partner and date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from p88_pipeline.defs.schedules import nightly_sync_schedule

TICK = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def requests(instance: dg.DagsterInstance, resources: dict[str, Any], when: datetime) -> list:
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=when,
        resources={"partners": resources["partners"]},
    )
    return list(nightly_sync_schedule(context))


def test_schedule_is_0200_utc_and_running_by_default() -> None:
    assert nightly_sync_schedule.cron_schedule == "0 2 * * *"
    assert nightly_sync_schedule.execution_timezone == "UTC"
    assert nightly_sync_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert nightly_sync_schedule.job_name == "sync"


def test_one_run_per_active_partner_keyed_on_the_date(instance, resources) -> None:
    runs = requests(instance, resources, TICK)

    assert [(r.partition_key, r.run_key) for r in runs] == [
        ("acme", "acme:2026-05-01"),
        ("bolt", "bolt:2026-05-01"),
    ]
    assert [r.tags["timing_partner"] for r in runs] == ["acme", "bolt"]


def test_next_night_gets_new_run_keys(instance, resources) -> None:
    keys = [r.run_key for r in requests(instance, resources, TICK.replace(day=2))]
    assert keys == ["acme:2026-05-02", "bolt:2026-05-02"]


def test_partners_missing_from_the_partitions_are_registered_first(instance, resources) -> None:
    requests(instance, resources, TICK)

    assert sorted(instance.get_dynamic_partitions("timing_partner")) == ["acme", "bolt"]
