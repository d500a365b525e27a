"""RunSignUp's doctor probe (providers/runsignup/probe.py) against the sandbox: which calls it
makes and every check it reports, word for word. test_doctor.py runs it through `p88 doctor` and
checks statuses; the judgments themselves are in test_probe_judgments.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from p88_pipeline.providers.base import MalformedResponseError
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import Transport
from p88_pipeline.providers.paging import Cap
from p88_pipeline.providers.probe import FAIL, PASS, WARN, Check, Page, ProbeTarget
from p88_pipeline.providers.runsignup.probe import EVERYTHING, _events, probe
from p88_pipeline.providers.timeparse import EASTERN, to_unix
from p88_pipeline_tests.helpers import FAST_RETRY

SLUG = "bravo"
FIRST = "first future event listed (nothing stored yet)"


def run_unchecked(sandbox):
    client = build_client(sandbox.partner(SLUG), "runsignup", transport=Transport(FAST_RETRY))
    return probe(client, ProbeTarget(now=sandbox.world.clock.now())), None


def run(sandbox, page_size: int | None = None, removed_page_size: int | None = None):
    """The probe's checks (clock skew only by its status) and the calls it made."""
    partner = sandbox.partner(SLUG)
    account = partner.accounts["runsignup"]
    options = dict(account.options)
    if removed_page_size:
        options["removed_page_size"] = removed_page_size
    account = replace(account, page_size=page_size or account.page_size, options=options)
    client = build_client(
        replace(partner, accounts={"runsignup": account}),
        "runsignup",
        transport=Transport(FAST_RETRY),
    )
    client.clock = sandbox.world.clock.now  # the races' start date: the sandbox's day, not ours
    sandbox.server.reset_log()
    found = probe(client, ProbeTarget(now=sandbox.world.clock.now()))
    assert next(c for c in found if c.check == "clock skew").status == PASS
    calls = [
        (r.path.rsplit("/", 1)[-1], r.params.get("page"), r.params.get("after_registration_id"))
        for r in sandbox.server.log
    ]
    return [c for c in found if c.check != "clock skew"], calls


def test_a_healthy_account_passes_every_check(sandbox) -> None:
    found, calls = run(sandbox)
    # Races from the sandbox's day in US Eastern minus the grace (a day): fixed by its clock.
    listed_from = (sandbox.world.clock.now().astimezone(EASTERN) - timedelta(days=1)).date()
    assert found == [
        Check("authentication", PASS, "the races list answered"),
        Check("page cap: races", PASS, "1 rows < 1000 asked, the last page (page 2 was empty)"),
        Check("events list", PASS, f"2 events in 1 races from {listed_from.isoformat()}"),
        Check(
            "page cap: participants", PASS, "40 rows < 2500 asked, the last page (page 2 was empty)"
        ),
        Check(
            "fields: participants",
            PASS,
            f"event 600007 ({FIRST}): 40 rows with registration_id and last_modified",
        ),
        Check("sort order: participants by registration_id", PASS, "40 rows in order"),
        Check("gender", PASS, "F/M/X seen (supports_nb=T sent)"),
        Check("page cap: removed-participants", PASS, "empty list: nothing to measure"),
        Check("fields: removed-participants", PASS, "no rows to look at"),
        Check("incremental filter", PASS, "modified_after_timestamp one day ahead returns nothing"),
    ]
    races = [r.params for r in sandbox.server.log if r.path.endswith("/races")]
    assert [(p["page"], p["results_per_page"]) for p in races] == [("1", "1000"), ("2", "1000")]
    last_id = max(sandbox.world.active_ids(sandbox.world.event_state("runsignup", "600007")))
    assert calls == [
        ("races", "1", None),
        ("races", "2", None),  # a short page without metadata: one more proves the end
        ("participants", "1", None),
        ("participants", "1", str(last_id)),  # keyset: after page 1's last id
        ("removed-participants", "1", None),
        ("participants", "1", None),  # the filter, one day ahead
    ]


def test_removals_and_unreadable_rows_are_judged(sandbox) -> None:
    world = sandbox.world
    event = world.event_state("runsignup", "600007")
    for pid in world.active_ids(event)[:2]:
        world.remove_participant("runsignup", "600007", pid)
    sandbox.server.inject(
        "runsignup", SLUG, "invalid_records", count=1, path_contains="/participants"
    )
    sandbox.server.inject(
        "runsignup", SLUG, "invalid_records", count=1, path_contains="removed-participants"
    )
    found, calls = run(sandbox, page_size=50, removed_page_size=5)
    unreadable = "rows unreadable ('str' object has no attribute 'get')"
    assert found[3:] == [
        Check(
            "page cap: participants", PASS, "43 rows < 50 asked, the last page (page 2 was empty)"
        ),
        Check(
            "fields: participants",
            WARN,
            f"event 600007 ({FIRST}): 5 of 43 {unreadable}",  # 2 removed, 5 served unreadable
            "the sync quarantines them in rejected_records; rows need registration_id and "
            "last_modified",
        ),
        Check("sort order: participants by registration_id", PASS, "38 rows in order"),
        Check("gender", PASS, "F/M/X seen (supports_nb=T sent)"),
        Check(
            "page cap: removed-participants",
            PASS,
            "4 rows < 5 asked, the last page (page 2 was empty)",
        ),
        Check(
            "fields: removed-participants",
            WARN,
            f"2 of 4 {unreadable}",
            "the sync quarantines them in rejected_records; rows need registration_id and a "
            "removal time",
        ),
        Check("incremental filter", PASS, "modified_after_timestamp one day ahead returns nothing"),
    ]
    assert [c[0] for c in calls] == [
        "races",
        "races",
        "participants",
        "participants",
        "removed-participants",
        "removed-participants",  # keyset: after the highest readable id of the short page
        "participants",
    ]
    removed_ids = sorted(int(pid) for pid in event.removed)
    assert calls[5][2] == str(removed_ids[-1])
    removed_asks = [r.params for r in sandbox.server.log if r.path.endswith("removed-participants")]
    assert {(p["results_per_page"], p["modified_after_timestamp"]) for p in removed_asks} == {
        ("5", str(to_unix(EVERYTHING)))  # both pages: the same size, every removal
    }


def test_an_error_on_the_races_list_is_a_failure_of_the_events_list(sandbox) -> None:
    sandbox.server.inject("runsignup", SLUG, "http_500", count=100, path_contains="/races")
    found, _ = run_unchecked(sandbox)
    assert (found[-1].check, found[-1].status) == ("events list", FAIL)


def race(n: int) -> dict:
    event = {"event_id": n * 10, "name": "5K", "start_time": "1/1/2099 08:00", "end_time": None}
    return {"race_id": n, "name": f"R{n}", "timezone": "UTC", "events": [event]}


def test_a_races_page_is_read_wrapped_or_bare_and_a_race_without_id_is_malformed() -> None:
    events, races = _events([Page([{"race": race(1)}, race(2)]), Page([{"race": race(3)}])])
    assert (races, [e.event_id for e in events]) == (3, ["10", "20", "30"])
    for bad in ({"race": {"name": "no id"}}, {"name": "no id"}, "not an object"):
        with pytest.raises(MalformedResponseError) as caught:
            _events([Page([bad])])
        assert str(caught.value) == "races page: a race without race_id"


def test_lists_are_asked_at_the_known_cap_and_removals_from_the_start(sandbox) -> None:
    partner = sandbox.partner(SLUG)
    client = build_client(partner, "runsignup", transport=Transport(FAST_RETRY))
    client.caps.load({"participants": Cap(cap=5)})
    probe(client, ProbeTarget(now=sandbox.world.clock.now()))
    asked = [(r.path.rsplit("/", 1)[-1], r.params) for r in sandbox.server.log]
    participants = [p for name, p in asked if name == "participants"]
    removed = [p for name, p in asked if name == "removed-participants"]
    assert participants[0]["results_per_page"] == "5"
    assert "modified_after_timestamp" not in participants[0]
    assert removed[0]["results_per_page"] == "1000"  # the partner's default removed page size
    assert removed[0]["modified_after_timestamp"] == str(to_unix(EVERYTHING))  # every removal


def test_the_races_list_at_its_known_cap_and_an_empty_list_ending_the_probe(sandbox) -> None:
    client = build_client(sandbox.partner(SLUG), "runsignup", transport=Transport(FAST_RETRY))
    client.caps.load({"races": Cap(cap=1)})  # the partner's one race fills a page of one
    found = probe(client, ProbeTarget(now=sandbox.world.clock.now()))
    races = [r.params for r in sandbox.server.log if r.path.endswith("/races")]
    assert [(p["page"], p["results_per_page"]) for p in races] == [("1", "1")]  # full: no page 2
    assert Check("page cap: races", PASS, "a full page of 1 rows as asked") in found
    sandbox.server.reset_log()
    later = build_client(sandbox.partner(SLUG), "runsignup", transport=Transport(FAST_RETRY))
    later.clock = lambda: datetime(2100, 1, 1, tzinfo=UTC)  # no race starts after this
    found = probe(later, ProbeTarget(now=datetime(2100, 1, 1, tzinfo=UTC)))
    assert found[-2:] == [
        Check("events list", PASS, "0 events in 0 races from 2099-12-30"),
        Check("participants", PASS, "no event listed: nothing more to probe"),
    ]
    races = [r.params for r in sandbox.server.log if r.path.endswith("/races")]
    assert [(p["page"], p["results_per_page"]) for p in races] == [("1", "1000")]


def test_readable_removals_a_missing_gender_and_the_filter_a_day_past_the_server(sandbox) -> None:
    world = sandbox.world
    event = world.event_state("runsignup", "600007")
    active = world.active_ids(event)
    for pid in active[:2]:
        world.remove_participant("runsignup", "600007", pid)
    world.modify_participant("runsignup", "600007", str(active[2]), gender=None)
    client = build_client(sandbox.partner(SLUG), "runsignup", transport=Transport(FAST_RETRY))
    found = probe(client, ProbeTarget(now=world.clock.now() - timedelta(days=10)))  # host late
    assert Check("gender", PASS, "-/F/M/X seen (supports_nb=T sent)") in found
    assert (
        Check(
            "fields: removed-participants", PASS, "2 rows with registration_id and a removal time"
        )
        in found
    )
    ahead = [r.params for r in sandbox.server.log if r.path.endswith("/participants")][-1]
    assert ahead["results_per_page"] == "1"
    assert ahead["modified_after_timestamp"] == str(to_unix(world.clock.now() + timedelta(days=1)))


@pytest.mark.parametrize(
    ("path", "after", "step"),
    [
        ("/participants", 0, "participants"),
        ("removed-participants", 0, "removed-participants"),
        ("/participants", 2, "incremental filter"),  # page 1 and the keyset page 2 pass
    ],
)
def test_an_error_is_a_failure_of_the_step_under_way(sandbox, path, after, step) -> None:
    sandbox.server.inject("runsignup", SLUG, "http_500", count=100, path_contains=path, after=after)
    found, _ = run_unchecked(sandbox)
    assert (found[-1].check, found[-1].status) == (step, FAIL)
