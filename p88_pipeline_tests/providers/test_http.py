"""The HTTP session every client uses, against a scripted server over real HTTP on 127.0.0.1: what
is retried and what is not, what each give-up is called, what an error message carries (the
place, never a secret), the provider's clock. Fast: no sandbox, no database."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from p88_pipeline.providers import http
from p88_pipeline.providers.base import (
    AuthError,
    InaccessibleError,
    MalformedResponseError,
    ProviderError,
    ThrottledError,
)
from p88_pipeline.providers.http import (
    Answer,
    ApiSession,
    Keys,
    RetryableBody,
    RetryPolicy,
    Transport,
)
from p88_pipeline.providers.quota import TokenBucket

SECRET = "s3cret value"  # a space: quote_plus spells it s3cret+value
NO_WAIT = RetryPolicy(attempts=3, backoff_s=0.0, backoff_max_s=0.0, timeout_s=(2.0, 2.0))


class Script:
    """Answers in order: (status, headers, body); the requests it saw, with their headers."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.busy = self.most = 0  # requests being answered now, and at most

    def add(self, status: int, body: object = None, **headers: str) -> Script:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, raw))
        return self


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            script.seen.append((self.path, dict(self.headers)))
            status, headers, body = script.answers.pop(0)
            with script.lock:
                script.busy += 1
                script.most = max(script.most, script.busy)
            time.sleep(float(headers.pop("X-Delay", 0)))
            if hold := int(headers.pop("X-Hold", 0)):  # wait for that many at once, 0.3 s at most
                deadline = time.monotonic() + 0.3
                while script.busy < hold and time.monotonic() < deadline:
                    time.sleep(0.005)
            with script.lock:
                script.busy -= 1
            self.send_response_only(status)  # no Date of its own: the script's only
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def session(
    *,
    retry: RetryPolicy = NO_WAIT,
    secrets: Sequence[str] = (SECRET, ""),
    credential_envs: Sequence[str] = ("ACME_KEY", "ACME_SECRET"),
) -> tuple[ApiSession, list[float]]:
    slept: list[float] = []
    api = ApiSession(
        "runsignup",
        "acme",
        limiter=TokenBucket(1000),
        keys=Keys(secrets, credential_envs),
        transport=Transport(retry, sleep=slept.append),
    )
    return api, slept


def test_transient_answers_are_retried_paced_and_counted(server) -> None:
    url, script = server
    script.add(503).add(429, Retry_After="2").add(200, b"{not json").add(200, {"ok": 1})
    api, slept = session(retry=RetryPolicy(attempts=4, backoff_s=0.0, backoff_max_s=1.0))
    assert api.request_json("GET", f"{url}/r", params={"page": 2}) == {"ok": 1}
    assert [path for path, _ in script.seen] == ["/r?page=2"] * 4  # the same call each time
    assert api.calls == 4 and len(api.limiter._recent) == 4
    assert slept == [0.0, 2.0, 0.0]  # the 429's Retry-After: 2 s
    assert script.seen[0][1]["User-Agent"] == "p88-pipeline/0.1"
    assert api.http.verify is True


@pytest.mark.parametrize(
    ("status", "error", "problem"),
    [
        (503, ProviderError, "HTTP 503"),
        (500, ProviderError, "HTTP 500"),
        (429, ThrottledError, "HTTP 429"),
        (200, MalformedResponseError, "malformed JSON body (9 bytes)"),
    ],
)
def test_giving_up_says_after_how_many_attempts_and_why(server, status, error, problem) -> None:
    url, script = server
    for _ in range(3):
        script.add(status, b"{not json" if status == 200 else b"{}")
    api, _ = session()
    with pytest.raises(error) as caught:
        api.request_json("GET", f"{url}/r?api_secret=s3cret+value")
    assert type(caught.value) is error
    assert str(caught.value) == (
        f"runsignup partner acme: {url}/r: gave up after 3 attempts: {problem}"
    )
    assert (caught.value.partner, api.calls) == ("acme", 3)


def test_a_server_that_is_not_there_is_a_connection_problem(server) -> None:
    url, _ = server
    api, slept = session()
    dead = "http://127.0.0.1:9/nothing"  # the discard port: nobody listens
    with pytest.raises(ProviderError) as caught:
        api.request_json("GET", dead)
    assert type(caught.value) is ProviderError
    message = str(caught.value)
    assert message.startswith(
        "runsignup partner acme: http://127.0.0.1:9/nothing: gave up after 3 attempts: "
        "ConnectionError: "
    )
    assert slept == [0.0, 0.0, 0.0]


def test_a_refused_token_is_renewed_once_then_refused_for_good(server) -> None:
    url, script = server
    script.add(401).add(200, {"ok": 1}).add(401).add(401).add(401)
    api, _ = session()
    renewals: list[int] = []

    def renew() -> dict[str, str]:
        renewals.append(1)
        return {"Authorization": f"Bearer t{len(renewals)}"}

    headers = {"Authorization": "Bearer t0"}
    assert api.request_json(
        "GET", f"{url}/a", headers=headers, answer=Answer(on_unauthorized=renew)
    ) == {"ok": 1}
    assert [h["Authorization"] for _, h in script.seen] == ["Bearer t0", "Bearer t1"]
    assert headers == {"Authorization": "Bearer t0"}  # the caller's dict is not changed
    with pytest.raises(AuthError) as caught:
        api.request_json("GET", f"{url}/a", answer=Answer(on_unauthorized=renew))
    assert str(caught.value) == (
        f"runsignup partner acme: {url}/a: credentials refused (HTTP 401) (credentials from "
        "environment variables ACME_KEY, ACME_SECRET)"
    )
    assert (caught.value.code, caught.value.partner, len(renewals)) == (401, "acme", 2)
    script.answers.clear()


def test_forbidden_is_an_auth_error_and_other_4xx_a_provider_error_without_secrets(
    server,
) -> None:
    url, script = server
    script.add(403).add(400, b"no race here for s3cret+value")
    api, _ = session(credential_envs=[])
    with pytest.raises(AuthError) as caught:
        api.request_json("GET", f"{url}/b")
    assert str(caught.value) == f"runsignup partner acme: {url}/b: credentials refused (HTTP 403)"
    with pytest.raises(ProviderError) as caught:
        api.request_json("GET", f"{url}/c/s3cret%20value?next=/x?key=1")
    assert type(caught.value) is ProviderError
    assert str(caught.value) == (
        f"runsignup partner acme: {url}/c/***: HTTP 400: no race here for ***"
    )
    assert (caught.value.code, api.calls) == (400, 2)
    script.add(400, b"x" * 300)
    with pytest.raises(ProviderError) as caught:
        api.request_json("GET", f"{url}/d")
    assert str(caught.value) == f"runsignup partner acme: {url}/d: HTTP 400: {'x' * 200}"


def test_errors_in_a_200_body_are_retried_or_raised_by_the_clients_check(server) -> None:
    url, script = server
    for _ in range(3):
        script.add(200, {"error": 14})

    def throttled(body: object) -> None:
        raise RetryableBody("error 14: too many calls", throttled=True)

    api, slept = session()
    with pytest.raises(ThrottledError) as caught:
        api.request_json("GET", f"{url}/t", answer=Answer(check_body=throttled))
    assert str(caught.value).endswith("gave up after 3 attempts: error 14: too many calls")
    assert slept == [0.0, 0.0, 0.0]

    script.add(200, {"error": 5}).add(200, {"ok": 1})
    calls: list[object] = []

    def transient_once(body: object) -> None:
        calls.append(body)
        if len(calls) == 1:
            raise RetryableBody("error 5: try again")

    assert api.request_json("GET", f"{url}/t", answer=Answer(check_body=transient_once)) == {
        "ok": 1
    }

    def transient(body: object) -> None:
        raise RetryableBody("error 5: try again")

    for _ in range(3):
        script.add(200, {"error": 5})
    with pytest.raises(ProviderError) as caught:  # not throttling: a plain give-up
        api.request_json("GET", f"{url}/t", answer=Answer(check_body=transient))
    assert type(caught.value) is ProviderError

    for error, hint in (
        (InaccessibleError, ""),
        (AuthError, " (credentials from environment variables ACME_KEY, ACME_SECRET)"),
    ):
        script.add(200, {"error": 7})

        def refuse(body: object, error=error) -> None:
            raise error(f"error 7: no access with {SECRET}", code=7)

        with pytest.raises(error) as caught:
            api.request_json("GET", f"{url}/p", answer=Answer(check_body=refuse))
        assert type(caught.value) is error
        assert (
            str(caught.value)
            == f"runsignup partner acme: {url}/p: error 7: no access with ***{hint}"
        )
        assert (caught.value.code, caught.value.partner) == (7, "acme")


def test_the_answer_headers_are_handed_over_and_the_providers_clock_kept(
    server, monkeypatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # a Date without a zone is UTC, not the machine's
    time.tzset()
    try:
        url, script = server
        when = datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)
        script.add(200, [], Date=format_datetime(when, usegmt=True), Link="<next>; rel=next")
        script.add(200, [], Date="not a date")
        script.add(200, [], Date="Fri, 01 May 2026 14:00:05 -0000")  # "-0000": no zone given
        script.add(200, [], Date="Fri, 01 May 2026 14:00:05 +0200")
        api, _ = session()
        assert api.last_server_time is None
        received = {"stale": "x"}
        api.request_json("GET", f"{url}/h", answer=Answer(headers=received))
        assert received["Link"] == "<next>; rel=next" and "stale" not in received
        assert api.last_server_time == when
        api.request_json("GET", f"{url}/h")
        assert api.last_server_time == when  # an unreadable Date leaves the last one
        api.request_json("GET", f"{url}/h")
        assert api.last_server_time == when + timedelta(hours=2)
        assert api.last_server_time.tzinfo is UTC
        api.request_json("GET", f"{url}/h")
        assert (api.last_server_time, api.last_server_time.tzinfo) == (when, UTC)  # the offset kept
    finally:
        monkeypatch.undo()
        time.tzset()


def test_backoff_is_full_jitter_and_retry_after_wins_up_to_a_cap(monkeypatch) -> None:
    asked: list[tuple[float, float]] = []
    monkeypatch.setattr(http.random, "uniform", lambda a, b: asked.append((a, b)) or b)
    policy = RetryPolicy(backoff_s=0.5, backoff_max_s=3.0)
    assert [policy.delay(n) for n in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert asked == [(0, 0.5), (0, 1.0), (0, 2.0), (0, 3.0)]
    assert policy.delay(0, retry_after=7.5) == 7.5
    assert policy.delay(0, retry_after=100.0) == 12.0
    assert policy.delay(0, retry_after=0.0) == 0.0
    assert RetryPolicy() == RetryPolicy(5, 0.5, 30.0, (10.0, 60.0))


def test_retry_after_in_seconds_or_as_a_date() -> None:
    seconds = http._retry_after_seconds
    assert [seconds(v) for v in (None, "", "2.5", "-3", "soon")] == [None, None, 2.5, 0.0, None]
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= seconds(future) <= 30
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert seconds(past) == 0.0


def test_secrets_are_masked_longest_first_and_urllib3_lines_lose_their_query() -> None:
    api, _ = session(secrets=["abcd"])
    api.add_secret("abcdef")
    api.add_secret("")
    assert api._secrets == ["abcd", "abcdef"]
    assert api.redact("x=abcdef y=abcd") == "x=*** y=***"
    # Longest first, not last alphabetically: no piece of the longer secret is left.
    assert session(secrets=["zzzz", "azzzzb"])[0].redact("k=azzzzb") == "k=***"
    record = logging.LogRecord(
        "urllib3.connectionpool", logging.DEBUG, "", 0, "%s %s", ("GET /r?next=/a?key=abc", 3), None
    )
    assert http._NoQueryStrings().filter(record) is True
    assert record.args == ("GET /r?***", 3)  # cut at the first "?": nothing after it is kept
    plain = logging.LogRecord("urllib3", logging.DEBUG, "", 0, "%(a)s", None, None)
    assert http._NoQueryStrings().filter(plain) is True
    assert logging.getLogger("urllib3").level == logging.WARNING


def test_at_most_max_in_flight_calls_at_once_and_a_slow_answer_times_out(server) -> None:
    url, script = server
    for _ in range(4):
        script.add(200, {}, X_Hold="3")  # a third call at once would be let through at once
    api, _ = session()  # two at once unless said otherwise
    threads = [threading.Thread(target=api.request_json, args=("GET", url)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (script.most, api.calls) == (2, 4)
    script.add(200, {}, X_Delay="0.5").add(200, {"ok": 1})
    quick, slept = session(retry=RetryPolicy(attempts=2, backoff_s=0.0, timeout_s=(1.0, 0.2)))
    assert quick.request_json("GET", url) == {"ok": 1}
    assert (quick.calls, slept) == (2, [0.0])
    time.sleep(0.35)  # let the slow answer finish before the server stops


def test_no_attempt_allowed_is_still_a_clear_error() -> None:
    api, _ = session(retry=RetryPolicy(attempts=0))
    with pytest.raises(ProviderError) as caught:
        api.request_json("GET", "http://127.0.0.1:9/x")
    assert str(caught.value) == (
        "runsignup partner acme: http://127.0.0.1:9/x: gave up after 0 attempts: no attempt made"
    )
