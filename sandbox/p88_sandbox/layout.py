"""The world's shape: which partner has which races and events, when, where and how big.

Built once per World from the seed; exact totals per scale (the seed scale reproduces the real
workload's 1,616 events and 407,053 registrations) so benchmarks compare like with like.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from p88_sandbox.fakes.provider import WorldShape
from p88_sandbox.generate import (
    CITIES,
    DISTANCES,
    THEMES,
    TIMEZONES,
    UTC,
    EventState,
    Partner,
    event_sizes,
    local_start,
    make_partners,
    mix,
    scale_named,
)


@dataclass
class Layout:
    partners: list[Partner]
    events: list[EventState]
    next_id: dict[str, int]


def split_counts(rng: random.Random, total: int, weights: list[float], minimum: int) -> list[int]:
    """Integers >= minimum, proportional to weights, summing exactly to total."""
    spare = total - minimum * len(weights)
    counts = [minimum + int(spare * w / sum(weights)) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def race_shapes(rng: random.Random, shape: WorldShape, n_events: int) -> list[int]:
    """Events per race, drawn from the provider's weights; without weights an event stands alone."""
    weights = shape.events_per_race
    shapes: list[int] = []
    while sum(shapes) < n_events:
        k = 1 if weights is None else rng.choices(range(1, len(weights) + 1), weights=weights)[0]
        shapes.append(min(k, n_events - sum(shapes)))
    return shapes


def future_flags(rng: random.Random, shapes: list[int], ratio: float) -> list[bool]:
    """Mark races future until about `ratio` of the account's events are; at least one each way."""
    order = list(range(len(shapes)))
    rng.shuffle(order)
    flags = [False] * len(shapes)
    goal = max(1, round(ratio * sum(shapes)))
    got = 0
    for i in order:
        if got >= goal:
            break
        flags[i] = True
        got += shapes[i]
    if len(shapes) >= 2 and all(flags):
        flags[order[-1]] = False
    return flags


def build_layout(
    seed: int, scale_name: str, now: datetime, world_shapes: Mapping[str, WorldShape]
) -> Layout:
    scale = scale_named(scale_name)
    rng = random.Random(mix(seed, 1))
    partners = make_partners(seed, scale, world_shapes)
    accounts = [(p, prov) for p in partners for prov in p.providers]
    weights = [rng.uniform(0.4, 2.0) * world_shapes[prov].event_weight for _, prov in accounts]
    # At least 3 events per account, or as many as the scale has room for.
    per_account = split_counts(
        rng, scale.events, weights, minimum=min(3, scale.events // len(weights))
    )
    sizes = event_sizes(rng, scale)
    next_race = {name: shape.first_race_id for name, shape in world_shapes.items()}
    next_event = {name: shape.first_event_id for name, shape in world_shapes.items()}
    next_id = {name: shape.first_participant_id for name, shape in world_shapes.items()}
    events: list[EventState] = []
    for (partner, provider), n_events in zip(accounts, per_account, strict=True):
        world_shape = world_shapes[provider]
        standalone = world_shape.events_per_race is None
        shapes = race_shapes(rng, world_shape, n_events)
        for shape, future in zip(
            shapes, future_flags(rng, shapes, scale.future_ratio), strict=True
        ):
            tz_name = rng.choice(TIMEZONES)
            tz = ZoneInfo(tz_name)
            city, state = rng.choice(CITIES)
            race_name = f"{city} {rng.choice(THEMES)}"
            first_start = local_start(rng, now, tz, future)
            created = min(
                first_start.astimezone(UTC) - timedelta(days=rng.randint(60, 300)),
                now - timedelta(days=rng.randint(2, 30)),
            )
            created = created.replace(second=0, microsecond=0)
            race_id = next_race[provider]
            next_race[provider] += 1
            for k, (distance, hours) in enumerate(rng.sample(DISTANCES, shape)):
                start = (first_start + timedelta(minutes=15 * k)).astimezone(UTC)
                end = None if rng.random() < 0.2 else start + timedelta(hours=hours)
                event_id = next_event[provider]
                next_event[provider] += 1
                if standalone:
                    race_id = event_id
                size = sizes[len(events)]
                events.append(
                    EventState(
                        provider=provider,
                        partner_slug=partner.slug,
                        event_id=event_id,
                        race_id=race_id,
                        race_name=race_name,
                        name=race_name if standalone else distance,
                        distance=distance,
                        start=start,
                        end=end,
                        timezone=tz_name,
                        city=city,
                        state=state,
                        created=created,
                        registration_opens=created + timedelta(hours=rng.randint(1, 48)),
                        base_count=size,
                        id_base=next_id[provider],
                        fee_cents=rng.choice((2500, 3500, 4500, 5500, 8500, 12000)),
                    )
                )
                next_id[provider] += size
    return Layout(partners, events, next_id)
