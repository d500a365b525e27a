"""Haku's facts: credentials, quota, page sizes, client, sandbox fake and call model."""

from __future__ import annotations

import math

from p88_pipeline.providers.haku.client import DEFAULT_PAGE_SIZE, DOCUMENTED_CAPS, HakuClient
from p88_pipeline.providers.haku.fake_api import HakuApi, HakuSettings
from p88_pipeline.providers.haku.probe import CHECKS, probe
from p88_pipeline.providers.haku.records import PROVIDER
from p88_pipeline.providers.spec import ProviderSpec, Reading, WorldShape

PAGE_SIZES = {"events": DEFAULT_PAGE_SIZE, "participants": DEFAULT_PAGE_SIZE}


def _pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


def minimum_calls(night: Reading) -> int:
    """A token (each run needs one: they live an hour, runs are hours apart); the event list;
    per future event the pages its changed records need (cancellations are records here, there
    is no removed list)."""
    total = 1 + _pages(night.listed_events, PAGE_SIZES["events"])
    for event_id in night.races:
        rows = night.changed.get(event_id, 0) + night.removed.get(event_id, 0)
        total += _pages(rows, PAGE_SIZES["participants"])
    return total


def _uses(index: int) -> bool:
    """Every fifth partner from the fifth on, and every third from the fourth on."""
    return index % 5 == 4 or (index >= 2 and index % 3 == 0)


SPEC = ProviderSpec(
    name=PROVIDER,
    label="Haku",
    credential_fields=("client_id_env", "client_secret_env"),
    default_quota_per_hour=500,
    page_sizes=PAGE_SIZES,
    page_caps=DOCUMENTED_CAPS,  # undocumented: learned per account
    build_client=HakuClient.from_account,
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
    fake_api=HakuApi,
    fake_settings=HakuSettings,
    minimum_calls=minimum_calls,
    probe=probe,
    probe_checks=CHECKS,
    server_filter=False,  # no confirmed updated_since: newest-first early stop
    option_fields=("token_url", "updated_since_param", "timezone"),
)
