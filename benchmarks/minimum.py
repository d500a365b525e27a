"""The fewest API calls the data allows, computed from the sandbox's ground truth.

Per partner and account: what the night holds (future events, their races, changed and removed
registrations), handed to the provider spec's own minimum-calls model.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from p88_pipeline.providers.registry import spec_for
from p88_pipeline.providers.spec import Reading


def reading(
    world: Any,
    provider: str,
    slug: str,
    now: datetime,
    since: datetime | None,
    grace: timedelta,
    first_incremental: bool = False,
) -> Reading:
    events = world.events(provider, slug)
    future = {
        str(e["event_id"]): str(e["race_id"]) for e in events if e["start_time"] > now - grace
    }
    changed: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    if since is None:
        for (event_id, _), row in world.truth(provider, slug, list(future)).items():
            (removed if row.removed else changed)[event_id] += 1
    else:
        for event_id, count in world.changed_since(provider, slug, since).items():
            changed[event_id] = count.changed
            removed[event_id] = count.removed
    return Reading(
        races=future,
        changed=changed,
        removed=removed,
        listed_events=len(events),
        listed_races=len({e["race_id"] for e in events}),
        incremental=since is not None,
        first_incremental=first_incremental and since is not None,
    )


def minimum_calls(
    world: Any,
    now: datetime,
    since: datetime | None,
    grace: timedelta = timedelta(days=1),
    first_incremental: bool = False,
) -> dict[str, int]:
    """Per partner slug; `since=None` means a full first sync; `first_incremental`: the first
    night after it (endpoints only nights read have shown no page yet)."""
    return {
        partner.slug: sum(
            spec_for(provider).minimum_calls(
                reading(world, provider, partner.slug, now, since, grace, first_incremental)
            )
            for provider in partner.providers
        )
        for partner in world.partners
    }
