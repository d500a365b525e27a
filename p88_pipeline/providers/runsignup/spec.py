"""RunSignUp's facts: credentials, quota, page sizes, client, sandbox fake and call model."""

from __future__ import annotations

import math

from p88_pipeline.providers.runsignup.client import (
    DOCUMENTED_CAPS,
    PARTICIPANTS_PAGE_MAX,
    RACES_PAGE_MAX,
    REMOVED_PAGE_SIZE,
    RunSignUpClient,
)
from p88_pipeline.providers.runsignup.fake_api import RunSignUpApi, RunSignUpSettings
from p88_pipeline.providers.runsignup.probe import CHECKS, probe
from p88_pipeline.providers.runsignup.records import PROVIDER
from p88_pipeline.providers.spec import ProviderSpec, Reading, WorldShape

PAGE_SIZES = {
    "races": RACES_PAGE_MAX,
    "participants": PARTICIPANTS_PAGE_MAX,
    "removed-participants": REMOVED_PAGE_SIZE,
}


def _pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


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
    total = _pages(night.listed_races, PAGE_SIZES["races"])
    by_race: dict[str, list[str]] = {}
    for event_id, race_id in night.races.items():
        by_race.setdefault(race_id, []).append(event_id)
    removed_pages = []
    for events in by_race.values():
        total += max(_pages(night.changed.get(e, 0), PAGE_SIZES["participants"]) for e in events)
        if night.incremental:
            size = PAGE_SIZES["removed-participants"]
            total += max(_pages(night.removed.get(e, 0), size) for e in events)
            removed_pages.append(max(night.removed.get(e, 0) for e in events))
    biggest = max(removed_pages, default=0)
    if night.first_incremental and 0 < biggest < PAGE_SIZES["removed-participants"]:
        total += removed_pages.count(biggest)
    return total


def _uses(index: int) -> bool:
    """Most partners time on RunSignUp; every fifth from the fifth on uses Haku alone."""
    return not (index >= 2 and index % 5 == 4)


SPEC = ProviderSpec(
    name=PROVIDER,
    label="RunSignUp",
    credential_fields=("api_key_env", "api_secret_env"),
    option_fields=("only_partner_races", "removed_page_size"),
    default_quota_per_hour=1000,
    page_sizes=PAGE_SIZES,
    page_caps=DOCUMENTED_CAPS,
    build_client=RunSignUpClient.from_account,
    world=WorldShape(
        uses=_uses,
        secrets={"api_key": "KEY", "api_secret": "SECRET"},
        first_race_id=100_001,
        first_event_id=600_001,
        first_participant_id=40_000_000,
        events_per_race=(35, 30, 20, 15),
        removal_reasons=(("cleared", 40), ("transferred", 30), ("deferred", 20), ("removed", 10)),
    ),
    fake_api=RunSignUpApi,
    fake_settings=RunSignUpSettings,
    minimum_calls=minimum_calls,
    probe=probe,
    probe_checks=CHECKS,
)
