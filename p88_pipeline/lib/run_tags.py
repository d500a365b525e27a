"""The tags p88 puts on Dagster runs, spelled once.

`timing_partner` is the tag dagster.yaml's per-partner run limit keys on (YAML cannot import it:
keep the two in step); `p88/source` says which sensor, schedule or command asked for the run and
equals that instigator's name.
"""

from __future__ import annotations

PARTNER_TAG = "timing_partner"
SOURCE_TAG = "p88/source"
PARTITION_TAG = "dagster/partition"
BACKFILL_TAG = "dagster/backfill"
UI_SOURCE = "ui"  # a run launched from the UI or GraphQL (Materialize, Materialize all, launchpad)


def partner_tags(slug: str, source: str) -> dict[str, str]:
    """The tag the per-partner concurrency limit keys on, plus where the run came from."""
    return {PARTNER_TAG: slug, SOURCE_TAG: source}


def run_partner(tags: dict[str, str]) -> str | None:
    """The partner a run is for: its partner tag, else its partition (older or UI runs)."""
    return tags.get(PARTNER_TAG) or tags.get(PARTITION_TAG)


def tags_to_add(tags: dict[str, str]) -> dict[str, str]:
    """What a run launched without p88's tags (the UI's Materialize or Materialize all, a
    backfill) is missing: the partner tag the per-partner limit keys on, and its source."""
    missing: dict[str, str] = {}
    partition = tags.get(PARTITION_TAG)
    if partition and PARTNER_TAG not in tags:
        missing[PARTNER_TAG] = partition
    if SOURCE_TAG not in tags and (partition or PARTNER_TAG in tags):
        missing[SOURCE_TAG] = "backfill" if BACKFILL_TAG in tags else UI_SOURCE
    return missing
