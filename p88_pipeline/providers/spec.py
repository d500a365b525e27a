"""What a provider *is*, as one object: every fact the rest of p88 needs about a platform.

config/partners.py, the freshness plan, the sandbox and the bench read these facts from the
registry instead of spelling provider names out, so adding a platform is one package and one
registry line. Nothing here imports partners.py or the engine: they all import this. What only a
simulation needs (the world's layout, the fake API, the bench's call model) lives in the sandbox.
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
    server_filter: bool = True
    # Calls one race costs at least when its participants are read (RunSignUp: participants and
    # removed-participants; Haku: registrations): the freshness plan's floor per race.
    min_race_calls: float = 2.0
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
