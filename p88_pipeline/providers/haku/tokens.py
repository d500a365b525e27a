"""Haku's OAuth2 client-credentials tokens: fetched on first use, renewed before expiry or after
a 401, shared within a process (the events and participants steps of one run would otherwise
each spend a call on one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from p88_pipeline.providers.base import AuthError, MalformedResponseError, ProviderError
from p88_pipeline.providers.http import Answer, ApiSession

_TOKEN_CACHE: dict[tuple[str, str], tuple[str, float]] = {}  # (token_url, client_id) -> token
TOKEN_MARGIN_S = 60.0  # renew this long before expiry: a token must not die between calls
DEFAULT_EXPIRES_IN = 3600


def _check_token(body: Any) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise MalformedResponseError("token answer has no access_token")


class Tokens:
    def __init__(
        self,
        session: ApiSession,
        token_url: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.token_url = token_url
        self._auth = (client_id, client_secret)
        self.clock = clock
        self._token: str | None = None
        self._token_due = 0.0  # clock() value after which the cached token is renewed
        self._lock = threading.Lock()
        session.add_secret(client_id)
        session.add_secret(client_secret)

    def _cache_key(self) -> tuple[str, str] | None:
        """Shared only on the real monotonic clock (tests move their own clocks)."""
        return (self.token_url, self._auth[0]) if self.clock is time.monotonic else None

    def get(self) -> str:
        with self._lock:
            key = self._cache_key()
            if self._token is None and key in _TOKEN_CACHE:
                self._token, self._token_due = _TOKEN_CACHE[key]
                self.session.add_secret(self._token)
            if self._token is None or self.clock() >= self._token_due:
                self._fetch()
            assert self._token is not None
            return self._token

    def renew_after(self, refused: str) -> dict[str, str]:
        """ApiSession calls this once per request on a 401: the token was revoked or expired."""
        with self._lock:
            if self._token == refused:  # another thread may have renewed it already
                self._fetch()
            assert self._token is not None
            return {"Authorization": self._token}

    def _fetch(self) -> None:
        """POST client credentials (HTTP Basic, form body); paced and counted like any call."""
        started = self.clock()
        try:
            body = self.session.request_json(
                "POST",
                self.token_url,
                data={"grant_type": "client_credentials"},
                auth=self._auth,
                headers={"Accept": "application/json"},
                answer=Answer(check_body=_check_token),
            )
        except AuthError:
            raise
        except ProviderError as exc:
            if exc.code is not None and 400 <= exc.code < 500:  # invalid_client / invalid_grant
                raise AuthError(
                    f"haku partner {self.session.partner}: token request refused (HTTP {exc.code})",
                    code=exc.code,
                    partner=self.session.partner,
                ) from None
            raise
        token = body["access_token"]
        try:
            expires_in = float(body.get("expires_in", DEFAULT_EXPIRES_IN))
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN
        self.session.add_secret(token)
        self._token = token
        self._token_due = started + expires_in - min(TOKEN_MARGIN_S, expires_in / 2)
        if (key := self._cache_key()) is not None:
            _TOKEN_CACHE[key] = (token, self._token_due)
