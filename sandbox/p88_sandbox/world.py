"""The synthetic world both fake APIs serve, and the ground truth tests compare the warehouse to.

State is lazy: per event only its parameters and overlays of what changed (modified, added,
removed). Everything else is recomputed from the seed on demand, so identical seeds and identical
call sequences give identical worlds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from p88_sandbox.changes import apply_changes
from p88_sandbox.clock import SimClock
from p88_sandbox.fakes.registry import fakes
from p88_sandbox.generate import EventState, Partner, base_times, person
from p88_sandbox.layout import build_layout
from p88_sandbox.time_cache import TimeCache
from p88_sandbox.view import Registration


@dataclass(frozen=True)
class TruthRow:
    """What the warehouse must hold for one registration."""

    modified_at: datetime
    removed: bool
    first_name: str | None
    last_name: str | None
    email: str | None
    bib: str | None


@dataclass(frozen=True)
class ChangeCount:
    """Active records changed, and records removed, in one event since some instant."""

    race_id: str
    event_id: str
    changed: int
    removed: int


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


class World:
    """Partners, races, events and registrations; mutate only through the methods below."""

    def __init__(self, seed: int = 88, scale: str = "tiny", clock: SimClock | None = None) -> None:
        self.seed = seed
        self.scale = scale
        self.clock = clock or SimClock()
        # The layout hangs off the hour of creation: worlds built within the same hour with the
        # same seed are identical, and every base record predates `created_at` <= now.
        self.created_at = self.clock.now().replace(minute=0, second=0, microsecond=0)
        self.lock = threading.RLock()
        # Every registered provider, in registry order (the order the seed's draws are made in).
        self.shapes = {fake.name: fake.world for fake in fakes()}
        layout = build_layout(seed, scale, self.created_at, self.shapes)
        self.partners: list[Partner] = layout.partners
        self.next_id = layout.next_id
        self._events = {(e.provider, e.event_id): e for e in layout.events}
        self.advances = 0
        self.version = 0  # bumped by every mutation: lets the APIs cache per-event orderings
        self._base_modified = TimeCache()

    # ---------------------------------------------------------------- lookups
    def partner(self, slug: str) -> Partner:
        for p in self.partners:
            if p.slug == slug:
                return p
        raise KeyError(f"no partner {slug!r}")

    def partner_for(self, provider: str, secrets: dict[str, str | None]) -> Partner | None:
        """The partner whose credentials on `provider` are exactly `secrets`, if any."""
        for p in self.partners:
            own = p.secrets.get(provider)
            if own and all(secrets.get(name) == value for name, value in own.items()):
                return p
        return None

    def event_state(self, provider: str, event_id: int | str) -> EventState:
        try:
            return self._events[(provider, int(event_id))]
        except (KeyError, ValueError):
            raise KeyError(f"no {provider} event {event_id!r}") from None

    def event_states(self, provider: str, partner_slug: str | None = None) -> list[EventState]:
        chosen = [
            e
            for e in self._events.values()
            if e.provider == provider and (partner_slug is None or e.partner_slug == partner_slug)
        ]
        return sorted(chosen, key=lambda e: (e.start, e.event_id))

    def race_events(self, provider: str, race_id: int) -> list[EventState]:
        return sorted(
            (e for e in self._events.values() if e.provider == provider and e.race_id == race_id),
            key=lambda e: e.event_id,
        )

    def events(self, provider: str, partner_slug: str) -> list[dict[str, Any]]:
        """Ground-truth event list, oldest start first."""
        return [
            {
                "provider": e.provider,
                "partner_slug": e.partner_slug,
                "event_id": str(e.event_id),
                "race_id": str(e.race_id),
                "name": e.name,
                "race_name": e.race_name,
                "start_time": e.start,
                "end_time": e.end,
                "timezone": e.timezone,
            }
            for e in self.event_states(provider, partner_slug)
        ]

    def counts(self) -> dict[str, int]:
        """Partners, events, future events (now) and base+added registrations."""
        now = self.clock.now()
        all_events = list(self._events.values())
        return {
            "partners": len(self.partners),
            "events": len(all_events),
            "future_events": sum(1 for e in all_events if e.start > now),
            "participants": sum(e.base_count + len(e.added) for e in all_events),
        }

    # ---------------------------------------------------------------- registrations
    def modified_at(self, event: EventState, pid: int) -> datetime:
        """Fast path used by filters: no record is rendered."""
        if pid in event.removed:
            return event.removed[pid]["removed_at"]
        entry = event.overlay.get(pid)
        if entry is not None:
            return entry["modified_at"]
        times = self._base_modified.get(  # paging and sorting ask for every record
            (event.provider, event.event_id),
            lambda: [
                base_times(self.seed, event, i, self.created_at)[1] for i in range(event.base_count)
            ],
        )
        return times[pid - event.id_base]

    def registration(self, event: EventState, pid: int) -> Registration:
        index = event.index_of(pid)
        if index is None:
            raise KeyError(f"no registration {pid} in {event.provider} event {event.event_id}")
        fields = person(self.seed, event, index)
        entry = event.overlay.get(pid, {})
        fields.update(entry.get("fields", {}))
        if "registered_at" in entry:
            registered = entry["registered_at"]
        else:
            registered = base_times(self.seed, event, index, self.created_at)[0]
        return Registration(
            pid, event, fields, registered, self.modified_at(event, pid), event.removed.get(pid)
        )

    def registrations(self, event: EventState) -> Iterator[Registration]:
        for pid in event.all_ids():
            yield self.registration(event, pid)

    def active_ids(self, event: EventState) -> list[int]:
        return [pid for pid in event.all_ids() if pid not in event.removed]

    # ---------------------------------------------------------------- ground truth
    def truth(
        self,
        provider: str,
        partner_slug: str,
        event_ids: Iterable[str] | None = None,
    ) -> dict[tuple[str, str], TruthRow]:
        wanted = None if event_ids is None else {str(e) for e in event_ids}
        rows: dict[tuple[str, str], TruthRow] = {}
        with self.lock:
            for event in self.event_states(provider, partner_slug):
                if wanted is not None and str(event.event_id) not in wanted:
                    continue
                for reg in self.registrations(event):
                    f = reg.fields
                    rows[(str(event.event_id), str(reg.pid))] = TruthRow(
                        modified_at=reg.modified_at,
                        removed=reg.removal is not None,
                        first_name=f["first_name"],
                        last_name=f["last_name"],
                        email=f["email"],
                        bib=None if f["bib"] is None else str(f["bib"]),
                    )
        return rows

    def changed_since(
        self, provider: str, partner_slug: str, since: datetime
    ) -> dict[str, ChangeCount]:
        """Per event: active records modified at/after `since`, and removals at/after it."""
        out: dict[str, ChangeCount] = {}
        with self.lock:
            for event in self.event_states(provider, partner_slug):
                if since > self.created_at:  # base records all predate creation
                    candidates: Iterable[int] = {*event.overlay, *event.removed}
                else:
                    candidates = event.all_ids()
                changed = removed = 0
                for pid in candidates:
                    if self.modified_at(event, pid) >= since:
                        if pid in event.removed:
                            removed += 1
                        else:
                            changed += 1
                out[str(event.event_id)] = ChangeCount(
                    str(event.race_id), str(event.event_id), changed, removed
                )
        return out

    # ---------------------------------------------------------------- mutations
    def _stamp(self, at: datetime | None) -> datetime:
        self.version += 1
        return _seconds(at or self.clock.now())

    def modify_participant(
        self,
        provider: str,
        event_id: int | str,
        participant_id: int | str,
        at: datetime | None = None,
        **fields: Any,
    ) -> None:
        """Change fields of a registration, stamped at clock now (or `at`)."""
        with self.lock:
            event = self.event_state(provider, event_id)
            pid = int(participant_id)
            if event.index_of(pid) is None:
                raise KeyError(f"no registration {pid} in {provider} event {event_id}")
            if pid in event.removed:
                raise ValueError(f"registration {pid} was removed; it cannot change")
            known = person(self.seed, event, 0)
            unknown = set(fields) - set(known)
            if unknown:
                raise ValueError(f"unknown fields {sorted(unknown)} (known: {sorted(known)})")
            entry = event.overlay.setdefault(pid, {"fields": {}})
            entry["fields"].update(fields)
            entry["modified_at"] = self._stamp(at)

    def add_participant(
        self, provider: str, event_id: int | str, at: datetime | None = None, **fields: Any
    ) -> str:
        """A new registration with a new, higher id; returns its id as a string."""
        with self.lock:
            event = self.event_state(provider, event_id)
            pid = self.next_id[provider]
            self.next_id[provider] += 1
            stamp = self._stamp(at)
            event.overlay[pid] = {
                "index": event.base_count + len(event.added),
                "fields": fields,
                "registered_at": stamp,
                "modified_at": stamp,
            }
            event.added.append(pid)
            return str(pid)

    def remove_participant(
        self,
        provider: str,
        event_id: int | str,
        participant_id: int | str,
        reason: str = "cleared",
        at: datetime | None = None,
    ) -> str | None:
        """Remove or cancel; a transfer creates the new registration and returns its id."""
        with self.lock:
            event = self.event_state(provider, event_id)
            pid = int(participant_id)
            if event.index_of(pid) is None or pid in event.removed:
                raise KeyError(f"no active registration {pid} in {provider} event {event_id}")
            stamp = self._stamp(at)
            new_id = None
            if reason == "transferred":
                new_id = self.add_participant(provider, event_id, at=stamp)
            event.removed[pid] = {
                "removed_at": stamp,
                "reason": reason,
                "new_registration_id": None if new_id is None else int(new_id),
            }
            entry = event.overlay.setdefault(pid, {"fields": {}})
            entry["modified_at"] = stamp
            return new_id

    def advance(
        self, delta: timedelta = timedelta(days=1), change_rate: float = 0.02
    ) -> dict[str, int]:
        """Move the clock and apply the nightly change model; returns counts of what changed."""
        with self.lock:
            start = _seconds(self.clock.now())
            self.clock.advance(delta)
            self.advances += 1
            return apply_changes(self, start, delta, change_rate)
