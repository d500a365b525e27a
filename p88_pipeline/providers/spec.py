"""What a provider *is*, as one object: every fact the rest of p88 needs about a platform.

partners.py, the sandbox and the bench read these facts from the registry instead of spelling
provider names out, so adding a platform is one package and one registry line. Nothing here
imports partners.py, the sandbox's world or the engine: they all import this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from p88_pipeline.providers.base import ProviderClient
from p88_pipeline.providers.http import ApiSession
from p88_pipeline.providers.probe import Check, ProbeTarget


class AccountSettings(Protocol):
    """The part of a partners.yaml account a client is built from (partners.ProviderAccount)."""

    @property
    def base_url(self) -> str: ...

    @property
    def page_size(self) -> int | None: ...

    @property
    def options(self) -> Mapping[str, Any]: ...


BuildClient = Callable[[ApiSession, AccountSettings, Mapping[str, str]], ProviderClient]


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
class ProviderSpec:
    """One platform. `page_sizes`: what the client asks per endpoint by default; `page_caps`: the
    documented maximum per endpoint (None: undocumented, to be learned from the server);
    `server_filter`: the API filters by modification time itself (else the client stops early)."""

    name: str
    label: str
    credential_fields: tuple[str, ...]
    default_quota_per_hour: int
    page_sizes: Mapping[str, int]
    page_caps: Mapping[str, int | None]
    build_client: BuildClient
    world: WorldShape
    fake_api: Callable[[Any, Any], Any]  # (world, settings) -> the sandbox's fake of this API
    fake_settings: Callable[[], Any]  # the fake's knobs, a dataclass of what is unknown
    minimum_calls: Callable[[Reading], int]
    server_filter: bool = True
    option_fields: tuple[str, ...] = ()  # optional partners.yaml keys its client reads
    # `p88 doctor`: (client, target) -> checks, within providers.probe.MAX_CALLS calls
    probe: Callable[[Any, ProbeTarget], list[Check]] | None = None
    probe_checks: int = 0  # the checks its probe makes when all goes well (doctor's progress)

    @property
    def pool(self) -> str:
        """The Dagster pool its API-calling assets claim slots in (dagster.yaml's `pools:`)."""
        return f"{self.name}_api"

    def credential_names(self) -> tuple[str, ...]:
        """`api_key_env` -> `api_key`: the names the client receives the values under."""
        return tuple(f.removesuffix("_env") for f in self.credential_fields)
