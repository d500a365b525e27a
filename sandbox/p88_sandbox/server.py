"""One local HTTP server for every registered provider's fake, with a log, hooks, quotas, faults.

Standard library only (ThreadingHTTPServer in a daemon thread), so tests, benchmarks and the
`p88 sandbox` command run it without extra dependencies. The `Date` header is simulated time,
the way a real provider's clock is the one a watermark should trust.
"""

from __future__ import annotations

import random
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from p88_sandbox.config import BODY_FAULTS, RECORD_FAULTS, Fault, SandboxConfig
from p88_sandbox.control import control
from p88_sandbox.fakes.registry import fakes
from p88_sandbox.quota import SlidingWindowQuota
from p88_sandbox.record_faults import RecordFaults
from p88_sandbox.wire import Request, Response, json_response, text_response
from p88_sandbox.world import World

NOT_JSON_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>The upstream server is unavailable.</p></body>"
    "</html>"
)


@dataclass(frozen=True)
class RequestRecord:
    """One call as the server saw it; `status` is 0 when handed to a hook (not answered yet)."""

    provider: str
    partner_slug: str | None
    method: str
    path: str
    params: dict[str, str]
    status: int
    time: datetime
    error_code: int | None = None
    fault: str | None = None


class _Drop(Exception):
    """Close the connection without answering."""


class SandboxServer:
    """`with SandboxServer(world) as server:` serves every provider of the world at `server.url`."""

    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        port: int = 0,
        config: SandboxConfig | None = None,
    ) -> None:
        self.world = world
        self.config = config or SandboxConfig()
        self.apis: dict[str, Any] = {
            fake.name: fake.api(world, self.config.of(fake.name))
            for fake in fakes()
            if fake.name in world.shapes
        }
        self.quota = SlidingWindowQuota(
            lambda p: self.config.quota_per_hour[p],
            lambda: self.config.quota_window_seconds,
        )
        # what record faults changed or served
        self.records = RecordFaults(
            world, {name: getattr(api, "records", None) for name, api in self.apis.items()}
        )
        self._fault_rng = random.Random(world.seed)  # faults by rate: reproducible per seed
        self._log: list[RequestRecord] = []
        self._hooks: list[Callable[[RequestRecord], None]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.host, self.port = self._httpd.server_address[:2]

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def account(self, provider: str) -> dict[str, str]:
        """partners.yaml settings of an account on `provider`'s fake (base_url, ...)."""
        return self.apis[provider].account(self.url)

    def start(self) -> SandboxServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                args=(0.05,),
                name=f"sandbox-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- log, hooks, faults
    @property
    def log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def calls(self, provider: str | None = None, partner: str | None = None) -> int:
        return sum(
            1
            for r in self.log
            if (provider is None or r.provider == provider)
            and (partner is None or r.partner_slug == partner)
        )

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def add_hook(self, fn: Callable[[RequestRecord], None]) -> None:
        """`fn(record)` runs before each authenticated provider call's answer is computed."""
        with self._lock:
            self._hooks.append(fn)

    def clear_hooks(self) -> None:
        with self._lock:
            self._hooks.clear()

    def inject(
        self,
        provider: str,
        partner_slug: str | None,
        kind: str,
        count: int = 1,
        path_contains: str | None = None,
        seconds: float | None = None,
        error_code: int | None = None,
        after: int = 0,
        rate: float = 1.0,
    ) -> Fault:
        fault = Fault(
            provider, partner_slug, kind, count, path_contains, seconds, error_code, after, rate
        )
        with self._lock:
            self.config.faults.append(fault)
        return fault

    def reset_faults(self) -> None:
        with self._lock:
            self.config.faults.clear()

    def set_latency(self, ms: int) -> None:
        self.config.latency_ms = ms

    def _take_fault(self, provider: str, slug: str | None, path: str) -> Fault | None:
        with self._lock:
            for fault in self.config.faults:
                if fault.matches(provider, slug, path):
                    if fault.after > 0:  # by schedule: let the first matching calls through
                        fault.after -= 1
                        continue
                    if fault.rate < 1.0 and self._fault_rng.random() >= fault.rate:
                        continue  # by rate: this call is spared
                    fault.count -= 1
                    return fault
        return None

    def _record(
        self,
        request: Request,
        provider: str,
        slug: str | None,
        status: int,
        error_code: int | None = None,
        fault: str | None = None,
        pending: bool = False,
    ) -> RequestRecord:
        record = RequestRecord(
            provider,
            slug,
            request.method,
            request.path,
            dict(request.params),
            status,
            self.world.clock.now(),
            error_code,
            fault,
        )
        if not pending:
            with self._lock:
                self._log.append(record)
        return record

    # ---------------------------------------------------------------- dispatch
    def dispatch(self, request: Request) -> Response:
        """Route one request; raises _Drop to hang up without an answer."""
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)
        path = request.path
        if path.startswith("/_sandbox/"):
            return control(self, request)
        provider = next(
            (name for name, api in self.apis.items() if path.startswith(api.prefixes)), None
        )
        if provider is None:
            return text_response(404, "<html><body>Not Found</body></html>", "text/html")
        api = self.apis[provider]
        opened = api.open_call(request)
        if opened is not None:  # e.g. a token endpoint: no authentication, no quota
            slug, answer = opened
            return self._finish(request, provider, slug, lambda: answer, quota=False)
        slug, refusal = api.authenticate(request)
        if refusal is not None:
            self._record(request, provider, None, refusal.status, refusal.error_code)
            return refusal
        return self._finish(request, provider, slug, lambda: api.handle(request, slug))

    def _finish(
        self,
        request: Request,
        provider: str,
        slug: str | None,
        answer: Callable[[], Response],
        quota: bool = True,
    ) -> Response:
        fault = self._take_fault(provider, slug, request.path)
        if fault is not None and fault.kind not in BODY_FAULTS:
            response = self._fault_response(fault, provider)
            self._record(
                request,
                provider,
                slug,
                response.status if response else 0,
                response.error_code if response else None,
                fault.kind,
            )
            if response is None:
                if fault.kind == "timeout":
                    time.sleep(fault.seconds or self.config.timeout_seconds)
                raise _Drop
            return response
        if quota and slug is not None:
            wait = self.quota.acquire(provider, slug)
            if wait is not None:
                response = self.apis[provider].throttled(wait)
                self._record(request, provider, slug, response.status, response.error_code, "quota")
                return response
        with self._lock:
            hooks = list(self._hooks)
        pending = self._record(request, provider, slug, 0, pending=True)
        for hook in hooks:
            hook(pending)
        if fault is not None and fault.kind in RECORD_FAULTS:
            response = self.records.serve(fault.kind, provider, request, answer)
        else:
            response = answer()
        if fault is not None and fault.kind == "truncated_json":  # the real answer, cut in half
            response.body = response.body[: max(1, len(response.body) // 2)]
        self._record(
            request,
            provider,
            slug,
            response.status,
            response.error_code,
            fault.kind if fault else None,
        )
        return response

    def _fault_response(self, fault: Fault, provider: str) -> Response | None:
        kind = fault.kind
        if kind == "throttle":
            return self.apis[provider].throttled(1)
        if kind == "http_500":
            return text_response(
                500, "<html><body>500 Internal Server Error</body></html>", "text/html"
            )
        if kind == "http_503":
            return text_response(
                503,
                "<html><body>503 Service Unavailable</body></html>",
                "text/html",
                {"Retry-After": "1"},
            )
        if kind == "not_json":
            return text_response(200, NOT_JSON_PAGE, "text/html")
        if kind == "error_in_array":
            return self.apis[provider].error_in_array(fault.error_code or 5)
        if kind == "bad_request":
            return self.apis[provider].bad_request()
        return None  # timeout, drop


def _handler_for(sandbox: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, a keep-alive client waits
        # ~40 ms per call for the delayed ACK. A real API answers in one go.
        disable_nagle_algorithm = True
        server_version = "p88-sandbox/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve()

        def do_POST(self) -> None:  # noqa: N802
            self._serve()

        def date_time_string(self, timestamp: float | None = None) -> str:
            return format_datetime(sandbox.world.clock.now(), usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=url.path,
                params={k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            try:
                response = sandbox.dispatch(request)
            except _Drop:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            except Exception as exc:  # a sandbox bug must look like a server error, loudly
                traceback.print_exc(file=sys.stderr)
                response = json_response({"error": f"sandbox failure: {exc!r}"}, 500)
            self.send_response(response.status)
            self.send_header("Content-Type", f"{response.content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(response.body)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(response.body)

    return Handler
