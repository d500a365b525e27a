"""The nightly change model: what happens to registrations while simulated time passes.

Only events still to come change; the closer the race, the busier its registrations (race week is
when people transfer, fix names and pick up bibs). Every change is stamped uniformly inside the
advanced window, so an incremental sync with a watermark at the window start sees all of them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from p88_sandbox.generate import FIRST, LAST, TEAMS, EventState, ascii_slug, mix
from p88_sandbox.view import WorldView

DAY = timedelta(days=1)


def stochastic_round(rng: random.Random, x: float) -> int:
    whole = int(x)
    return whole + (1 if rng.random() < x - whole else 0)


def field_change(rng: random.Random, fields: dict[str, Any]) -> dict[str, Any]:
    """One plausible edit: new email, bib, team, corrected name or chip."""
    kind = rng.choices(
        ("email", "bib", "team", "last_name", "first_name", "chip"), weights=(30, 25, 15, 12, 8, 10)
    )[0]
    if kind == "email":
        first = ascii_slug(fields["first_name"])
        return {"email": f"{first}.{rng.randint(10000, 99999)}@example.org"}
    if kind == "bib":
        return {"bib": rng.randint(1, 99_999)}
    if kind == "team":
        team = rng.choice(TEAMS)
        return {"team_name": team, "team_id": 500 + TEAMS.index(team)}
    if kind == "last_name":
        return {"last_name": rng.choice(LAST)}
    if kind == "first_name":
        return {"first_name": rng.choice(FIRST)}
    return {"chip": f"{rng.randint(0, 0xFFFFFF):06X}"}


def event_changes(
    world: WorldView,
    event: EventState,
    start: datetime,
    delta: timedelta,
    change_rate: float,
    counts: dict[str, int],
) -> None:
    rng = random.Random(mix(world.seed, 11, world.advances, event.event_id))
    window = max(1, int(delta.total_seconds()))
    stamp = lambda: start + timedelta(seconds=rng.randint(1, window))  # noqa: E731
    days_left = max(0.0, (event.start - start) / DAY)
    rate = change_rate * (delta / DAY) * (1 + 4 / (1 + days_left))
    active = world.active_ids(event)
    n = len(active)
    n_mod = stochastic_round(rng, n * rate)
    n_add = stochastic_round(rng, n * rate * 0.5)
    n_rem = stochastic_round(rng, n * rate * 0.2)
    if delta >= DAY / 2 and n >= 3:  # a night never passes without some churn
        n_mod, n_add, n_rem = max(1, n_mod), max(1, n_add), max(1, n_rem)
    victims = rng.sample(active, min(n, n_mod + n_rem))
    removed, modified = victims[:n_rem], victims[n_rem:]
    for pid in sorted(modified):
        fields = world.registration(event, pid).fields
        world.modify_participant(
            event.provider, event.event_id, pid, at=stamp(), **field_change(rng, fields)
        )
        counts["modified"] += 1
    reasons = world.shapes[event.provider].removal_reasons
    for pid in sorted(removed):
        reason = (
            reasons[0][0]
            if len(reasons) == 1
            else rng.choices([r for r, _ in reasons], weights=[w for _, w in reasons])[0]
        )
        if world.remove_participant(event.provider, event.event_id, pid, reason, at=stamp()):
            counts["added"] += 1
        counts["removed"] += 1
    for _ in range(n_add):
        world.add_participant(event.provider, event.event_id, at=stamp())
        counts["added"] += 1


def apply_changes(
    world: WorldView, start: datetime, delta: timedelta, change_rate: float
) -> dict[str, int]:
    """Apply one window of changes to every event that had not started at `start`."""
    counts = {"events": 0, "modified": 0, "added": 0, "removed": 0}
    for provider in world.shapes:
        for event in world.event_states(provider):
            if event.start <= start:
                continue
            counts["events"] += 1
            event_changes(world, event, start, delta, change_rate, counts)
    return counts
