"""Haku's fake as the sandbox plays it: the world's layout of its accounts, its API, and the
bench's model of the fewest calls a night needs."""

from __future__ import annotations

from p88_pipeline.providers.haku.spec import SPEC
from p88_sandbox.fakes.haku.api import HakuApi, HakuSettings
from p88_sandbox.fakes.provider import FakeProvider, Reading, WorldShape, pages


def minimum_calls(night: Reading) -> int:
    """A token (each run needs one: they live an hour, runs are hours apart); the event list;
    per future event the pages its changed records need (cancellations are records here, there
    is no removed list)."""
    total = 1 + pages(night.listed_events, SPEC.page_sizes["events"])
    for event_id in night.races:
        rows = night.changed.get(event_id, 0) + night.removed.get(event_id, 0)
        total += pages(rows, SPEC.page_sizes["participants"])
    return total


def _uses(index: int) -> bool:
    """Every fifth partner from the fifth on, and every third from the fourth on."""
    return index % 5 == 4 or (index >= 2 and index % 3 == 0)


FAKE = FakeProvider(
    name=SPEC.name,
    world=WorldShape(
        uses=_uses,
        secrets={"client_id": "CLIENT_ID", "client_secret": "CLIENT_SECRET"},
        first_race_id=70_001,
        first_event_id=70_001,
        first_participant_id=7_000_000,
        event_weight=0.6,
        events_per_race=None,
        removal_reasons=(("cancelled", 1),),
    ),
    api=HakuApi,
    settings=HakuSettings,
    minimum_calls=minimum_calls,
)
