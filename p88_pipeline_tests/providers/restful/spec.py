"""The test-only provider's spec, its sandbox fake, and what the rules suite needs to drive it."""

from __future__ import annotations

import math

from p88_pipeline.providers.spec import ProviderSpec
from p88_pipeline_tests.providers.restful.client import PAGE_SIZE, PROVIDER, RestfulClient
from p88_pipeline_tests.providers.restful.fake_api import RestfulApi, RestfulSettings
from p88_pipeline_tests.sync.rules_profile import RulesProfile
from p88_sandbox.fakes.provider import FakeProvider, Reading, WorldShape


def minimum_calls(night: Reading) -> int:
    pages = lambda n: max(1, math.ceil(n / PAGE_SIZE))  # noqa: E731
    total = pages(night.listed_events)
    for event_id in night.races:
        total += pages(night.changed.get(event_id, 0) + night.removed.get(event_id, 0))
    return total


SPEC = ProviderSpec(
    name=PROVIDER,
    label="Restful (test only)",
    credential_fields=("api_token_env",),
    default_quota_per_hour=600,
    page_sizes={"events": PAGE_SIZE, "registrations": PAGE_SIZE},
    page_caps={"events": PAGE_SIZE, "registrations": PAGE_SIZE},
    build_client=RestfulClient.from_account,
)
FAKE = FakeProvider(
    name=PROVIDER,
    world=WorldShape(
        uses=lambda index: index == 1,
        secrets={"api_token": "TOKEN"},
        first_race_id=900_001,
        first_event_id=900_001,
        first_participant_id=90_000_000,
        removal_reasons=(("deleted", 1),),
    ),
    api=RestfulApi,
    settings=RestfulSettings,
    minimum_calls=minimum_calls,
)
PROFILE = RulesProfile(
    PROVIDER, "bravo", lambda race: f"/events/{race}/registrations", test_only=(SPEC, FAKE)
)
