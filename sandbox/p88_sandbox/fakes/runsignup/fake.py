"""RunSignUp's fake as the sandbox plays it: the world's layout of its accounts, its API, and the
bench's model of the fewest calls a night needs."""

from __future__ import annotations

from p88_pipeline.providers.runsignup.spec import SPEC
from p88_sandbox.fakes.provider import FakeProvider, Reading, WorldShape, pages
from p88_sandbox.fakes.runsignup.api import RunSignUpApi, RunSignUpSettings


def minimum_calls(night: Reading) -> int:
    """The race list; per race with future events one participants read (several event ids per
    call), as many pages as its busiest event needs; on an incremental night, the same for the
    removed-participants list.

    What knowing the data does not spare: removed-participants documents no maximum page size
    (PROVIDERS.md: do not trust a short page until the cap is known), and on the first
    incremental night it has never shown a page. Even reading the race with the most removals
    first, a short page as big as the biggest seen so far proves nothing (the cap may be exactly
    that): one more page for each race tied at the night's biggest removed page.
    """
    total = pages(night.listed_races, SPEC.page_sizes["races"])
    by_race: dict[str, list[str]] = {}
    for event_id, race_id in night.races.items():
        by_race.setdefault(race_id, []).append(event_id)
    removed_pages = []
    for events in by_race.values():
        total += max(
            pages(night.changed.get(e, 0), SPEC.page_sizes["participants"]) for e in events
        )
        if night.incremental:
            size = SPEC.page_sizes["removed-participants"]
            total += max(pages(night.removed.get(e, 0), size) for e in events)
            removed_pages.append(max(night.removed.get(e, 0) for e in events))
    biggest = max(removed_pages, default=0)
    if night.first_incremental and 0 < biggest < SPEC.page_sizes["removed-participants"]:
        total += removed_pages.count(biggest)
    return total


def _uses(index: int) -> bool:
    """Most partners time on RunSignUp; every fifth from the fifth on uses Haku alone."""
    return not (index >= 2 and index % 5 == 4)


FAKE = FakeProvider(
    name=SPEC.name,
    world=WorldShape(
        uses=_uses,
        secrets={"api_key": "KEY", "api_secret": "SECRET"},
        first_race_id=100_001,
        first_event_id=600_001,
        first_participant_id=40_000_000,
        events_per_race=(35, 30, 20, 15),
        removal_reasons=(("cleared", 40), ("transferred", 30), ("deferred", 20), ("removed", 10)),
    ),
    api=RunSignUpApi,
    settings=RunSignUpSettings,
    minimum_calls=minimum_calls,
)
