"""A tiny world over real HTTP and small helpers to call it like a client would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from p88_pipeline.sandbox.config import SandboxConfig
from p88_pipeline.sandbox.server import SandboxServer
from p88_pipeline.sandbox.world import World


@pytest.fixture
def world() -> World:
    return World(seed=88, scale="tiny")


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(runsignup_error_array_every=0)


@pytest.fixture
def server(world: World, config: SandboxConfig) -> Iterator[SandboxServer]:
    with SandboxServer(world, config=config) as server:
        yield server


class RunSignUp:
    """Minimal RunSignUp caller: credentials and format=json added to every call."""

    def __init__(self, server: SandboxServer, slug: str) -> None:
        partner = server.world.partner(slug)
        self.base = server.runsignup_base_url
        self.auth = {"format": "json", "api_key": partner.api_key, "api_secret": partner.api_secret}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.base}{path}", params={**self.auth, **params}, timeout=5)

    def participants(
        self, race_id: str, event_ids: str, removed: bool = False, **params: Any
    ) -> list[dict]:
        kind = "removed-participants" if removed else "participants"
        body = self.get(f"/race/{race_id}/{kind}", event_id=event_ids, **params).json()
        assert isinstance(body, list), body
        return body


class Haku:
    """Minimal Haku caller: fetches a token, sends it bare in Authorization."""

    def __init__(self, server: SandboxServer, slug: str) -> None:
        partner = server.world.partner(slug)
        self.server = server
        self.credentials = (partner.client_id, partner.client_secret)
        self.refresh()

    def refresh(self) -> None:
        """A new token (tokens expire on the simulated clock, so after `advance`)."""
        self.token = self.fetch_token().json()["access_token"]

    def fetch_token(self) -> requests.Response:
        return requests.post(
            self.server.haku_token_url,
            auth=self.credentials,
            data={"grant_type": "client_credentials"},
            timeout=5,
        )

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        headers = {"Authorization": token or self.token, "Accept": "application/json"}
        return requests.get(
            f"{self.server.haku_api_url}{path}", params=params, headers=headers, timeout=5
        )


@pytest.fixture
def rsu(server: SandboxServer) -> RunSignUp:
    return RunSignUp(server, "alpha")


@pytest.fixture
def haku(server: SandboxServer) -> Haku:
    return Haku(server, "alpha")


def future_race(world: World, slug: str = "alpha") -> tuple[str, list[str]]:
    """A future RunSignUp race of the partner and its event ids."""
    now = world.clock.now()
    events = [e for e in world.events("runsignup", slug) if e["start_time"] > now]
    race_id = events[-1]["race_id"]
    return race_id, [e["event_id"] for e in events if e["race_id"] == race_id]
