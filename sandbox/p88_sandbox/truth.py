"""The warehouse compared with a sandbox's ground truth, record by record: the check behind the
demo, the bench, the soak and the tests. Not part of the sandbox (which may not depend on the
warehouse) nor of the warehouse (which knows no sandbox): it joins the two from above."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from p88_pipeline.providers.base import Event
from p88_pipeline.sync.plan import is_future
from p88_pipeline.warehouse.readback import stored_participants


@dataclass
class Comparison:
    provider: str
    partner: str
    events: int = 0
    active: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)

    @property
    def mismatches(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.stale)

    def __str__(self) -> str:
        return (
            f"{self.provider}/{self.partner}: {self.events} events compared, "
            f"{self.active} active registrations, {self.mismatches} mismatches "
            f"(missing {len(self.missing)}, "
            f"extra {len(self.extra)}, stale {len(self.stale)})"
        )


def future_truth_events(
    world: Any, provider: str, slug: str, now: datetime, grace: timedelta
) -> list[str]:
    ids = []
    for e in world.events(provider, slug):
        event = Event(
            provider,
            str(e["event_id"]),
            str(e["race_id"]),
            e.get("name", ""),
            e["start_time"],
            None,
            e.get("timezone", "UTC"),
        )
        if is_future(event, now, grace):
            ids.append(event.event_id)
    return ids


def compare_with_truth(
    engine: sa.Engine,
    world: Any,
    provider: str,
    partner_id: str,
    slug: str,
    now: datetime,
    grace: timedelta = timedelta(days=1),
) -> Comparison:
    event_ids = future_truth_events(world, provider, slug, now, grace)
    truth = world.truth(provider, slug, event_ids)
    stored = stored_participants(engine, provider, partner_id, event_ids)
    result = Comparison(provider, slug, events=len(event_ids))
    for key, t in truth.items():
        row = stored.get(key)
        if t.removed:
            if row is not None and not row.removed:
                result.extra.append(key)
            continue
        result.active += 1
        if row is None or row.removed:
            result.missing.append(key)
        elif (
            (row.modified_at is not None and row.modified_at != t.modified_at)
            or row.first_name != t.first_name
            or row.last_name != t.last_name
            or row.email != t.email
            or row.bib != t.bib
        ):
            result.stale.append(key)
    result.extra.extend(k for k, r in stored.items() if k not in truth and not r.removed)
    return result
