"""`p88 doctor`'s judgments (providers/probe.py) as plain values: each check's status, detail and
action word for word (an operator acts on them), and what a page teaches the client's caps. The
client is a real Haku client built from a partners file; no call is made. test_doctor.py runs
the probes against the sandbox and checks statuses; these pin the wording and the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from p88_pipeline.config.partners import parse_partners
from p88_pipeline.providers.base import AuthError, Event, ProviderError, RejectedRecord
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.haku.client import HakuClient, HakuOptions
from p88_pipeline.providers.http import ApiSession
from p88_pipeline.providers.probe import (
    FAIL,
    PASS,
    WARN,
    Check,
    Page,
    Probe,
    ProbeTarget,
    RowsRead,
    run_probe,
)
from p88_pipeline.providers.quota import TokenBucket
from p88_pipeline_tests.providers.test_provider_parts import ENV, PARTNERS

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def probe() -> Probe:
    [partner] = parse_partners(PARTNERS)
    return Probe(build_client(partner, "haku", environ=ENV), ProbeTarget(now=NOW))


def event(event_id: str, start: datetime | None) -> Event:
    return Event("haku", event_id, "r1", "5K", start, None, "UTC")


def test_a_page_cap_is_judged_and_learned_from_at_most_two_pages(probe) -> None:
    probe.page_cap("events", 5, Page(range(5)), None)
    probe.page_cap("participants", 5, Page(range(3), more=True), None)
    probe.page_cap("races", 5, Page(range(3)), Page(range(4)))
    probe.page_cap("a", 5, Page([]), None)
    probe.page_cap("b", 5, Page(range(3), more=False), None)
    probe.page_cap("c", 5, Page(range(3)), Page([]))
    probe.page_cap("d", 5, Page(range(3)), Page([9]))  # one more row is enough
    assert probe.checks == [
        Check("page cap: events", PASS, "a full page of 5 rows as asked"),
        Check(
            "page cap: participants",
            WARN,
            "pages hold 3 rows though 5 were asked (Link rel=next): a silent cap",
            "nothing to do: learned and saved, the sync asks 3 per page from now on",
        ),
        Check(
            "page cap: races",
            WARN,
            "pages hold 3 rows though 5 were asked (page 2 had more rows): a silent cap",
            "nothing to do: learned and saved, the sync asks 3 per page from now on",
        ),
        Check("page cap: a", PASS, "empty list: nothing to measure"),
        Check("page cap: b", PASS, "3 rows < 5 asked, the last page (pagination metadata)"),
        Check("page cap: c", PASS, "3 rows < 5 asked, the last page (page 2 was empty)"),
        Check(
            "page cap: d",
            WARN,
            "pages hold 3 rows though 5 were asked (page 2 had more rows): a silent cap",
            "nothing to do: learned and saved, the sync asks 3 per page from now on",
        ),
    ]
    caps = probe.client.caps
    assert (caps.get("events").cap, caps.get("events").largest) == (None, 5)
    assert (caps.get("participants").cap, caps.get("participants").largest) == (3, 3)
    assert (caps.get("races").cap, caps.get("races").largest) == (3, 4)  # the bigger page
    assert caps.get("b").cap is None and caps.get("c").cap is None
    assert (caps.get("a").cap, caps.get("a").largest) == (None, 0)  # an empty page: no size


def test_only_a_short_page_without_metadata_needs_a_second_page(probe) -> None:
    assert probe.second_page_needed(5, Page(range(3)))
    assert probe.second_page_needed(5, Page([1]))
    assert not probe.second_page_needed(5, Page(range(5)))
    assert not probe.second_page_needed(5, Page([]))
    assert not probe.second_page_needed(5, Page(range(3), more=False))
    assert not probe.second_page_needed(5, Page(range(3), more=True))


def test_required_fields_unreadable_rows_fail_only_when_they_are_most(probe) -> None:
    bad = [RejectedRecord("haku", "e1", "missing id", {})] * 2
    bad.append(RejectedRecord("haku", "e1", "not an object", "x"))  # the first reason is shown
    probe.rows("participants", RowsRead(0, [], 0), "an id")
    probe.rows("participants", RowsRead(6, bad, 0), "an id")  # half: a warning
    probe.rows("participants", RowsRead(5, bad, 0), "an id", about="event 7")  # most: a failure
    probe.rows("participants", RowsRead(5, [], 2), "an id")
    probe.rows("participants", RowsRead(5, [], 0), "an id")
    probe.rows("participants", RowsRead(1, bad[2:], 0), "an id")
    quarantine = "the sync quarantines them in rejected_records; rows need an id"
    assert probe.checks == [
        Check("fields: participants", PASS, "no rows to look at"),
        Check("fields: participants", WARN, "3 of 6 rows unreadable (missing id)", quarantine),
        Check(
            "fields: participants",
            FAIL,
            "event 7: 3 of 5 rows unreadable (missing id)",
            quarantine,
        ),
        Check(
            "fields: participants",
            WARN,
            "2 of 5 rows without a modification time",
            "stored anyway; their events are read whole each run (full_compare), which costs "
            "every page of every future event",
        ),
        Check("fields: participants", PASS, "5 rows with an id"),
        Check("fields: participants", FAIL, "1 of 1 rows unreadable (not an object)", quarantine),
    ]


def test_sort_order_counts_the_neighbours_out_of_order(probe) -> None:
    probe.order("events", [1], False, FAIL, "why")
    probe.order("events", [1, 3, 2, 2, 4], False, WARN, "why")
    probe.order("events", [4, 2, 3, 1], True, FAIL, "why")
    probe.order("events", [3, 3, 1], True, FAIL, "why")
    probe.order("events", [2, 1], False, WARN, "why")  # two rows: one pair to compare
    assert probe.checks == [
        Check("sort order: events", PASS, "fewer than 2 rows: nothing to compare"),
        Check("sort order: events", WARN, "1 of 4 neighbours out of order", "why"),
        Check("sort order: events", FAIL, "1 of 3 neighbours out of order", "why"),
        Check("sort order: events", PASS, "3 rows in order"),
        Check("sort order: events", WARN, "1 of 1 neighbours out of order", "why"),
    ]


def test_the_incremental_filter_must_return_nothing_a_day_ahead(probe) -> None:
    probe.future_filter("updated_since", 0)
    probe.future_filter("updated_since", 2)
    assert probe.checks == [
        Check("incremental filter", PASS, "updated_since one day ahead returns nothing"),
        Check(
            "incremental filter",
            FAIL,
            "updated_since one day ahead still returns rows: the filter is not applied as p88 "
            "reads it",
            "incremental syncs cannot be trusted: sync with --force-full-sync until the "
            "provider confirms the parameter",
        ),
    ]


def test_the_probed_event_is_the_largest_stored_else_the_first_future_listed(probe) -> None:
    past, now, undated = event("p", NOW - timedelta(days=1)), event("n", NOW), event("u", None)
    first = "first future event listed (nothing stored yet)"
    assert probe.pick([past, now, undated]) == (undated, first)  # starting now is not future
    assert probe.pick([past, now]) == (past, first)  # nothing future: the first listed
    assert probe.pick([]) == (None, first)
    stored = Probe(probe.client, ProbeTarget(now=NOW, largest=now, largest_rows=42))
    assert stored.pick([undated]) == (now, "42 stored registrations")


def test_the_server_clock_is_judged_after_authentication(probe) -> None:
    probe.authenticated("token issued")
    probe.client.session.last_server_time = NOW + timedelta(seconds=120)
    probe.authenticated("again")
    probe.client.session.last_server_time = NOW - timedelta(seconds=121)
    probe.authenticated("again")
    assert probe.checks[:2] == [
        Check("authentication", PASS, "token issued"),
        Check("clock skew", WARN, "no Date header", "watermarks use this host's clock"),
    ]
    assert probe.checks[3] == Check("clock skew", PASS, "+120 s (Date header)")
    assert probe.checks[5] == Check(
        "clock skew",
        WARN,
        "server clock -121 s from this host's",
        "fix this host's time (NTP): the future-event cutoff uses it",
    )


def test_a_refusal_or_an_error_ends_the_probe_as_a_failure_of_its_step(probe) -> None:
    def refused(p: Probe) -> None:
        p.add("x", PASS, "fine")
        raise AuthError(f"refused key={ENV['ACME_KEY']}")

    def broken(p: Probe) -> None:
        p.step = "events list"
        raise ProviderError("x" * 300)

    heard = []
    target = ProbeTarget(now=NOW, watch=lambda *a: heard.append(a))
    probe.client.session.calls = 3  # calls made before: the progress row counts them
    assert run_probe(probe.client, target, refused) == [
        Check("x", PASS, "fine"),
        Check(
            "authentication",
            FAIL,
            "refused key=***",
            "check the values of ACME_KEY, ACME_SECRET (the provider refused them)",
        ),
    ]
    assert heard == [("authentication", 1, 3), ("authentication", 2, 3)]
    bare = HakuClient(
        ApiSession("haku", "acme", limiter=TokenBucket(10)),
        "u",
        {"client_id": "i", "client_secret": "s"},
        HakuOptions("t"),
    )

    def refused_long(p: Probe) -> None:
        raise AuthError("y" * 300)

    assert run_probe(bare, ProbeTarget(now=NOW), refused_long) == [
        Check(
            "authentication",
            FAIL,
            "y" * 200,
            "check the values of the credentials (the provider refused them)",
        )
    ]
    [failed] = run_probe(probe.client, ProbeTarget(now=NOW), broken)
    assert failed == Check(
        "events list",
        FAIL,
        "x" * 200,
        "run it again; if it persists, the provider's answer is not what p88 reads",
    )
