"""The fewest API calls the data allows, computed from the sandbox's ground truth.

Per partner: the event-list pages; then per race with future events (RunSignUp takes several
event ids per call) the pages its changed registrations need, at least one (only asking tells
"nothing changed"), plus, for an incremental night, the removed-participants pages; per Haku
event the pages its changed records need (cancellations are records there).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

PAGE = {"runsignup": 2500, "haku": 100}
EVENT_LIST_PAGE = {"runsignup": 1000, "haku": 100}


def _pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


def minimum_calls(
    world: Any, now: datetime, since: datetime | None, grace: timedelta = timedelta(days=1)
) -> dict[str, int]:
    """Per partner slug; `since=None` means a full first sync."""
    out: dict[str, int] = {}
    for partner in world.partners:
        total = 0
        for provider in partner.providers:
            events = world.events(provider, partner.slug)
            listed = {e["race_id"] for e in events} if provider == "runsignup" else events
            total += _pages(len(listed), EVENT_LIST_PAGE[provider])
            future = {
                str(e["event_id"]): str(e["race_id"])
                for e in events
                if e["start_time"] > now - grace
            }
            changed: dict[str, int] = defaultdict(int)
            removed: dict[str, int] = defaultdict(int)
            if since is None:
                for (event_id, _), row in world.truth(provider, partner.slug, list(future)).items():
                    if provider == "haku" or not row.removed:
                        changed[event_id] += 1
            else:
                for event_id, count in world.changed_since(provider, partner.slug, since).items():
                    changed[event_id] = count.changed
                    removed[event_id] = count.removed
            if provider == "haku":
                total += sum(_pages(changed[e] + removed[e], PAGE["haku"]) for e in future)
                continue
            by_race: dict[str, list[str]] = defaultdict(list)
            for event_id, race_id in future.items():
                by_race[race_id].append(event_id)
            for race_events in by_race.values():
                total += max(_pages(changed[e], PAGE["runsignup"]) for e in race_events)
                if since is not None:
                    total += max(_pages(removed[e], PAGE["runsignup"]) for e in race_events)
        out[partner.slug] = total
    return out
