"""The tags p88 puts on Dagster runs, spelled once.

`timing_partner` is the tag dagster.yaml's per-partner run limit keys on (YAML cannot import it:
keep the two in step); `p88/source` says which sensor, schedule or command asked for the run and
equals that instigator's name.
"""

from __future__ import annotations

PARTNER_TAG = "timing_partner"
SOURCE_TAG = "p88/source"
PARTITION_TAG = "dagster/partition"


def partner_tags(slug: str, source: str) -> dict[str, str]:
    """The tag the per-partner concurrency limit keys on, plus where the run came from."""
    return {PARTNER_TAG: slug, SOURCE_TAG: source}


def run_partner(tags: dict[str, str]) -> str | None:
    """The partner a run is for: its partner tag, else its partition (older or UI runs)."""
    return tags.get(PARTNER_TAG) or tags.get(PARTITION_TAG)
