"""What the freshness plan is fed from the warehouse, as plain values: the calls the past hour
spent, the cost of a run estimated from recent finished runs, which events lists are stale.
Written from the mutation run's survivors (docs/testing.md); the sensor tests read these only
through whole plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from p88_pipeline.config.partners import parse_partners
from p88_pipeline.freshness.inputs import (
    PartnerInputs,
    gather,
    plan_partner,
    reusable_list_age,
)
from p88_pipeline.freshness.plan import EventWatermark
from p88_pipeline.freshness.readings import RunRow, note_list_read
from p88_pipeline_tests.sync.test_freshness_plan import PARTNER

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def run(
    calls: int, synced: int, *, status: str = "success", ago=HOUR / 2, provider="runsignup"
) -> RunRow:
    return RunRow("1", provider, NOW - ago, None, status, calls, synced)


def test_calls_per_event_come_from_finished_runs_that_synced_an_event() -> None:
    inputs = PartnerInputs(
        runs=[
            run(30, 10),  # 3 a event
            run(500, 1, status="running"),  # still running: its calls are not final
            run(400, 0),  # synced nothing (its races refused us): no ratio
            run(7, 1),  # 7
            run(5, 1, status="failed"),  # 5: a failed run's calls were spent all the same
        ],
        list_reads={"haku": (NOW, 4)},
    )
    costs = inputs.costs()
    assert costs.per_event == {"runsignup": 5.0}  # the median of 3, 5 and 7
    assert costs.events_list == {"haku": 4.0}


def test_only_the_last_ten_finished_runs_of_an_account_estimate_its_cost() -> None:
    older = [run(1, 1, ago=HOUR * 3)]  # one call a event, before the last ten
    recent = [run(2 if i % 2 else 4, 1, ago=HOUR * 2 - timedelta(minutes=i)) for i in range(10)]
    haku = [run(9, 1, provider="haku")]
    assert PartnerInputs(runs=older + recent + haku).costs().per_event == {
        "runsignup": 4.0,  # five at 2 and five at 4: the upper middle; with the older one, 2
        "haku": 9.0,
    }


def test_spent_counts_the_calls_of_runs_started_in_the_hour_before_now() -> None:
    inputs = PartnerInputs(
        runs=[
            run(100, 1, ago=HOUR),  # started exactly an hour ago: out of the window
            run(10, 1, ago=HOUR - timedelta(seconds=1)),
            run(20, 1, ago=timedelta(0)),  # started now
            run(40, 1, ago=-timedelta(seconds=1)),  # a clock ahead: not yet
            run(3, 1, provider="haku"),
        ]
    )
    assert inputs.spent(NOW) == {"runsignup": 30, "haku": 3}


def test_an_events_list_is_stale_when_never_read_or_older_than_the_max_age() -> None:
    inputs = PartnerInputs(
        list_reads={
            "runsignup": (NOW - HOUR, 2),  # exactly the max age: still fresh
            "haku": (NOW - HOUR - timedelta(seconds=1), 2),
        }
    )
    assert inputs.stale_lists(["runsignup", "haku"], NOW, HOUR) == ["haku"]
    assert inputs.stale_lists(["runsignup", "other"], NOW, HOUR) == ["other"]


def test_a_partner_s_plan_charges_the_stale_events_list_of_its_own_accounts_only() -> None:
    (partner,) = parse_partners(PARTNER.format(extra="name: One"))
    due = EventWatermark("runsignup", "e1", "r1", NOW + HOUR, None)  # never synced: due
    elsewhere = EventWatermark("haku", "h1", "r2", NOW + HOUR, None)  # no haku account
    result = plan_partner(partner, PartnerInputs(events=[due, elsewhere]), NOW)
    assert result.due_ids() == ["runsignup:e1"]
    assert result.list_reads == ("runsignup",)  # never read: charged with the first group
    assert result.calls == {"runsignup": 3.0}  # a race (2) and the list (1)


def test_a_stored_events_list_is_reused_up_to_exactly_its_max_age(engine) -> None:
    note_list_read(engine, "runsignup", "1", NOW - HOUR, 2)
    assert reusable_list_age(engine, "runsignup", "1", NOW, HOUR) == HOUR
    assert reusable_list_age(engine, "runsignup", "1", NOW + timedelta(seconds=1), HOUR) is None
    assert reusable_list_age(engine, "runsignup", "1", NOW, None) is None  # no max age: read it
    assert reusable_list_age(engine, "haku", "1", NOW, HOUR) is None  # never read
    (partner,) = parse_partners(PARTNER.format(extra="name: One"))
    gathered = gather(engine, [partner], NOW, NOW)
    assert gathered[partner.id].list_reads == {"runsignup": (NOW - HOUR, 2)}
