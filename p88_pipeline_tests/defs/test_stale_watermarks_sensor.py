"""The incremental sensor on real watermarks: which partners get runs, under which run keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import sqlalchemy as sa

from p88_pipeline.defs.resources import SyncSettingsResource
from p88_pipeline.defs.sensors import stale_watermarks_sensor
from p88_pipeline.freshness.staleness import partner_freshness
from p88_pipeline_tests.defs.conftest import add_event, set_watermark

NOW = datetime.now(UTC)
NEXT_MONTH = NOW + timedelta(days=30)
LAST_YEAR = NOW - timedelta(days=365)
AS_OF = NOW.isoformat()  # the sensor's "now" frozen where lags are asserted to the minute


def tick(instance: dg.DagsterInstance, resources: dict[str, Any]) -> Any:
    return stale_watermarks_sensor(dg.build_sensor_context(instance=instance, resources=resources))


def runs_by_partner(result: Any) -> dict[str, dg.RunRequest]:
    assert isinstance(result, dg.SensorResult), result
    return {r.partition_key: r for r in result.run_requests}


def register(instance: dg.DagsterInstance, *slugs: str) -> None:
    instance.add_dynamic_partitions("timing_partner", list(slugs))


def test_partner_older_than_its_interval_gets_a_run_keyed_on_its_watermark(
    instance, resources, engine: sa.Engine
) -> None:
    register(instance, "acme", "bolt", "dormant")
    add_event(engine, "101", "a1", NEXT_MONTH, watermark=NOW - timedelta(minutes=10))
    bolt_old = NOW - timedelta(minutes=45)  # bolt syncs every 30 minutes
    add_event(engine, "102", "b1", NEXT_MONTH, watermark=NOW - timedelta(minutes=5))
    add_event(engine, "102", "b2", NEXT_MONTH, watermark=bolt_old)
    add_event(engine, "103", "d1", NEXT_MONTH, watermark=LAST_YEAR)  # inactive

    runs = runs_by_partner(tick(instance, resources))

    assert list(runs) == ["bolt"]  # its sync_interval_minutes (30) caps the 60-min target
    assert runs["bolt"].run_key.startswith("bolt:due-")
    assert runs["bolt"].tags["timing_partner"] == "bolt"
    config = runs["bolt"].run_config["resources"]["sync_settings"]["config"]
    # b1 rides along: same race, no extra call
    assert config == {
        "due_events": ["runsignup:b1", "runsignup:b2"],
        "events_list_max_age_minutes": 30.0,
    }


def test_event_never_synced_and_partner_without_events_get_runs(
    instance, resources, engine: sa.Engine
) -> None:
    register(instance, "acme", "bolt")
    add_event(engine, "101", "a1", NEXT_MONTH, watermark=NOW - timedelta(minutes=1))
    add_event(engine, "101", "a2", NEXT_MONTH)  # discovered, never synced

    runs = runs_by_partner(tick(instance, resources))

    assert sorted(runs) == ["acme", "bolt"]
    assert runs["acme"].run_key.startswith("acme:due-")
    assert runs["bolt"].run_key.startswith("bolt:no-events:")


def test_only_past_events_left_is_not_due(instance, resources, engine: sa.Engine) -> None:
    register(instance, "acme", "bolt")
    add_event(engine, "101", "a1", LAST_YEAR, watermark=LAST_YEAR)
    add_event(engine, "102", "b1", NEXT_MONTH, watermark=NOW)

    result = tick(instance, resources)

    assert result.skip_reason
    assert "acme: no future events" in result.skip_reason.skip_message


def test_fresh_after_the_run_moved_the_watermark(instance, resources, engine: sa.Engine) -> None:
    register(instance, "acme", "bolt")
    add_event(engine, "101", "a1", NEXT_MONTH, watermark=NOW - timedelta(hours=7))
    add_event(engine, "102", "b1", NEXT_MONTH, watermark=NOW)
    assert list(runs_by_partner(tick(instance, resources))) == ["acme"]

    with engine.begin() as conn:  # what the incremental run does when it commits
        set_watermark(conn, "101", "a1", datetime.now(UTC))

    assert tick(instance, resources).skip_reason


def test_same_state_same_run_key_so_the_daemon_dedups(
    instance, resources, engine: sa.Engine
) -> None:
    register(instance, "acme", "bolt")
    add_event(engine, "101", "a1", NEXT_MONTH, watermark=NOW - timedelta(hours=7))
    add_event(engine, "102", "b1", NEXT_MONTH, watermark=NOW)

    first = runs_by_partner(tick(instance, resources))["acme"].run_key
    second = runs_by_partner(tick(instance, resources))["acme"].run_key

    assert first == second


def test_unregistered_and_busy_partners_wait(instance, resources, engine: sa.Engine) -> None:
    register(instance, "bolt")  # acme not yet a partition
    instance.add_run(
        dg.DagsterRun(
            job_name="sync",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
            tags={"timing_partner": "bolt", "dagster/partition": "bolt"},
        )
    )

    result = tick(instance, resources)

    headline = "no partner due: 1 not yet a partition, 1 a sync is queued or running, 1 inactive"
    assert result.cursor == headline  # the tick list shows the cursor, not the skip reason
    message = result.skip_reason.skip_message
    assert message.startswith(headline + ". ")
    assert "acme: not yet a partition" in message
    assert "bolt: a sync is queued or running" in message


def test_freshness_query_aggregates_future_events_per_partner(engine: sa.Engine) -> None:
    oldest = NOW - timedelta(hours=3)
    add_event(engine, "101", "a1", NEXT_MONTH, watermark=oldest)
    add_event(engine, "101", "a2", None, watermark=NOW)  # no start time: counts as future
    add_event(engine, "101", "a3", NEXT_MONTH)
    add_event(engine, "101", "a4", LAST_YEAR, watermark=LAST_YEAR)  # past: ignored
    add_event(engine, "101", "h1", NEXT_MONTH, watermark=NOW, provider="haku")

    rows = partner_freshness(engine, ["101", "102"], NOW - timedelta(days=1))

    assert list(rows) == ["101"]
    row = rows["101"]
    assert (row.events, row.future_events, row.never_synced) == (5, 4, 1)
    assert abs(row.oldest_watermark - oldest) < timedelta(seconds=1)


def test_an_event_inside_48_hours_is_due_after_minutes_a_far_one_after_hours(
    instance, resources, engine: sa.Engine
) -> None:
    register(instance, "acme", "bolt")
    add_event(
        engine, "101", "near", NOW + timedelta(hours=20), watermark=NOW - timedelta(minutes=9)
    )
    add_event(engine, "101", "far", NEXT_MONTH, watermark=NOW - timedelta(hours=5))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE provider_events SET race_id = event_id"))
    add_event(engine, "102", "b1", NEXT_MONTH, watermark=NOW)

    runs = runs_by_partner(tick(instance, resources))

    config = runs["acme"].run_config["resources"]["sync_settings"]["config"]
    assert config["due_events"] == ["runsignup:near"]
    assert config["events_list_max_age_minutes"] == 360.0


def test_over_budget_the_sensor_says_which_targets_it_misses_and_observes_them(
    instance, resources, engine: sa.Engine
) -> None:
    register(instance, "acme", "bolt")
    add_event(engine, "101", "a1", NOW + timedelta(hours=20), watermark=NOW - timedelta(minutes=12))
    add_event(engine, "102", "b1", NEXT_MONTH, watermark=NOW)
    with engine.begin() as conn:  # 799 of acme's 1000 calls spent this hour: 80 % leaves 1
        conn.execute(
            sa.text(
                "INSERT INTO sync_runs (run_id, provider, timing_partner_id, status, api_calls, "
                "started_at) VALUES ('r1', 'runsignup', '101', 'success', 799, :at)"
            ),
            {"at": NOW - timedelta(minutes=30)},
        )

    result = tick(instance, {**resources, "sync_settings": SyncSettingsResource(as_of=AS_OF)})

    assert not result.run_requests
    message = result.skip_reason.skip_message
    assert message.startswith("no partner due: 1 over budget, missed targets, 1 fresh, 1 inactive")
    assert (
        "acme: over budget, missed targets: runsignup a1 (within 48 h): 12 min behind, " in message
    )
    (observation,) = result.asset_events
    assert observation.asset_key == dg.AssetKey(["runsignup", "participants"])
    assert observation.partition == "acme"
    missed = observation.metadata["missed"].value
    assert [(m["event_id"], m["target_min"], round(m["over_by_min"])) for m in missed] == [
        ("a1", 10.0, 2)
    ]
