"""The HTTP session every provider client uses: pacing, retries, call counting, redaction.

One explicit retry loop rather than urllib3's Retry: RunSignUp throttles and fails *inside HTTP 200
bodies*, and every attempt must be counted and paced against the partner's quota, which urllib3's
internal retries would hide.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from p88_pipeline.lib.redaction import spellings
from p88_pipeline.providers.base import (
    AuthError,
    MalformedResponseError,
    ProviderError,
    ThrottledError,
)
from p88_pipeline.providers.quota import TokenBucket

log = logging.getLogger(__name__)


class _NoQueryStrings(logging.Filter):
    """urllib3 logs request lines with their query string, where RunSignUp keys travel: cut it,
    so even someone who turns urllib3's DEBUG on sees no secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                a.split("?", 1)[0] + "?***" if isinstance(a, str) and "?" in a else a
                for a in record.args
            )
        return True


logging.getLogger("urllib3").setLevel(logging.WARNING)  # its DEBUG lines carry query secrets
logging.getLogger("urllib3.connectionpool").addFilter(_NoQueryStrings())


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    timeout_s: tuple[float, float] = (10.0, 60.0)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full-jitter exponential backoff; a server's Retry-After wins when it is given."""
        if retry_after is not None:
            return min(retry_after, self.backoff_max_s * 4)
        return random.uniform(0, min(self.backoff_max_s, self.backoff_s * 2**attempt))


class RetryableBody(Exception):
    """Raised by a body check for a throttle or transient error reported inside a 200."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


@dataclass(frozen=True)
class Keys:
    """A session's credentials as its errors may speak of them: the values, masked in every
    message, and the environment variables they came from, named where a call is refused."""

    secrets: Iterable[str] = ()
    envs: Iterable[str] = ()


@dataclass(frozen=True)
class Transport:
    """How a session's calls travel: retried by `retry`, `max_in_flight` at once, waiting with
    `sleep` (a test's fake waits without waiting), TLS verified unless a test says otherwise."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_in_flight: int = 2
    sleep: Callable[[float], None] = time.sleep
    verify_tls: bool = True


DEFAULT_TRANSPORT = Transport()


@dataclass(frozen=True)
class Answer:
    """How a caller reads an answer. `check_body` raises RetryableBody for errors a retry may
    fix, or a ProviderError; `on_unauthorized` may return fresh headers once (a renewed OAuth
    token); `headers`, when given, receives the answer's headers (pagination metadata);
    `object_hook` is json's: each object as it is decoded (a client parses records there)."""

    check_body: Callable[[Any], None] | None = None
    on_unauthorized: Callable[[], dict[str, str]] | None = None
    headers: dict[str, str] | None = None
    object_hook: Callable[[dict], Any] | None = None


PLAIN_ANSWER = Answer()


class ApiSession:
    """A partner's connection to one provider; thread-safe, `max_in_flight` calls at once."""

    def __init__(
        self,
        provider: str,
        partner: str,
        *,
        limiter: TokenBucket,
        keys: Keys = Keys(),
        transport: Transport = DEFAULT_TRANSPORT,
    ) -> None:
        self.provider = provider
        self.partner = partner
        self.limiter = limiter
        self.retry = transport.retry
        self.calls = 0
        self.last_server_time: datetime | None = None
        self._secrets = [s for s in keys.secrets if s]
        self.credential_envs = tuple(keys.envs)
        self._sleep = transport.sleep
        self._in_flight = threading.BoundedSemaphore(transport.max_in_flight)
        self._count_lock = threading.Lock()
        # One answer decoded at a time per session: decoding holds the GIL anyway, and two pages
        # being decoded at once are a run's memory peak (a full RunSignUp page is thousands of
        # records).
        self._decoding = threading.Lock()
        self.http = requests.Session()
        self.http.verify = transport.verify_tls
        self.http.headers["User-Agent"] = "p88-pipeline/0.1"

    def add_secret(self, secret: str) -> None:
        if secret:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        """Every spelling of every secret: query strings carry them quote_plus-encoded."""
        for form in sorted({f for s in self._secrets for f in spellings(s)}, key=len, reverse=True):
            text = text.replace(form, "***")
        return text

    def _where(self, url: str) -> str:
        return f"{self.provider} partner {self.partner}: {self.redact(url.split('?')[0])}"

    def _auth_hint(self) -> str:
        """Where the refused credentials came from: the variables' names, never their values."""
        if not self.credential_envs:
            return ""
        return f" (credentials from environment variables {', '.join(self.credential_envs)})"

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        answer: Answer = PLAIN_ANSWER,
        **kwargs: Any,
    ) -> Any:
        """One logical call: paced, retried on throttling/5xx/timeouts/bad bodies, counted.

        `answer` says how the caller reads what comes back (see Answer).
        """
        headers = dict(headers or {})
        reauthorized = False
        last_problem = "no attempt made"
        throttled = False
        for attempt in range(self.retry.attempts):
            self.limiter.acquire()
            with self._count_lock:
                self.calls += 1
            retry_after: float | None = None
            try:
                with self._in_flight:
                    response = self.http.request(
                        method,
                        url,
                        params=params,
                        headers=headers,
                        timeout=self.retry.timeout_s,
                        **kwargs,
                    )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_problem = f"{type(exc).__name__}: {self.redact(str(exc))}"
                log.warning("%s attempt %d: %s", self._where(url), attempt + 1, last_problem)
                self._sleep(self.retry.delay(attempt))
                continue
            self._note_server_time(response)
            status = response.status_code
            if status == 401 and answer.on_unauthorized is not None and not reauthorized:
                headers.update(answer.on_unauthorized())
                reauthorized = True
                continue
            if status in (401, 403):
                raise AuthError(
                    f"{self._where(url)}: credentials refused (HTTP {status}){self._auth_hint()}",
                    code=status,
                    partner=self.partner,
                )
            if status == 429 or status >= 500:
                throttled = status == 429
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                last_problem = f"HTTP {status}"
                log.warning("%s attempt %d: HTTP %d", self._where(url), attempt + 1, status)
                self._sleep(self.retry.delay(attempt, retry_after))
                continue
            if status >= 400:
                raise ProviderError(
                    f"{self._where(url)}: HTTP {status}: {self.redact(response.text[:200])}",
                    code=status,
                    partner=self.partner,
                )
            try:
                with self._decoding:
                    body = response.json(object_hook=answer.object_hook)
            except ValueError:
                last_problem = f"malformed JSON body ({len(response.content)} bytes)"
                log.warning("%s attempt %d: %s", self._where(url), attempt + 1, last_problem)
                self._sleep(self.retry.delay(attempt))
                continue
            if answer.headers is not None:
                answer.headers.clear()
                answer.headers.update(response.headers)
            try:
                if answer.check_body is not None:
                    answer.check_body(body)
            except RetryableBody as exc:
                throttled = exc.throttled
                last_problem = str(exc)
                log.warning("%s attempt %d: %s", self._where(url), attempt + 1, last_problem)
                self._sleep(self.retry.delay(attempt))
                continue
            except ProviderError as exc:
                exc.partner = self.partner
                hint = self._auth_hint() if isinstance(exc, AuthError) else ""
                raise type(exc)(
                    f"{self._where(url)}: {self.redact(str(exc))}{hint}",
                    code=exc.code,
                    partner=self.partner,
                ) from None
            return body
        attempts = self.retry.attempts
        message = f"{self._where(url)}: gave up after {attempts} attempts: {last_problem}"
        if throttled:
            raise ThrottledError(message, partner=self.partner)
        if last_problem.startswith("malformed"):
            raise MalformedResponseError(message, partner=self.partner)
        raise ProviderError(message, partner=self.partner)

    def _note_server_time(self, response: requests.Response) -> None:
        """Keep the provider's clock (Date header): watermarks are taken on the provider's time."""
        date = response.headers.get("Date")
        if not date:
            return
        try:
            parsed = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        self.last_server_time = parsed.astimezone(UTC)


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
