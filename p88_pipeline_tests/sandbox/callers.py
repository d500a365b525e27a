"""Small callers of the sandbox's fakes, used the way a client would call them."""

from __future__ import annotations

from typing import Any

import requests

from p88_sandbox.server import SandboxServer
from p88_sandbox.world import World


class RunSignUp:
    """Minimal RunSignUp caller: credentials and format=json added to every call."""

    def __init__(self, server: SandboxServer, slug: str) -> None:
        partner = server.world.partner(slug)
        self.base = server.account("runsignup")["base_url"]
        self.auth = {"format": "json", **partner.secrets["runsignup"]}

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
        secrets = partner.secrets["haku"]
        self.credentials = (secrets["client_id"], secrets["client_secret"])
        self.token_url = server.account("haku")["token_url"]
        self.api_url = server.account("haku")["base_url"]
        self.refresh()

    def refresh(self) -> None:
        """A new token (tokens expire on the simulated clock, so after `advance`)."""
        self.token = self.fetch_token().json()["access_token"]

    def fetch_token(self) -> requests.Response:
        return requests.post(
            self.token_url,
            auth=self.credentials,
            data={"grant_type": "client_credentials"},
            timeout=5,
        )

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        headers = {"Authorization": token or self.token, "Accept": "application/json"}
        return requests.get(f"{self.api_url}{path}", params=params, headers=headers, timeout=5)


def future_race(world: World, slug: str = "alpha") -> tuple[str, list[str]]:
    """A future RunSignUp race of the partner and its event ids."""
    now = world.clock.now()
    events = [e for e in world.events("runsignup", slug) if e["start_time"] > now]
    race_id = events[-1]["race_id"]
    return race_id, [e["event_id"] for e in events if e["race_id"] == race_id]
