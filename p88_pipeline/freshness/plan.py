"""Freshness by proximity (DESIGN.md rule 7), kept pure: which future events are due, and which
fit in the quota budget.

An event is due when its lag (now - watermark) would reach its target before the next tick can
act (`lead`); its target depends on how soon it starts. Start times are aware instants parsed in
the race's own zone, so "within 48 h" is exact across zones and DST; events that started within
the grace window are still future (rule 1) and count as the nearest band. Under a budget (a
share of each account's hourly quota, minus what the past hour already spent) the nearest events
win; the others are reported as missed targets, with how far behind they are.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from p88_pipeline.providers.registry import spec_for

NEAR, SOON, LATER = "near", "soon", "later"
BANDS = (NEAR, SOON, LATER)
DEFAULT_LIST_CALLS = 1.0


@dataclass(frozen=True)
class FreshnessTargets:
    """How far behind an event may be, by how soon it starts (settings; per-partner overrides in
    partners.yaml under `freshness:`)."""

    near_minutes: int = 10
    soon_minutes: int = 60
    later_minutes: int = 360
    near_hours: int = 48
    soon_days: int = 14
    quota_share: float = 0.8  # of each account's hourly quota; the rest is left to nightly/full
    lead_minutes: int = 2  # request this early: a sensor tick and a run start-up

    def band(self, start: datetime | None, now: datetime) -> str:
        """An event without a start time cannot be placed: the far band, not race day."""
        if start is None:
            return LATER
        ahead = start - now
        if ahead <= timedelta(hours=self.near_hours):
            return NEAR
        if ahead <= timedelta(days=self.soon_days):
            return SOON
        return LATER

    def target(self, band: str) -> timedelta:
        minutes = {NEAR: self.near_minutes, SOON: self.soon_minutes, LATER: self.later_minutes}
        return timedelta(minutes=minutes[band])

    @property
    def longest(self) -> timedelta:
        return max(self.target(b) for b in BANDS)

    def label(self, band: str) -> str:
        return {
            NEAR: f"within {self.near_hours} h",
            SOON: f"within {self.soon_days} days",
            LATER: "later",
        }[band]

    def capped(self, minutes: int | None) -> FreshnessTargets:
        """The partner's sync_interval_minutes, when set, is a ceiling on every target."""
        if minutes is None:
            return self
        return FreshnessTargets(
            min(self.near_minutes, minutes),
            min(self.soon_minutes, minutes),
            min(self.later_minutes, minutes),
            self.near_hours,
            self.soon_days,
            self.quota_share,
            self.lead_minutes,
        )


@dataclass(frozen=True)
class EventWatermark:
    """One stored future event of a partner and its watermark (None: never synced)."""

    provider: str
    event_id: str
    race_id: str
    start_time: datetime | None
    watermark: datetime | None


@dataclass(frozen=True)
class EventFreshness:
    """An event judged at `now`: its band, target and lag (None: never synced), due or not."""

    event: EventWatermark
    band: str
    target: timedelta
    lag: timedelta | None
    due: bool

    @property
    def over_by(self) -> timedelta | None:
        return None if self.lag is None else self.lag - self.target

    def reason(self, targets: FreshnessTargets) -> str:
        where = f"{self.event.provider} {self.event.event_id} ({targets.label(self.band)})"
        if self.lag is None:
            return f"{where}: never synced"
        return f"{where}: {minutes(self.lag)} behind, target {minutes(self.target)}"


@dataclass(frozen=True)
class CostModel:
    """Estimated calls: per event synced (from recent runs), at least the provider's
    `min_race_calls` per race group (histories below it, e.g. a run that read one event, never
    lower the estimate), plus an events-list read where one is due."""

    per_event: Mapping[str, float] = field(default_factory=dict)
    events_list: Mapping[str, float] = field(default_factory=dict)

    def group(self, provider: str, events: int) -> float:
        return max(spec_for(provider).min_race_calls, events * self.per_event.get(provider, 0.0))

    def list_read(self, provider: str) -> float:
        return self.events_list.get(provider, DEFAULT_LIST_CALLS)


def estimate_costs(
    recent: Iterable[tuple[str, int, int]], list_calls: Mapping[str, int] | None = None
) -> CostModel:
    """From recent runs' (provider, api_calls, events_synced): the median calls per event.
    A median, so one first full sync of a big partner does not starve race week for a day."""
    ratios: dict[str, list[float]] = {}
    for provider, calls, synced in recent:
        if synced > 0:
            ratios.setdefault(provider, []).append(calls / synced)
    per_event = {p: sorted(r)[len(r) // 2] for p, r in ratios.items()}
    return CostModel(per_event, {p: float(max(1, c)) for p, c in (list_calls or {}).items()})


@dataclass(frozen=True)
class AccountState:
    """A partner's accounts as the budget sees them, by provider: the hourly quota, the calls the
    past hour already spent of it, and whose events list is stale (charged one read)."""

    quotas: Mapping[str, int]
    spent: Mapping[str, int] = field(default_factory=dict)
    stale_lists: Collection[str] = ()


@dataclass(frozen=True)
class FreshnessPlan:
    """What to sync now: `chosen` (due events within budget, and their free race siblings),
    `missed` (due but over budget, nearest first kept), estimated calls and budget per provider."""

    judged: tuple[EventFreshness, ...]
    chosen: tuple[EventFreshness, ...]
    missed: tuple[EventFreshness, ...]
    list_reads: tuple[str, ...]  # providers whose events list this run re-reads
    calls: Mapping[str, float]
    budget: Mapping[str, float]

    @property
    def due(self) -> tuple[EventFreshness, ...]:
        return tuple(j for j in self.judged if j.due)

    def due_ids(self) -> list[str]:
        """`provider:event_id` of the chosen events, sorted: the run's config and key."""
        return sorted(f"{j.event.provider}:{j.event.event_id}" for j in self.chosen)

    def missed_text(self, targets: FreshnessTargets, limit: int = 10) -> str:
        shown = "; ".join(j.reason(targets) for j in self.missed[:limit])
        more = f"; and {len(self.missed) - limit} more" if len(self.missed) > limit else ""
        return f"over budget, missed targets: {shown}{more}" if self.missed else ""


def minutes(delta: timedelta) -> str:
    total = delta.total_seconds() / 60
    return f"{total:.0f} min" if abs(total) < 120 else f"{total / 60:.1f} h"


def judge(
    events: Iterable[EventWatermark], now: datetime, targets: FreshnessTargets
) -> list[EventFreshness]:
    """Every event's band, target, lag and due flag at `now`, nearest start first."""
    lead = timedelta(minutes=targets.lead_minutes)
    judged = []
    for e in events:
        band = targets.band(e.start_time, now)
        target = targets.target(band)
        lag = None if e.watermark is None else now - e.watermark
        judged.append(EventFreshness(e, band, target, lag, lag is None or lag + lead >= target))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(
        judged,
        key=lambda j: (j.event.start_time or far, j.event.provider, j.event.event_id),
    )


def plan_freshness(
    events: Sequence[EventWatermark],
    now: datetime,
    targets: FreshnessTargets,
    *,
    accounts: AccountState,
    costs: CostModel,
) -> FreshnessPlan:
    """Due events nearest first, each race group charged once, until a provider's budget
    (quota x share - spent) is used; race siblings of a chosen group ride along for free.
    A provider in `accounts.stale_lists` is charged one events-list read with its first group.

    A group of a farther band must also leave room for an hour of the nearer bands' syncs
    (each nearer group's cost, once per target): budget spent on a far event now is gone for
    the race-day syncs of the next hour, and the rolling quota window remembers it that long."""
    judged = judge(events, now, targets)
    quotas, spent = accounts.quotas, accounts.spent
    budget = {p: math.floor(q * targets.quota_share) - spent.get(p, 0) for p, q in quotas.items()}
    calls: dict[str, float] = {p: 0.0 for p in quotas}
    stale = set(accounts.stale_lists)
    groups: dict[tuple[str, str], list[EventFreshness]] = {}
    for j in judged:
        groups.setdefault((j.event.provider, j.event.race_id), []).append(j)
    reserve = _hourly_reserve(groups, costs, targets)
    taken: set[tuple[str, str]] = set()
    missed: list[EventFreshness] = []
    reads: list[str] = []
    for j in (j for j in judged if j.due):
        key = (j.event.provider, j.event.race_id)
        if key in taken:
            continue
        provider = j.event.provider
        cost = costs.group(provider, len(groups[key]))
        if provider in stale and provider not in reads:
            cost += costs.list_read(provider)
        room = budget.get(provider, 0) - reserve.get((provider, j.band), 0.0)
        if calls.get(provider, 0.0) + cost > room:
            missed.append(j)
            continue
        calls[provider] = calls.get(provider, 0.0) + cost
        taken.add(key)
        if provider in stale and provider not in reads:
            reads.append(provider)
    chosen = tuple(j for j in judged if (j.event.provider, j.event.race_id) in taken)
    # a due event whose race was taken after it was refused is not missed
    missed = [j for j in missed if (j.event.provider, j.event.race_id) not in taken]
    return FreshnessPlan(tuple(judged), chosen, tuple(missed), tuple(reads), calls, {**budget})


def _hourly_reserve(
    groups: Mapping[tuple[str, str], Sequence[EventFreshness]],
    costs: CostModel,
    targets: FreshnessTargets,
) -> dict[tuple[str, str], float]:
    """(provider, band) -> calls an hour of the nearer bands' syncs will take on that account."""
    lead = timedelta(minutes=targets.lead_minutes)
    hourly: dict[tuple[str, str], float] = {}
    for (provider, _), members in groups.items():
        band = min((j.band for j in members), key=BANDS.index)
        period = max(targets.target(band) - lead, timedelta(minutes=1))
        per_hour = costs.group(provider, len(members)) * (timedelta(hours=1) / period)
        hourly[(provider, band)] = hourly.get((provider, band), 0.0) + per_hour
    reserve: dict[tuple[str, str], float] = {}
    for provider in {p for p, _ in groups}:
        for rank, band in enumerate(BANDS):
            nearer = BANDS[:rank]
            reserve[(provider, band)] = sum(hourly.get((provider, b), 0.0) for b in nearer)
    return reserve
