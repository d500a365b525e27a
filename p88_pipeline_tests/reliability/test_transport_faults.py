"""One test per transport fault: the sync retries it away and the warehouse ends equal to the truth,
every future event watermarked in the same run. Runs for RunSignUp and Haku alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from p88_pipeline.providers.http import RetryPolicy
from p88_pipeline.sync import plan
from p88_pipeline_tests.helpers import FAST_RETRY
from p88_pipeline_tests.reliability.support import (
    ACCOUNTS,
    assert_equals_truth,
    future_event_ids,
    served_faults,
    sync,
    watermarks,
)

# A read timeout well under the fault's hang, so a timeout costs half a second, not a minute.
SHORT_TIMEOUT = RetryPolicy(attempts=4, backoff_s=0.01, backoff_max_s=0.05, timeout_s=(2.0, 0.5))


def assert_survived(engine, sandbox, provider: str, slug: str, kind: str, served: int) -> None:
    assert served_faults(sandbox, kind) == served, "the sandbox must really have served the fault"
    assert_equals_truth(engine, sandbox, slug, provider)
    marks = watermarks(engine, provider)
    assert set(marks) == set(future_event_ids(sandbox, slug, provider))
    assert {t for _, t in marks.values()} == {plan.FULL}


@pytest.mark.parametrize(("provider", "slug"), ACCOUNTS)
@pytest.mark.parametrize(
    "kind", ["throttle", "http_500", "http_503", "drop", "truncated_json", "not_json"]
)
def test_a_burst_of_transient_faults_is_retried_away(engine, sandbox, provider, slug, kind) -> None:
    # A burst one short of the retry budget, on the events list and on a participants page.
    burst = FAST_RETRY.attempts - 1
    path = "/races" if provider == "runsignup" else "/events"
    sandbox.server.inject(provider, slug, kind, count=burst, path_contains=path)
    sandbox.server.inject(provider, slug, kind, count=burst, path_contains="/participants")
    figures = sync(engine, sandbox, slug, provider)
    assert figures.status == "success" and not figures.errors
    assert_survived(engine, sandbox, provider, slug, kind, 2 * burst)


def test_runsignup_throttling_is_error_14_in_a_200_and_haku_a_429_with_retry_after(
    engine, sandbox
) -> None:
    sandbox.server.inject("runsignup", "bravo", "throttle", count=2)
    sandbox.server.inject("haku", "alpha", "throttle", count=2, path_contains="/participants")
    sync(engine, sandbox, "bravo", "runsignup")
    sync(engine, sandbox, "alpha", "haku")
    throttled = [r for r in sandbox.server.log if r.fault == "throttle"]
    assert {(r.provider, r.status, r.error_code) for r in throttled} == {
        ("runsignup", 200, 14),
        ("haku", 429, None),
    }
    assert_equals_truth(engine, sandbox, "bravo", "runsignup")
    assert_equals_truth(engine, sandbox, "alpha", "haku")


@pytest.mark.parametrize(("provider", "slug"), ACCOUNTS)
def test_a_timeout_is_retried_with_a_short_client_timeout(engine, sandbox, provider, slug) -> None:
    sandbox.server.inject(
        provider, slug, "timeout", count=2, path_contains="/participants", seconds=1.0
    )
    figures = sync(engine, sandbox, slug, provider, retry=SHORT_TIMEOUT)
    assert figures.status == "success"
    assert_survived(engine, sandbox, provider, slug, "timeout", 2)


@pytest.mark.parametrize("code", [4, 5, 14])
def test_runsignup_transient_errors_wrapped_in_an_array_are_retried(engine, sandbox, code) -> None:
    sandbox.server.inject(
        "runsignup",
        "bravo",
        "error_in_array",
        count=2,
        error_code=code,
        path_contains="/participants",
    )
    sync(engine, sandbox, "bravo")
    assert_survived(engine, sandbox, "runsignup", "bravo", "error_in_array", 2)


def test_a_fault_on_every_kind_of_call_of_an_incremental_sync(engine, sandbox) -> None:
    from datetime import timedelta

    sync(engine, sandbox, "bravo")
    sandbox.world.advance(timedelta(days=1))
    for kind, path in [
        ("drop", "/races"),
        ("truncated_json", "/participants"),
        ("not_json", "/removed-participants"),
        ("http_503", "/removed"),
    ]:
        sandbox.server.inject("runsignup", "bravo", kind, count=1, path_contains=path)
    figures = sync(engine, sandbox, "bravo")
    assert set(figures.sync_types.values()) == {plan.INCREMENTAL}
    assert (
        sum(served_faults(sandbox, k) for k in ("drop", "truncated_json", "not_json", "http_503"))
        == 4
    )
    assert_equals_truth(engine, sandbox, "bravo")


def test_haku_error_wrapped_in_an_array_is_retried_not_read_as_a_record(engine, sandbox) -> None:
    sandbox.server.inject(
        "haku", "alpha", "error_in_array", count=1, error_code=14, path_contains="/participants"
    )
    sync(engine, sandbox, "alpha", "haku")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM rejected_records")).scalar() == 0
    assert_equals_truth(engine, sandbox, "alpha", "haku")


def test_faults_by_schedule_and_by_rate_are_survived(engine, sandbox) -> None:
    # By schedule: the third and fourth participants pages fail. By rate: ~30% of Haku calls
    # are throttled (429 with Retry-After), drawn from the sandbox's seeded RNG.
    patient = RetryPolicy(attempts=10, backoff_s=0.01, backoff_max_s=0.02, timeout_s=(2.0, 5.0))
    server = sandbox.server
    server.inject("runsignup", "bravo", "http_503", count=2, path_contains="/participants", after=2)
    server.inject("haku", "alpha", "throttle", count=100, rate=0.3)
    sync(engine, sandbox, "bravo", page_size=5, retry=patient)
    sync(engine, sandbox, "alpha", "haku", page_size=5, retry=patient)
    haku_calls = [r for r in server.log if r.provider == "haku"]
    throttled = [r for r in haku_calls if r.fault == "throttle"]
    assert served_faults(sandbox, "http_503") == 2
    assert 0 < len(throttled) < len(haku_calls) / 2
    assert_equals_truth(engine, sandbox, "bravo")
    assert_equals_truth(engine, sandbox, "alpha", "haku")
