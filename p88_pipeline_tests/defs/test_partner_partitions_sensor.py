"""partners.yaml -> timing_partner partitions, with the first run of a new partner in the same
tick; inactive partners are registered but never run, and nothing is ever deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from p88_pipeline.defs.sensors import partner_partitions_sensor


def tick(instance: dg.DagsterInstance, resources: dict[str, Any]) -> Any:
    context = dg.build_sensor_context(instance=instance, resources=resources)
    return partner_partitions_sensor(context)


def apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the daemon does with the tick's asset events and partition requests before it
    submits the runs."""
    for event in result.asset_events or []:
        instance.report_runless_asset_event(event)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def test_new_partners_are_registered_and_run_in_the_same_tick(instance, resources) -> None:
    result = tick(instance, resources)

    assert isinstance(result, dg.SensorResult)
    (add,) = result.dynamic_partitions_requests
    assert add.partitions_def_name == "timing_partner"
    assert sorted(add.partition_keys) == ["acme", "bolt", "dormant"]
    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [
        ("acme", "acme:first-sync"),
        ("bolt", "bolt:first-sync"),
    ]
    assert all(r.tags["timing_partner"] == r.partition_key for r in result.run_requests)


def test_inactive_partner_is_a_partition_but_gets_no_run(instance, resources) -> None:
    result = tick(instance, resources)
    apply(instance, result)

    assert "dormant" in instance.get_dynamic_partitions("timing_partner")
    assert "dormant" not in {r.partition_key for r in result.run_requests}
    assert {e.partition for e in result.asset_events} == {"dormant"}  # shown as inactive


def test_second_tick_with_nothing_new_skips(instance, resources) -> None:
    apply(instance, tick(instance, resources))

    again = tick(instance, resources)

    assert again.skip_reason and "all 3 partners are registered" in again.skip_reason.skip_message
    assert again.cursor == "all 3 partners are registered"  # what the tick list shows


def test_partner_added_to_the_file_later_is_picked_up(
    instance, resources, partners_file: Path
) -> None:
    apply(instance, tick(instance, resources))
    partners_file.write_text(
        partners_file.read_text()
        + """
  - id: 104
    slug: comet
    name: Comet Events
    providers: {}
"""
    )

    result = tick(instance, resources)

    assert list(result.dynamic_partitions_requests[0].partition_keys) == ["comet"]
    assert [r.run_key for r in result.run_requests] == ["comet:first-sync"]


def test_partner_removed_from_the_file_keeps_its_partition(
    instance, resources, partners_file: Path
) -> None:
    apply(instance, tick(instance, resources))
    text = partners_file.read_text()
    partners_file.write_text(text[: text.index("  - id: 103")])

    result = tick(instance, resources)

    assert result.skip_reason and not result.run_requests
    assert "dormant" in instance.get_dynamic_partitions("timing_partner")


def test_partner_set_inactive_is_marked_inactive_once(
    instance, resources, partners_file: Path
) -> None:
    """Its last failed run stops being what the UI shows: a run-less materialization says since
    when it is inactive; later ticks do not repeat it."""
    apply(instance, tick(instance, resources))
    key = dg.AssetKey(["runsignup", "participants"])
    partners_file.write_text(
        partners_file.read_text().replace("    slug: bolt\n", "    slug: bolt\n    active: false\n")
    )

    result = tick(instance, resources)
    apply(instance, result)

    marked = sorted((e.asset_key.to_user_string(), e.partition) for e in result.asset_events)
    assert marked == [
        ("runsignup/events", "bolt"),
        ("runsignup/future_events", "bolt"),
        ("runsignup/participants", "bolt"),
    ]
    latest = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=["bolt"]), limit=1
    ).records[0]
    metadata = latest.asset_materialization.metadata
    assert metadata["status"].value == "inactive" and metadata["inactive_since"].value
    assert tick(instance, resources).skip_reason
