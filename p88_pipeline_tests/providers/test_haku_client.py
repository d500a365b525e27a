"""HakuClient over real HTTP (the stub): tokens, paging, incremental early stop, errors, quota."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from p88_pipeline.config.partners import parse_partners
from p88_pipeline.providers.base import (
    AuthError,
    FilterRejectedError,
    InaccessibleError,
    MalformedResponseError,
    ParticipantPage,
    ProviderConfigError,
    ProviderError,
    UntimedRecordsError,
)
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.haku.client import HakuClient, HakuOptions
from p88_pipeline.providers.http import ApiSession, RetryPolicy
from p88_pipeline.providers.quota import TokenBucket
from p88_pipeline_tests.helpers import FAST_RETRY, FakeClock, most_calls_in_window
from p88_pipeline_tests.providers.haku_stub import (
    EVENT,
    NOW,
    SPRING_10K,
    HakuStub,
    Logged,
    make_client,
    registration,
    stamp,
)


@pytest.fixture
def stub() -> Iterator[HakuStub]:
    with HakuStub() as stub:
        stub.events = [dict(SPRING_10K)]
        # 250 registrations, one a minute back from NOW: registration i was updated at NOW - i min.
        stub.participants[EVENT] = [registration(i, NOW - timedelta(minutes=i)) for i in range(250)]
        yield stub


def read(client: HakuClient, modified_after: datetime | None = None) -> list[ParticipantPage]:
    event = next(iter(client.list_events()))
    return list(client.iter_participant_pages([event], modified_after))


def ids(pages: list[ParticipantPage]) -> set[int]:
    return {int(p.participant_id) for page in pages for p in page.participants}


def participant_pages(stub: HakuStub) -> list[Logged]:
    return stub.requests_to("/participants")


# ---------------------------------------------------------------------- tokens


def test_token_comes_from_basic_auth_and_is_sent_bare_on_every_call(stub) -> None:
    client = make_client(stub)
    assert ids(read(client)) == set(range(250))
    [token_call] = stub.token_requests
    expected = base64.b64encode(f"{stub.client_id}:{stub.client_secret}".encode()).decode()
    assert token_call.headers["authorization"] == f"Basic {expected}"
    assert token_call.body == "grant_type=client_credentials"
    assert token_call.headers["accept"] == "application/json"
    gets = [r for r in stub.log if r.method == "GET"]
    assert {r.headers["authorization"] for r in gets} == set(stub.tokens)  # bare, no "Bearer"
    assert {r.headers["accept"] for r in gets} == {"application/json"}
    # The token call is counted like any other: 1 token + 1 events + 3 participant pages.
    assert client.calls == len(stub.log) == 5


def test_token_is_cached_then_renewed_shortly_before_it_expires(stub) -> None:
    stub.expires_in = 120
    clock = FakeClock()
    client = make_client(stub, clock=clock)
    list(client.list_events())
    clock.now = 59.0
    list(client.list_events())
    assert len(stub.token_requests) == 1
    clock.now = 60.0  # the last 60 s of the token's life begin: renew before it can die
    list(client.list_events())
    assert len(stub.token_requests) == 2
    assert all(r.status == 200 for r in stub.log)  # renewed ahead of time, never refused


def test_a_token_is_shared_per_token_url_and_client_id_and_only_on_the_real_clock(stub) -> None:
    """The run's steps build a client each: one token for them all. Another client id (same
    secret) gets its own; clients on a test's own clock share nothing."""
    list(make_client(stub).list_events())
    second = make_client(stub)
    list(second.list_events())
    assert len(stub.token_requests) == 1
    [token] = stub.tokens
    assert second.session.redact(f"token {token}") == "token ***"  # a shared token is a secret
    stub.client_id = "another-client-same-secret"
    list(make_client(stub).list_events())
    assert len(stub.token_requests) == 2
    list(make_client(stub, clock=FakeClock()).list_events())
    assert len(stub.token_requests) == 3


def test_a_short_token_is_renewed_at_half_its_life_and_an_unreadable_one_lives_an_hour(stub):
    stub.expires_in = 40  # shorter than twice the 60 s margin: renew after 20 s
    clock = FakeClock()
    client = make_client(stub, clock=clock)
    for now, tokens in ((0.0, 1), (19.0, 1), (20.0, 2)):
        clock.now = now
        list(client.list_events())
        assert len(stub.token_requests) == tokens, now
    stub.expires_in = "soon"  # not a number of seconds: the default hour
    clock = FakeClock()
    client = make_client(stub, clock=clock)
    for now, tokens in ((0.0, 3), (3539.0, 3), (3540.0, 4)):
        clock.now = now
        list(client.list_events())
        assert len(stub.token_requests) == tokens, now
    assert client.session.redact(f"t={client.tokens.get()}") == "t=***"  # a fetched token too


def test_the_client_masks_its_own_credentials_even_on_a_bare_session(stub) -> None:
    session = ApiSession("haku", "acme", limiter=TokenBucket(1000))  # no secrets given
    HakuClient(session, stub.base_url, stub.credentials, HakuOptions(stub.token_url))
    assert session.redact(f"{stub.client_id}:{stub.client_secret}") == "***:***"


def test_a_token_revoked_mid_run_is_renewed_once_and_paging_continues(stub) -> None:
    def revoke_on_page_2(request: Logged) -> None:
        if request.path.endswith("/participants") and request.params.get("page") == "2":
            stub.hooks.clear()
            stub.revoke_tokens()

    stub.hooks.append(revoke_on_page_2)
    client = make_client(stub)
    assert ids(read(client)) == set(range(250))
    assert len(stub.token_requests) == 2
    assert [(r.params["page"], r.status) for r in participant_pages(stub)] == [
        ("1", 200),
        ("2", 401),
        ("2", 200),
        ("3", 200),
    ]
    assert client.calls == 2 + 1 + 4  # tokens, events, participant attempts


def test_refused_again_after_renewal_is_an_auth_error_naming_the_partner_not_the_secret(
    stub,
) -> None:
    stub.refuse_every_token = True
    client = make_client(stub, partner="acme-timing")
    with pytest.raises(AuthError) as caught:
        list(client.list_events())
    message = str(caught.value)
    assert "acme-timing" in message and caught.value.partner == "acme-timing"
    for secret in (stub.client_secret, stub.client_id, *stub.tokens):
        assert secret not in message
    assert len(stub.token_requests) == 2  # the first token and exactly one renewal


def test_a_token_request_refused_with_another_4xx_is_an_auth_error(stub) -> None:
    """OAuth refuses a bad grant with 400 (invalid_grant), not only 401: still the credentials."""
    stub.script("/auth/oauth2/token", 400, body={"error": "invalid_grant"})
    client = make_client(stub, partner="acme")
    with pytest.raises(AuthError) as caught:
        list(client.list_events())
    assert "haku partner acme: token request refused (HTTP 400)" in str(caught.value)
    assert (caught.value.partner, caught.value.code, len(stub.token_requests)) == ("acme", 400, 1)


def test_a_token_endpoint_that_keeps_failing_is_a_provider_error_not_the_credentials(stub) -> None:
    stub.script("/auth/oauth2/token", 503, times=100)
    client = make_client(stub, partner="acme")
    with pytest.raises(ProviderError) as caught:
        list(client.list_events())
    assert type(caught.value) is ProviderError and "gave up after" in str(caught.value)
    assert len(stub.token_requests) == FAST_RETRY.attempts


@pytest.mark.parametrize("answer", [{"token_type": "bearer"}, ["a-token"], {"access_token": 7}])
def test_a_token_answer_without_a_token_is_malformed_not_a_crash(stub, answer) -> None:
    stub.script("/auth/oauth2/token", 200, body=answer)
    client = make_client(stub, partner="acme")
    with pytest.raises(MalformedResponseError) as caught:
        list(client.list_events())
    assert str(caught.value) == (
        f"haku partner acme: {stub.token_url}: token answer has no access_token"
    )
    assert len(stub.log) == 1  # not retried: a well-formed answer that says no token


def test_wrong_client_secret_is_an_auth_error_without_the_secret(stub) -> None:
    client = make_client(stub, partner="acme")
    stub.client_secret = "the-server-expects-another-one"  # the client still sends the old one
    with pytest.raises(AuthError) as caught:
        list(client.list_events())
    assert "acme" in str(caught.value)
    assert "stub-secret-s3cr3t-value" not in str(caught.value)


# ---------------------------------------------------------------------- paging


def test_full_read_pages_until_a_short_page(stub) -> None:
    client = make_client(stub, page_size=100)
    pages = read(client)
    assert [len(p.participants) for p in pages] == [100, 100, 50]
    assert [r.params["per_page"] for r in participant_pages(stub)] == ["100"] * 3
    assert {r.params["sort_column"] for r in participant_pages(stub)} == {"updated_at"}
    assert {r.params["sort_direction"] for r in participant_pages(stub)} == {"desc"}


def test_an_exactly_full_last_page_costs_one_empty_page(stub) -> None:
    stub.participants[EVENT] = stub.participants[EVENT][:200]
    pages = read(make_client(stub, page_size=100))
    assert [len(p.participants) for p in pages] == [100, 100, 0]


def test_events_are_requested_newest_first_with_inactive_ones(stub) -> None:
    list(make_client(stub).list_events())
    call = stub.requests_to("/events")[0]
    assert call.params == {
        "page": "1",
        "per_page": "100",
        "sort_column": "event_date",
        "sort_direction": "desc",
        "show_inactive": "true",
    }


@pytest.mark.parametrize("wrap", [None, "data", "events", "results", "items"])
def test_lists_are_read_bare_or_wrapped(stub, wrap) -> None:
    stub.wrap = wrap
    client = make_client(stub, page_size=100)
    [event] = client.list_events()
    assert event.event_id == EVENT == event.race_id
    assert ids(list(client.iter_participant_pages([event], None))) == set(range(250))


# ---------------------------------------------------------------------- incremental


def test_incremental_stops_at_the_first_older_record_and_keeps_the_equal_one(stub) -> None:
    client = make_client(stub, page_size=50)
    cutoff = NOW - timedelta(minutes=70)  # registration 70 was updated exactly at the cutoff
    pages = read(client, cutoff)
    assert ids(pages) == set(range(71))  # 0..69 newer, 70 equal: kept; 71.. older: not
    assert len(participant_pages(stub)) == 2  # page 2 holds the first older record: stop


def test_incremental_with_a_fractional_cutoff_still_keeps_its_second(stub) -> None:
    pages = read(make_client(stub, page_size=50), NOW - timedelta(minutes=70, seconds=-0.4))
    assert 70 in ids(pages)


def test_server_side_filter_is_sent_when_the_partner_says_it_exists(stub) -> None:
    stub.honour_updated_since = True
    client = make_client(stub, page_size=50, updated_since_param="updated_since")
    pages = read(client, NOW - timedelta(minutes=70, microseconds=-250_000))
    assert ids(pages) == set(range(71))
    sent = {r.params["updated_since"] for r in participant_pages(stub)}
    assert sent == {(NOW - timedelta(minutes=70)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert len(participant_pages(stub)) == 2  # 71 rows: 50 + a short page of 21


def test_filter_only_on_incremental_reads(stub) -> None:
    read(make_client(stub, page_size=100, updated_since_param="updated_since"))
    assert all("updated_since" not in r.params for r in participant_pages(stub))


def test_a_refused_filter_is_filter_rejected_so_the_engine_falls_back_to_full(stub) -> None:
    stub.reject_updated_since = True
    client = make_client(stub, updated_since_param="updated_since")
    with pytest.raises(FilterRejectedError) as refused:
        read(client, NOW - timedelta(hours=1))
    assert (refused.value.code, refused.value.partner) == (400, "acme")
    assert "HTTP 400" in str(refused.value) and "unknown parameter updated_since" in str(
        refused.value
    )


def test_a_server_that_ignores_the_sort_order_is_read_to_the_end(stub) -> None:
    stub.sort_participants = False  # answers in stored order: oldest first
    stub.participants[EVENT].reverse()
    pages = read(make_client(stub, page_size=50), NOW - timedelta(minutes=70))
    assert ids(pages) == set(range(71))
    assert len(participant_pages(stub)) == 6  # no early stop: 5 full pages and an empty one


# ---------------------------------------------------------------------- records


def test_cancellations_are_soft_deletes_with_the_cancellation_time(stub) -> None:
    cancelled_at = NOW - timedelta(minutes=5, seconds=30)
    stub.participants[EVENT] = [
        registration(1, NOW, is_cancelled=True, cancelled_at=stamp(cancelled_at)),
        registration(2, NOW - timedelta(minutes=1), is_cancelled="true", cancelled_at=None),
        registration(3, NOW - timedelta(minutes=2), is_cancelled=False),
    ]
    page = read(make_client(stub))[0]  # then one empty page: the cap is not known yet
    by_id = {p.participant_id: p for p in page.participants}
    assert by_id["1"].removed_at == cancelled_at and by_id["1"].removed_reason == "cancelled"
    assert by_id["2"].removed_at == NOW - timedelta(minutes=1)  # no cancelled_at: updated_at
    assert by_id["3"].removed_at is None and by_id["3"].removed_reason is None
    assert list(make_client(stub).iter_removals([], NOW)) == []  # nothing separate to read


def test_records_map_to_participants(stub) -> None:
    record = registration(
        7,
        NOW,
        person_full_name="Ana María de la Cruz",
        age="41",
        transaction_amount="$1,055.25",
        registered_at="2026-01-15",
    )
    stub.participants[EVENT] = [{**record, "updated_at": "2026-03-01T12:00:00Z"}]
    page = read(make_client(stub))[0]  # then one empty page: the cap is not known yet
    [p] = page.participants
    assert (p.participant_id, p.event_id, p.first_name, p.last_name) == (
        "7",
        EVENT,
        "Ana",
        "María de la Cruz",
    )
    assert p.amount_paid == Decimal("1055.25") and p.age == 41 and p.team == "Team 1"
    assert p.modified_at == NOW and p.registered_at == datetime(2026, 1, 15, tzinfo=UTC)
    assert json.loads(p.raw)["registration_number"] == "7"


def test_unreadable_records_are_rejected_in_the_page_not_raised(stub) -> None:
    good = [registration(i, NOW - timedelta(minutes=i)) for i in range(3)]
    bad = [
        {**registration(10, NOW), "registration_number": None},
        {**registration(11, NOW), "updated_at": None},
        {**registration(12, NOW), "registered_at": "2026-02-30 10:00:00"},
        {**registration(13, NOW), "transaction_amount": "free"},
    ]
    stub.sort_participants = False
    stub.participants[EVENT] = good + bad
    page = read(make_client(stub, page_size=10))[0]
    assert ids([page]) == {0, 1, 2, 11}  # no updated_at: still a registration (rule 8)
    assert next(p for p in page.participants if p.participant_id == "11").modified_at is None
    reasons = [r.reason for r in page.rejected]
    assert len(reasons) == 3 and "missing registration_number" in reasons
    assert all(r.event_id == EVENT and r.provider == "haku" for r in page.rejected)


# ---------------------------------------------------------------------- throttling and quota


def test_429_is_retried_after_retry_after(stub) -> None:
    stub.script("/participants", 429, headers={"Retry-After": "7"})
    slept: list[float] = []
    client = make_client(stub, sleep=slept.append, retry=RetryPolicy(backoff_s=0.001))
    assert ids(read(client)) == set(range(250))
    assert slept == [7.0]
    assert [r.status for r in participant_pages(stub)][:2] == [429, 200]


def test_5xx_is_retried(stub) -> None:
    stub.script("/events", 503, times=2)
    assert len(list(make_client(stub).list_events())) == 1


def test_the_limiter_paces_every_call_inside_500_an_hour(stub) -> None:
    """Simulated time: the bucket's clock only moves when it sleeps, so no wall-clock waits."""
    stub.events = [{"id": str(i), "name": f"E{i}", "event_date": "2099-04-01"} for i in range(599)]
    clock = FakeClock()
    times: list[float] = []

    class RecordingBucket(TokenBucket):
        def acquire(self) -> float:
            waited = super().acquire()
            times.append(clock.now)
            return waited

    bucket = RecordingBucket(500, clock=clock, max_wait_s=3600)
    client = make_client(stub, page_size=1, limiter=bucket)
    assert len(list(client.list_events())) == 599
    assert len(times) == len(stub.log) == client.calls == 1 + 600  # token + 599 full + 1 empty
    assert most_calls_in_window(times, 3600.0) <= 500
    assert sum(t < 3600.0 for t in times) >= 495  # paced at the budget, not far below it
    assert clock.now >= 3600.0  # 601 calls cannot fit in one hour


# ---------------------------------------------------------------------- configuration


PARTNERS = """
partners:
  - id: "501"
    slug: acme
    name: Acme Timing
    providers:
      haku:
        base_url: {base}
        token_url: {token}
        client_id_env: ACME_HAKU_ID
        client_secret_env: ACME_HAKU_SECRET
        page_size: 40
        updated_since_param: updated_since
        timezone: America/Denver
"""


def test_the_registry_builds_the_client_from_partners_yaml(stub) -> None:
    [partner] = parse_partners(PARTNERS.format(base=stub.base_url, token=stub.token_url))
    env = {"ACME_HAKU_ID": stub.client_id, "ACME_HAKU_SECRET": stub.client_secret}
    client = build_client(partner, "haku", environ=env)
    assert isinstance(client, HakuClient)
    assert (client.page_size, client.updated_since_param, client.timezone) == (
        40,
        "updated_since",
        "America/Denver",
    )
    limiter = client.session.limiter  # quota_per_hour defaults to 500 for haku
    assert limiter.quota == 500
    [event] = client.list_events()
    assert event.timezone == "America/Chicago"  # the event's own zone wins over the option


def test_a_non_production_base_url_needs_a_token_url(stub) -> None:
    text = PARTNERS.format(base=stub.base_url, token="x").replace("        token_url: x\n", "")
    [partner] = parse_partners(text)
    env = {"ACME_HAKU_ID": "a", "ACME_HAKU_SECRET": "b"}
    with pytest.raises(ProviderConfigError, match="acme.*token_url"):
        build_client(partner, "haku", environ=env)


def test_the_production_base_url_written_with_a_trailing_slash_needs_no_token_url() -> None:
    """partners.py trims the slash; the client does not rely on it (settings built in code)."""
    text = PARTNERS.format(base="https://api.hakuapp.com", token="x")
    [partner] = parse_partners(text.replace("        token_url: x\n", ""))
    account = replace(partner.accounts["haku"], base_url="https://api.hakuapp.com/")
    partner = replace(partner, accounts={"haku": account})
    client = build_client(partner, "haku", environ={"ACME_HAKU_ID": "a", "ACME_HAKU_SECRET": "b"})
    assert (client.base_url, client.token_url) == (
        "https://api.hakuapp.com",
        "https://prod-auth.hakuapp.com/oauth2/token",
    )


def test_an_error_in_a_200_body_is_retried_then_fails_with_the_error_cut_at_200_characters(
    stub,
) -> None:
    stub.script("/participants", 200, body={"error": "E" * 300}, times=100)
    with pytest.raises(ProviderError) as failed:
        read(make_client(stub))
    assert "Haku error in a 200 body: " + "E" * 200 in str(failed.value)
    assert "E" * 201 not in str(failed.value)


def test_a_participants_page_that_is_no_list_is_malformed_naming_event_and_page(stub) -> None:
    stub.script("/participants", 200, body={"message": "oops"}, times=100)
    with pytest.raises(
        MalformedResponseError,
        match=f"^event {EVENT} participants page 1: expected a list \\(bare or wrapped\\)",
    ):
        read(make_client(stub))


def test_an_incremental_read_without_a_server_filter_sends_no_filter(stub) -> None:
    read(make_client(stub, page_size=50), NOW - timedelta(minutes=70))
    assert [set(r.params) for r in participant_pages(stub)] == [
        {"sort_column", "sort_direction", "per_page", "page"}
    ] * 2


def test_a_cancellation_without_any_time_is_stamped_with_the_servers_clock(stub) -> None:
    record = registration(1, NOW, is_cancelled=True, cancelled_at=None)
    stub.participants[EVENT], stub.sort_participants = [{**record, "updated_at": None}], False
    client = make_client(stub)
    [p] = read(client)[0].participants
    assert p.removed_at == client.session.last_server_time  # the Date header, whole seconds
    assert p.removed_at.microsecond == 0 and p.removed_reason == "cancelled"


def test_zone_less_times_are_read_in_the_partners_zone(stub) -> None:
    stub.participants[EVENT] = [{**registration(1, NOW), "updated_at": "2026-03-01 06:00:00"}]
    [p] = read(make_client(stub, timezone="America/Chicago"))[0].participants
    assert p.modified_at == NOW  # 06:00 CST


def test_an_incremental_read_meeting_an_untimed_record_says_which(stub) -> None:
    stub.sort_participants = False  # stored newest first already; the stub cannot sort None
    stub.participants[EVENT][3] = {**stub.participants[EVENT][3], "updated_at": None}
    with pytest.raises(UntimedRecordsError) as failed:
        read(make_client(stub, partner="acme"), NOW - timedelta(minutes=70))
    assert str(failed.value) == (
        f"haku partner acme event {EVENT}: records without updated_at in an incremental read"
    )
    assert failed.value.partner == "acme"


def test_pages_sorted_each_but_not_across_them_are_read_to_the_end(stub) -> None:
    """Page 2 starts newer than page 1 ended: the server's order is not to be trusted, so an
    older record on page 2 does not end the read (page 3 holds a newer one)."""
    stub.sort_participants = False
    stub.participants[EVENT] = (
        [registration(i, NOW - timedelta(minutes=10 + i)) for i in range(50)]
        + [registration(100 + i, NOW - timedelta(minutes=5 + 2 * i)) for i in range(50)]
        + [registration(200, NOW - timedelta(minutes=1))]
    )
    pages = read(make_client(stub, page_size=50), NOW - timedelta(minutes=70))
    assert 200 in ids(pages) and len(participant_pages(stub)) >= 3


@pytest.mark.parametrize("status", [403, 404])
def test_an_event_refusing_the_account_is_inaccessible_with_its_code(stub, status) -> None:
    stub.script(f"/events/{EVENT}/participants", status, times=100)
    with pytest.raises(InaccessibleError) as refused:
        read(make_client(stub, partner="acme"))
    assert (refused.value.code, refused.value.partner) == (status, "acme")
    assert f"/events/{EVENT}/participants" in str(refused.value)
    assert f"HTTP {status}" in str(refused.value)


def test_base_urls_lose_trailing_slashes_only() -> None:
    text = PARTNERS.format(base="https://api.hakuapp.comX/", token="x")
    [partner] = parse_partners(text.replace("        token_url: x\n", ""))
    account = replace(partner.accounts["haku"], base_url="https://api.hakuapp.comX/")
    partner = replace(partner, accounts={"haku": account})
    env = {"ACME_HAKU_ID": "a", "ACME_HAKU_SECRET": "b"}
    with pytest.raises(ProviderConfigError, match="token_url is required"):  # not production
        build_client(partner, "haku", environ=env)
    account = replace(account, options={"token_url": "https://auth.example.org/t"})
    partner = replace(partner, accounts={"haku": account})
    assert build_client(partner, "haku", environ=env).base_url == "https://api.hakuapp.comX"
