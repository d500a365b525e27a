"""Haku's doctor probe (providers/haku/probe.py) against the scripted stub: which calls it makes
and every check it reports, word for word. test_doctor.py runs it through `p88 doctor` against
the sandbox and checks statuses; the judgments themselves are in test_probe_judgments.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from p88_pipeline.providers.haku.probe import EARLY_STOP_WHY, probe
from p88_pipeline.providers.paging import Cap
from p88_pipeline.providers.probe import FAIL, PASS, WARN, Check, ProbeTarget
from p88_pipeline_tests.providers.haku_stub import HakuStub, make_client, registration

NOW = datetime.now(UTC).replace(microsecond=0)
FIRST = "first future event listed (nothing stored yet)"


@pytest.fixture
def stub() -> Iterator[HakuStub]:
    with HakuStub() as stub:
        stub.events = [
            {"id": "E1", "name": "Spring 10K", "event_date": "2020-04-01 08:00:00"},
            {"id": "E2", "name": "Summer Half", "event_date": "2099-05-01 08:00:00"},
        ]
        yield stub


def checks(stub: HakuStub, **client) -> list[Check]:
    """The probe's checks; the clock skew line only by its status (the stub's Date is live)."""
    client = make_client(stub, clock=lambda: 0.0, **client)  # its own token: a call first
    found = probe(client, ProbeTarget(now=datetime.now(UTC)))
    skew = next(c for c in found if c.check == "clock skew")
    assert skew.status == PASS and skew.detail.endswith(" s (Date header)")
    return [c for c in found if c.check != "clock skew"]


def test_a_healthy_account_passes_every_check_in_five_calls(stub) -> None:
    stub.participants["E2"] = [registration(i, NOW - timedelta(minutes=i)) for i in range(150)]
    stub.honour_updated_since = True
    assert checks(stub, updated_since_param="updated_since") == [
        Check("authentication", PASS, "token issued"),
        Check("page cap: events", PASS, "2 rows < 100 asked, the last page (page 2 was empty)"),
        Check("events list", PASS, "2 events on the first pages (newest first)"),
        Check("sort order: events by event_date, newest first", PASS, "2 rows in order"),
        Check("page cap: participants", PASS, "a full page of 100 rows as asked"),
        Check(
            "fields: participants",
            PASS,
            f"event E2 ({FIRST}): 100 rows with registration_number and updated_at",
        ),
        Check("sort order: participants by updated_at, newest first", PASS, "100 rows in order"),
        Check("incremental filter", PASS, "updated_since one day ahead returns nothing"),
    ]
    # a token, two events pages, one participants page, the filter one day ahead (one row)
    assert [r.path.rsplit("/", 1)[-1] for r in stub.log] == [
        "token",
        "events",
        "events",
        "participants",
        "participants",
    ]
    ahead = stub.log[-1].params
    assert (ahead["per_page"], ahead["page"]) == ("1", "1")
    day_ahead = ahead["updated_since"]
    assert (NOW + timedelta(hours=23)).isoformat()[:19] < day_ahead[:19]
    assert day_ahead[:19] < (NOW + timedelta(hours=25)).isoformat()[:19]


def test_the_filter_is_asked_a_day_past_the_server_s_clock_not_this_host_s(stub) -> None:
    stub.participants["E2"] = [registration(i, NOW - timedelta(minutes=i)) for i in range(3)]
    client = make_client(stub, updated_since_param="updated_since", clock=lambda: 0.0)
    found = probe(client, ProbeTarget(now=NOW - timedelta(days=10)))  # this host is 10 days late
    assert next(c for c in found if c.check == "clock skew").status == WARN
    day_ahead = stub.log[-1].params["updated_since"]
    assert (NOW + timedelta(hours=23)).isoformat()[:19] < day_ahead[:19]


@pytest.mark.parametrize("detail_time", ["2026-01-01 00:00:00", None, ""])
def test_untimed_rows_ask_the_detail_endpoint_and_need_no_order(stub, detail_time) -> None:
    stub.participants["E2"] = [{**registration(i, NOW), "updated_at": None} for i in range(3)]
    stub.sort_participants = False
    stub.script(
        "/registrations/0", 200, body={"registration_number": "0", "updated_at": detail_time}
    )
    detail = (
        Check("detail endpoint", PASS, "carries updated_at")
        if detail_time
        else Check(
            "detail endpoint",
            WARN,
            "no updated_at there either",
            "events stay full_compare; nothing else to do",
        )
    )
    assert checks(stub)[4:] == [
        Check(
            "page cap: participants", PASS, "3 rows < 100 asked, the last page (page 2 was empty)"
        ),
        Check(
            "fields: participants",
            WARN,
            f"event E2 ({FIRST}): 3 of 3 rows without a modification time",
            "stored anyway; their events are read whole each run (full_compare), which costs "
            "every page of every future event",
        ),
        detail,
        Check("sort order: participants", PASS, "not needed: untimed events are read whole"),
        Check("incremental filter", PASS, "none configured: newest-first early stop instead"),
    ]
    assert stub.log[-1].path.endswith("/events/E2/registrations/0")


def test_no_events_listed_ends_the_probe_and_bad_orders_are_warnings(stub) -> None:
    stub.events = []
    assert checks(stub)[1:] == [
        Check("page cap: events", PASS, "empty list: nothing to measure"),
        Check("events list", PASS, "0 events on the first pages (newest first)"),
        Check(
            "sort order: events by event_date, newest first",
            PASS,
            "fewer than 2 rows: nothing to compare",
        ),
        Check("participants", PASS, "no event listed: nothing more to probe"),
    ]
    stub.events = [
        {"id": "E1", "name": "A", "event_date": "2099-04-01 08:00:00"},
        {"id": "E2", "name": "B", "event_date": "2099-05-01 08:00:00"},
    ]
    stub.sorted_events = lambda: list(stub.events)  # oldest first: not as asked
    stub.participants["E1"] = [registration(i, NOW + timedelta(minutes=i)) for i in range(3)]
    stub.sort_participants = False  # oldest first as well
    found = checks(stub)
    assert found[3] == Check(
        "sort order: events by event_date, newest first",
        WARN,
        "1 of 1 neighbours out of order",
        "none: the list is read whole",
    )
    assert found[6] == Check(
        "sort order: participants by updated_at, newest first",
        WARN,
        "2 of 2 neighbours out of order",
        EARLY_STOP_WHY,
    )
    stub.participants["E1"] = [{"registration_number": None}] * 3
    assert checks(stub)[5] == Check(
        "fields: participants",
        FAIL,
        f"event E1 ({FIRST}): 3 of 3 rows unreadable (missing registration_number)",
        "the sync quarantines them in rejected_records; rows need registration_number and "
        "updated_at",
    )


def test_pages_are_asked_by_number_at_the_known_cap_and_both_pages_count(stub) -> None:
    """A silent cap of one row a page: the events list's two pages both count; participants
    are asked at the cap learned before (one a page: a full page, no second)."""
    stub.per_page_cap = 1
    stub.participants["E2"] = [registration(i, NOW - timedelta(minutes=i)) for i in range(3)]
    client = make_client(stub, clock=lambda: 0.0)
    client.caps.load({"participants": Cap(cap=1)})
    found = probe(client, ProbeTarget(now=datetime.now(UTC)))
    assert Check("events list", PASS, "2 events on the first pages (newest first)") in found
    asked = [
        (r.path.rsplit("/", 1)[-1], r.params.get("page"), r.params.get("per_page"))
        for r in stub.log
    ]
    assert asked[1:4] == [
        ("events", "1", "100"),
        ("events", "2", "100"),
        ("participants", "1", "1"),
    ]


@pytest.mark.parametrize(
    ("path", "step"),
    [
        ("/api/events", "events list"),
        ("/participants", "participants"),
        ("/registrations/", "detail endpoint"),
        (None, "incremental filter"),
    ],
)
def test_an_error_is_a_failure_of_the_step_under_way(stub, path, step) -> None:
    untimed = {"updated_at": None} if path else {}  # untimed rows: the detail endpoint is asked
    stub.participants["E2"] = [{**registration(i, NOW), **untimed} for i in range(3)]
    stub.sort_participants = False
    if path:
        stub.script(path, 404, times=100)
    stub.reject_updated_since = True  # 400 when the filter parameter is sent
    client = make_client(stub, updated_since_param="updated_since", clock=lambda: 0.0)
    found = probe(client, ProbeTarget(now=datetime.now(UTC)))
    assert (found[-1].check, found[-1].status) == (step, FAIL)
    assert (
        found[-1].action
        == "run it again; if it persists, the provider's answer is not what p88 reads"
    )
