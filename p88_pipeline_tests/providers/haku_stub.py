"""A scriptable Haku stub over real HTTP (127.0.0.1, port 0), shared by the Haku tests.

Why a stub next to the sandbox: client tests need to script exact situations (a token revoked
between two pages, one 429, a server that ignores sorting) that a realistic world makes awkward.
test_haku_stub.py checks the stub itself speaks PROVIDERS.md's Haku.
"""

from __future__ import annotations

import base64
import email.utils
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from p88_pipeline.providers.haku.client import HakuClient, HakuOptions
from p88_pipeline.providers.http import ApiSession, Keys, RetryPolicy, Transport
from p88_pipeline.providers.quota import TokenBucket
from p88_pipeline_tests.helpers import FAST_RETRY

API = "/api"
TOKEN_PATH = "/auth/oauth2/token"


@dataclass
class Logged:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: str = ""
    status: int = 0


@dataclass
class Scripted:
    """Answer the next `times` requests whose path contains `path_contains` with this."""

    path_contains: str
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


def stamp(moment: datetime) -> str:
    """Haku's plain style: 'YYYY-mm-dd HH:MM:SS' in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def as_time(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the client tests' "now"
EVENT = "70001"
SPRING_10K = {  # the client tests' one event, a month after NOW, in the event's own zone
    "id": EVENT,
    "name": "Spring 10K",
    "event_date": "2026-04-01 08:00:00",
    "timezone": "America/Chicago",
}


def registration(n: int, updated_at: datetime, **extra: Any) -> dict[str, Any]:
    record = {
        "registration_number": str(n),
        "person_full_name": f"First{n} Last{n}",
        "email": f"runner{n}@example.org",
        "age": 30 + n % 40,
        "gender": "F" if n % 2 else "M",
        "is_cancelled": False,
        "cancelled_at": None,
        "registered_at": stamp(updated_at),
        "updated_at": stamp(updated_at),
        "team": {"name": f"Team {n % 3}"},
        "transaction_amount": 55.5,
    }
    record.update(extra)
    return record


class HakuStub:
    """Events and participants held in plain lists; behaviour switched by attributes."""

    def __init__(self, *, expires_in: int = 3600, per_page_cap: int = 100) -> None:
        self.client_id = "stub-client-id-0042"
        self.client_secret = "stub-secret-s3cr3t-value"
        self.expires_in = expires_in
        self.per_page_cap = per_page_cap
        self.wrap: str | None = None  # {"<wrap>": [...]} instead of a bare list
        self.sort_participants = True  # False: ignore sort_column (a server we cannot trust)
        self.updated_since_param = "updated_since"
        self.honour_updated_since = False
        self.reject_updated_since = False  # 400 when the filter parameter is sent
        self.refuse_every_token = False  # tokens are issued but never accepted
        self.server_now: datetime | None = None  # the Date header's time (None: the real one)
        self.send_date = True  # False: an empty Date header (a server that gives no time)
        self.events: list[dict[str, Any]] = []
        self.participants: dict[str, list[dict[str, Any]]] = {}
        self.scripted: list[Scripted] = []
        self.hooks: list[Callable[[Logged], None]] = []
        self.log: list[Logged] = []
        self.tokens: set[str] = set()
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def credentials(self) -> dict[str, str]:
        """As the client receives them; read when asked, so a test may change either."""
        return {"client_id": self.client_id, "client_secret": self.client_secret}

    def __enter__(self) -> HakuStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.url + API

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def script(
        self,
        path_contains: str,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        self.scripted.append(Scripted(path_contains, status, body, dict(headers or {}), times))

    def requests_to(self, suffix: str, method: str = "GET") -> list[Logged]:
        return [r for r in self.log if r.method == method and r.path.endswith(suffix)]

    @property
    def token_requests(self) -> list[Logged]:
        return self.requests_to(TOKEN_PATH, "POST")

    # ------------------------------------------------------------------ answers
    def answer(self, request: Logged) -> tuple[int, Any, dict[str, str]]:
        for hook in list(self.hooks):
            hook(request)
        for s in self.scripted:
            if s.times > 0 and s.path_contains in request.path:
                s.times -= 1
                return s.status, s.body if s.body is not None else {"error": "scripted"}, s.headers
        if request.method == "POST" and request.path == TOKEN_PATH:
            return self.token(request)
        if request.headers.get("authorization") not in self.tokens or self.refuse_every_token:
            return 401, {"error": "Unauthorized"}, {}
        if request.path.rstrip("/") == f"{API}/events":
            return 200, self.wrapped(self.page(self.sorted_events(), request.params)), {}
        parts = request.path.strip("/").split("/")
        if len(parts) == 4 and parts[1] == "events" and parts[3] == "participants":
            if parts[2] not in self.participants:
                return 404, {"error": "Event not found"}, {}
            return self.participant_page(parts[2], request.params)
        return 404, {"error": "Not Found"}, {}

    def token(self, request: Logged) -> tuple[int, Any, dict[str, str]]:
        form = {k: v[-1] for k, v in parse_qs(request.body).items()}
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}, {}
        if request.headers.get("authorization") != f"Basic {expected}":
            return 401, {"error": "invalid_client"}, {}
        token = uuid.uuid4().hex
        with self.lock:
            self.tokens.add(token)
        return (
            200,
            {"access_token": token, "expires_in": self.expires_in, "token_type": "access_token"},
            {},
        )

    def wrapped(self, rows: list) -> Any:
        return {self.wrap: rows, "total": len(rows)} if self.wrap else rows

    def page(self, rows: list, params: dict[str, str]) -> list:
        page = int(params.get("page", 1))
        per_page = min(int(params.get("per_page", 25)), self.per_page_cap)
        return rows[(page - 1) * per_page : page * per_page]

    def sorted_events(self) -> list:
        return sorted(self.events, key=lambda e: as_time(e["event_date"]), reverse=True)

    def participant_page(self, event_id: str, params: dict[str, str]) -> tuple[int, Any, dict]:
        rows = list(self.participants[event_id])
        since = params.get(self.updated_since_param)
        if since is not None and self.reject_updated_since:
            return 400, {"error": f"unknown parameter {self.updated_since_param}"}, {}
        if since is not None and self.honour_updated_since:
            rows = [r for r in rows if as_time(r["updated_at"]) >= as_time(since)]
        if self.sort_participants and params.get("sort_column") == "updated_at":
            rows.sort(
                key=lambda r: (as_time(r["updated_at"]), r["registration_number"]),
                reverse=params.get("sort_direction") == "desc",
            )
        return 200, self.wrapped(self.page(rows, params)), {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: hundreds of calls stay fast
            disable_nagle_algorithm = True  # headers and body are separate writes

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                """The Date header: the stub's own clock when set (a server whose clock is
                not ours), else the real time."""
                if not stub.send_date:
                    return ""  # an empty Date: a server that gives no time
                if stub.server_now is None:
                    return super().date_time_string(timestamp)
                return email.utils.format_datetime(stub.server_now, usegmt=True)

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                request = Logged(
                    self.command,
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with stub.lock:
                    stub.log.append(request)
                status, payload, headers = stub.answer(request)
                request.status = status
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

        return Handler


def make_client(
    stub: HakuStub,
    *,
    partner: str = "acme",
    page_size: int = 100,
    updated_since_param: str | None = None,
    limiter: TokenBucket | None = None,
    retry: RetryPolicy = FAST_RETRY,
    sleep: Callable[[float], None] = lambda s: None,
    clock: Callable[[], float] = time.monotonic,
    timezone: str = "UTC",
) -> HakuClient:
    """A client on the stub: session built as the registry builds it, sleeps injectable."""
    session = ApiSession(
        "haku",
        partner,
        limiter=limiter or TokenBucket(1_000_000),
        keys=Keys([stub.client_id, stub.client_secret]),
        transport=Transport(retry, sleep=sleep),
    )
    options = HakuOptions(stub.token_url, page_size, updated_since_param, timezone)
    client = HakuClient(session, stub.base_url, stub.credentials, options)
    client.tokens.clock = clock  # the token cache is process-wide only on the real clock
    return client


# ---------------------------------------------------------------------- the stub itself
