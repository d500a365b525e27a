"""The sync decisions, as plain functions: which events, full or incremental, from when, and the
new watermark. Everything here is pure so each rule of DESIGN.md has a plain test."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from p88_pipeline.providers.base import Event
from p88_pipeline.sync.guard import GuardPolicy

FULL = "full"
INCREMENTAL = "incremental"
FULL_FALLBACK = "full_fallback"
FULL_COMPARE = "full_compare"  # read whole and compared: the records carry no modification time


@dataclass(frozen=True)
class SyncPolicy:
    force_full: bool = False
    incremental_days: int = 7
    overlap: timedelta = timedelta(minutes=10)
    grace: timedelta = timedelta(days=1)
    guard: GuardPolicy = GuardPolicy()


@dataclass(frozen=True)
class Decision:
    sync_type: str
    reason: str
    modified_after: datetime | None


@dataclass(frozen=True)
class ReadHistory:
    """What the warehouse remembers of each event's last read: where it got to, and whether its
    records lacked modification times (rule 8). Rule 2 decides from both."""

    watermarks: Mapping[str, datetime] = field(default_factory=dict)
    untimed: Collection[str] = frozenset()


@dataclass(frozen=True)
class SyncGroup:
    """Events of one race read with one call sequence (RunSignUp takes several event ids)."""

    race_id: str
    events: tuple[Event, ...]
    sync_type: str
    modified_after: datetime | None
    reasons: Mapping[str, str] = field(default_factory=dict)

    @property
    def event_ids(self) -> list[str]:
        return [e.event_id for e in self.events]


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: every time in the pipeline is tz-aware")
    return moment.astimezone(UTC)


def future_cutoff(now: datetime, grace: timedelta) -> datetime:
    """Events starting after this instant are future (rule 1); SQL queries bind it as :cutoff."""
    return as_utc(now) - grace


def is_future(event: Event, now: datetime, grace: timedelta) -> bool:
    """Rule 1: still to come, judged on the race's own clock (start_time is tz-aware), with a grace
    window so race-day changes still sync. An event with no start time is kept: we cannot tell.
    warehouse.events.future_condition is the same rule in SQL."""
    if event.start_time is None:
        return True
    return as_utc(event.start_time) > future_cutoff(now, grace)


def future_events(events: Iterable[Event], now: datetime, grace: timedelta) -> list[Event]:
    return [e for e in events if is_future(e, now, grace)]


def decide(
    watermark: datetime | None, now: datetime, policy: SyncPolicy, untimed: bool = False
) -> Decision:
    """Rule 2: full when forced, new, or stale; otherwise incremental from watermark - overlap.
    Rule 8: an event whose records carry no modification time cannot be read incrementally:
    it is read whole and compared with what is stored (`untimed`, learned from its last read)."""
    if policy.force_full:
        return Decision(FULL, "forced", None)
    if watermark is None:
        return Decision(FULL, "no watermark (new event)", None)
    if untimed:
        return Decision(FULL_COMPARE, "records without modification time", None)
    if as_utc(watermark) < as_utc(now) - timedelta(days=policy.incremental_days):
        return Decision(FULL, f"watermark older than {policy.incremental_days} days", None)
    return Decision(INCREMENTAL, "watermark", as_utc(watermark) - policy.overlap)


def plan_groups(
    events: Sequence[Event],
    history: ReadHistory,
    now: datetime,
    policy: SyncPolicy,
    group_by_race: bool = True,
) -> list[SyncGroup]:
    """One group per race and sync type: full events together, incremental ones together from the
    oldest of their watermarks (re-reading a little more is harmless, an extra call is not).
    `group_by_race=False` gives one group per event (the old per-event strategy, for benchmarks).
    """
    by_race: dict[tuple[str, str], list[tuple[Event, Decision]]] = defaultdict(list)
    for event in events:
        mark, untimed = history.watermarks.get(event.event_id), event.event_id in history.untimed
        decision = decide(mark, now, policy, untimed)
        key = event.race_id if group_by_race else f"{event.race_id}/{event.event_id}"
        by_race[(key, decision.sync_type)].append((event, decision))
    groups = []
    for (race_id, sync_type), members in sorted(by_race.items()):
        starts = [d.modified_after for _, d in members if d.modified_after is not None]
        groups.append(
            SyncGroup(
                race_id=race_id.split("/")[0],
                events=tuple(e for e, _ in members),
                sync_type=sync_type,
                modified_after=min(starts) if sync_type == INCREMENTAL else None,
                reasons={e.event_id: d.reason for e, d in members},
            )
        )
    return groups


def next_watermark(
    started_at: datetime, provider_started_at: datetime | None, now: datetime
) -> datetime:
    """Rule 4: the sync's start on the provider's clock where known, never later than now."""
    start = as_utc(provider_started_at) if provider_started_at else as_utc(started_at)
    return min(start, as_utc(started_at), as_utc(now))
