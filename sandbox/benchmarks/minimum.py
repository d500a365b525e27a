"""The fewest API calls the data allows, computed from the sandbox's ground truth.

Per partner and account: what the night holds (future events, their races, changed and removed
registrations), handed to the provider spec's own minimum-calls model.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from p88_sandbox.fakes.provider import Reading
from p88_sandbox.fakes.registry import fake_for


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


def minimum_by_account(
    world: Any,
    now: datetime,
    since: datetime | None,
    grace: timedelta = timedelta(days=1),
    first_incremental: bool = False,
) -> dict[tuple[str, str], int]:
    """Per (partner slug, provider); `since=None` means a full first sync; `first_incremental`:
    the first night after it (endpoints only nights read have shown no page yet)."""
    return {
        (partner.slug, provider): fake_for(provider).minimum_calls(
            reading(world, provider, partner.slug, now, since, grace, first_incremental)
        )
        for partner in world.partners
        for provider in partner.providers
    }


def minimum_calls(
    world: Any,
    now: datetime,
    since: datetime | None,
    grace: timedelta = timedelta(days=1),
    first_incremental: bool = False,
) -> dict[str, int]:
    """Per partner slug (the sum of its accounts' minimums)."""
    totals: dict[str, int] = {}
    by_account = minimum_by_account(world, now, since, grace, first_incremental)
    for (slug, _), calls in by_account.items():
        totals[slug] = totals.get(slug, 0) + calls
    return totals


def excess_by_provider(
    minimum: dict[tuple[str, str], int], per_partner: dict[str, dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """Where a night's calls above the minimum were spent: per provider, calls, minimum, the
    accounts that made more calls than their minimum, and the pages read only to prove a read's
    end (the clients' count)."""
    out: dict[str, dict[str, int]] = {}
    for (slug, provider), least in minimum.items():
        figures = per_partner.get(slug, {}).get(provider, {})
        calls = figures.get("api_calls", 0)
        row = out.setdefault(
            provider, {"calls": 0, "minimum": 0, "accounts": 0, "over": 0, "proving": 0}
        )
        row["calls"] += calls
        row["proving"] += figures.get("proving_calls", 0)
        row["minimum"] += least
        row["accounts"] += 1
        row["over"] += calls > least
    return out
