"""HakuClient's events list over real HTTP (the stub): the newest-first early stop judged on the
server's clock, pagination metadata, the order checked across pages, answers that are not a
list, and the partner's zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from p88_pipeline.providers.base import MalformedResponseError, ProviderError
from p88_pipeline_tests.providers.haku_stub import (
    EVENT,
    NOW,
    SPRING_10K,
    HakuStub,
    make_client,
    registration,
    stamp,
)


@pytest.fixture
def stub() -> Iterator[HakuStub]:
    with HakuStub() as stub:
        stub.events = [dict(SPRING_10K)]
        yield stub


def test_the_events_list_stops_once_a_page_is_past_and_says_from_when_it_is_complete(
    stub,
) -> None:
    """Newest first: after a page ending before the cutoff, later pages are older (no page read
    to prove the end); out of order, every page is read and the list is complete."""
    dates = [f"2099-01-0{d}" for d in range(9, 0, -1)] + [
        "2020-01-01",
        "2019-01-01",
        "2018-01-01",
    ]
    stub.events = [{"id": str(i), "name": f"E{i}", "event_date": d} for i, d in enumerate(dates)]
    client = make_client(stub, page_size=5)
    assert len(list(client.list_events())) == 10  # pages of 5: the 2nd ends in 2020
    assert len([r for r in stub.log if r.path.endswith("/events")]) == 2
    assert str(client.listed_from()).startswith("2020-01-01 00:00:00.000001")
    stub.log.clear()
    old = [f"201{y}-01-01" for y in range(5)]  # oldest first: not sorted as asked
    stub.events = [{"id": f"x{i}", "name": "X", "event_date": d} for i, d in enumerate(old)]
    stub.events += [{"id": str(i), "name": "E", "event_date": d} for i, d in enumerate(dates)]
    stub.sorted_events = lambda: list(stub.events)
    client = make_client(stub, page_size=5)
    assert len(list(client.list_events())) == 17  # page 1 is all past, yet in the wrong order
    assert client.listed_from() is None


@pytest.mark.parametrize("status", [400, 404])
def test_the_events_list_refused_is_a_plain_error(stub, status) -> None:
    """400 there is no refused filter (none is sent), 404 no inaccessible event."""
    stub.script("/events", status, times=100)
    with pytest.raises(ProviderError) as failed:
        list(make_client(stub).list_events())
    assert type(failed.value) is ProviderError and failed.value.code == status


def test_the_events_list_follows_pagination_metadata_and_learns_under_its_name(stub) -> None:
    """A short page whose Link header names no next page ends the read: no page to prove it."""
    link = {"Link": f'<{stub.base_url}/events?page=1>; rel="first"'}
    future = [{**stub.events[0], "event_date": "2099-06-01 08:00:00"}]  # no early stop
    stub.script("/events", 200, body=future, headers=link, times=1)
    client = make_client(stub)
    assert [e.event_id for e in client.list_events()] == [EVENT]
    assert len(stub.requests_to("/events")) == 1
    assert client.caps.snapshot() == {"events": {"cap": None, "largest_page": 1}}


def test_an_events_page_that_is_no_list_is_malformed_naming_the_page(stub) -> None:
    stub.script("/events", 200, body={"message": "oops"}, times=100)
    with pytest.raises(MalformedResponseError, match="^events page 1: expected a list"):
        list(make_client(stub).list_events())


def dated_events(*starts: datetime) -> list[dict]:
    return [
        {"id": str(80001 + i), "name": f"Race {i}", "event_date": stamp(start), "timezone": "UTC"}
        for i, start in enumerate(starts)
    ]


@pytest.mark.parametrize(
    ("starts", "read"),
    [
        # the cutoff is the server's now minus the grace and a day: 2 days before NOW
        ((NOW + timedelta(days=30), NOW - timedelta(days=30), NOW - timedelta(days=60)), 2),
        ((NOW - timedelta(days=1, hours=12), NOW - timedelta(days=3)), 2),
        ((NOW - timedelta(days=2), NOW - timedelta(days=3)), 2),  # at the cutoff: not past
        ((NOW - timedelta(days=2, seconds=1), NOW - timedelta(days=3)), 1),
    ],
)
def test_the_events_list_stops_on_the_servers_clock(stub, starts, read) -> None:
    """The server's clock (its Date header, here months before ours) decides which events are
    past: the list stops after the first page that ends past the cutoff."""
    stub.server_now, stub.events = NOW, dated_events(*starts)
    client = make_client(stub, page_size=1)
    listed = [e.event_id for e in client.list_events()]
    assert listed == [e["id"] for e in stub.events][:read]
    assert len(stub.requests_to("/events")) == read


def test_an_empty_events_list_is_complete(stub) -> None:
    stub.events = []
    client = make_client(stub)
    assert list(client.list_events()) == [] and client.listed_from() is None


def test_events_sorted_per_page_but_not_across_pages_are_read_to_the_end(stub) -> None:
    stub.server_now = NOW
    events = dated_events(NOW + timedelta(days=1), NOW + timedelta(days=9), NOW - timedelta(days=9))
    stub.sorted_events = lambda: events  # page 2 starts later than page 1: not newest first
    client = make_client(stub, page_size=1)
    assert len(list(client.list_events())) == 3 and client.listed_from() is None


def test_an_unknown_partner_zone_is_read_as_utc_and_said_so(stub) -> None:
    stub.events = [{"id": "1", "name": "No zone", "event_date": "2099-05-01 08:00:00"}]
    client = make_client(stub, timezone="Not/AZone")
    [event] = client.list_events()
    assert client.timezone == "UTC" == event.timezone
    assert event.start_time == datetime(2099, 5, 1, 8, 0, tzinfo=UTC)


def test_a_server_that_gives_no_time_is_read_on_our_clock(stub) -> None:
    """No Date header: the early stop and a cancellation without times use our clock (aware)."""
    stub.send_date = False
    stub.events = dated_events(datetime.now(UTC) + timedelta(days=9), NOW - timedelta(days=9))
    record = registration(1, NOW, is_cancelled=True, cancelled_at=None)
    stub.participants["80001"] = [{**record, "updated_at": None}]
    stub.sort_participants = False
    client = make_client(stub, page_size=1)
    events = list(client.list_events())
    assert [e.event_id for e in events] == ["80001", "80002"] and client.listed_from()
    before = datetime.now(UTC)
    [page, *_] = client.iter_participant_pages(events[:1], None)
    assert client.session.last_server_time is None
    assert before <= page.participants[0].removed_at <= datetime.now(UTC)
