"""The world's shape: which partner has which races and events, when, where and how big.

Built once per World from the seed; exact totals per scale (the seed scale reproduces the real
workload's 1,616 events and 407,053 registrations) so benchmarks compare like with like.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from p88_pipeline.sandbox.generate import (
    CITIES,
    DISTANCES,
    SCALES,
    THEMES,
    TIMEZONES,
    UTC,
    EventState,
    Partner,
    event_sizes,
    local_start,
    make_partners,
    mix,
)

FIRST_ID = {"runsignup": 40_000_000, "haku": 7_000_000}


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


def race_shapes(rng: random.Random, provider: str, n_events: int) -> list[int]:
    """Events per race: RunSignUp races hold 1-4 events, a Haku event stands alone."""
    shapes: list[int] = []
    while sum(shapes) < n_events:
        k = 1 if provider == "haku" else rng.choices((1, 2, 3, 4), weights=(35, 30, 20, 15))[0]
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


def build_layout(seed: int, scale_name: str, now: datetime) -> Layout:
    if scale_name not in SCALES:
        raise ValueError(f"unknown scale {scale_name!r} (known: {', '.join(SCALES)})")
    scale = SCALES[scale_name]
    rng = random.Random(mix(seed, 1))
    partners = make_partners(seed, scale)
    accounts = [(p, prov) for p in partners for prov in p.providers]
    weights = [rng.uniform(0.4, 2.0) * (0.6 if prov == "haku" else 1.0) for _, prov in accounts]
    per_account = split_counts(rng, scale.events, weights, minimum=3)
    sizes = event_sizes(rng, scale)
    next_race = {"runsignup": 100_001, "haku": 70_001}
    next_event = {"runsignup": 600_001, "haku": 70_001}
    next_id = dict(FIRST_ID)
    events: list[EventState] = []
    for (partner, provider), n_events in zip(accounts, per_account, strict=True):
        shapes = race_shapes(rng, provider, n_events)
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
                if provider == "haku":
                    race_id = event_id
                size = sizes[len(events)]
                events.append(
                    EventState(
                        provider=provider,
                        partner_slug=partner.slug,
                        event_id=event_id,
                        race_id=race_id,
                        race_name=race_name,
                        name=race_name if provider == "haku" else distance,
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
