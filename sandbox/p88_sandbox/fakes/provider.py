"""What the sandbox knows of a provider beyond its ProviderSpec: how its synthetic world lays out
the provider's accounts, its fake API, and the bench's model of the fewest calls a night needs.

The product's spec (p88_pipeline.providers.spec) holds what a sync needs; this is what only a
simulation needs, so the shipped package carries none of it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorldShape:
    """How the sandbox's synthetic world lays out this provider's accounts.

    `uses(i)`: whether the world's i-th partner has an account here. `events_per_race`: weights
    of 1, 2, ... events per race; None means every event is its own race (race_id == event_id,
    named after the race). `secrets`: credential name -> suffix of its sandbox env variable.
    `removal_reasons`: (reason, weight) of the nightly change model's removals.
    """

    uses: Callable[[int], bool]
    secrets: Mapping[str, str]
    first_race_id: int
    first_event_id: int
    first_participant_id: int
    event_weight: float = 1.0
    events_per_race: tuple[int, ...] | None = None
    removal_reasons: tuple[tuple[str, int], ...] = (("removed", 1),)


@dataclass(frozen=True)
class Reading:
    """What the bench's minimum-calls model knows of one account's night: per future event its
    race, and how many registrations changed and were removed (None: a full first read)."""

    races: Mapping[str, str]  # event id -> race id, future events only
    changed: Mapping[str, int]
    removed: Mapping[str, int]
    listed_events: int
    listed_races: int
    incremental: bool
    # The first incremental night after a full sync: an endpoint only such nights read, whose
    # maximum page size is undocumented, has never shown a page (see each spec's model).
    first_incremental: bool = False


@dataclass(frozen=True)
class FakeProvider:
    """One provider as the sandbox plays it. `api(world, settings)`: its fake HTTP API;
    `settings()`: the fake's knobs (what PROVIDERS.md leaves unknown); `minimum_calls`: the
    fewest calls a night's reading needs, what the bench holds each strategy to."""

    name: str
    world: WorldShape
    api: Callable[[Any, Any], Any]
    settings: Callable[[], Any]
    minimum_calls: Callable[[Reading], int]


def pages(count: int, size: int) -> int:
    """Pages a read of `count` rows needs at `size` per page: at least one, the one saying none."""
    return max(1, math.ceil(count / size))
