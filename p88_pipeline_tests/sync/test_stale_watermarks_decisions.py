"""The watermark sensor's decisions whole (slug, due, reason, run key, events, plan) and the tick's
headline and skip summary, word for word: what an operator reads in the tick list. Written from
the mutation run's survivors (docs/testing.md); test_stale_watermarks_plan.py states the rules."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from p88_pipeline.freshness.due_runs import (
    PartnerDecision,
    decide_partner,
    due_digest,
    interval_window,
    plan_incremental_runs,
    skip_summary,
    tick_headline,
)
from p88_pipeline.freshness.inputs import PartnerInputs
from p88_pipeline.freshness.readings import RunRow
from p88_pipeline_tests.sync.test_stale_watermarks_plan import (
    NEXT_MONTH,
    NOW,
    fresh,
    held,
    partner,
)

NEAR = NOW + timedelta(hours=5)
LATE_NEAR = ("near", NEAR, NOW - timedelta(minutes=20))  # due: 20 min behind a 10 min target
LATE_FAR = ("far", NEXT_MONTH, NOW - timedelta(hours=7))  # due: 7 h behind a 6 h target
FAR_MISSED = "over budget, missed targets: runsignup far (later): 7.0 h behind, target 6.0 h"


def spent(inputs: PartnerInputs, calls: int) -> PartnerInputs:
    """The same inputs after a run that spent `calls` in the past hour (and synced no event, so
    the cost estimate keeps the race floor)."""
    run = RunRow("id-acme", "runsignup", NOW - timedelta(minutes=5), NOW, "success", calls, 0)
    return PartnerInputs(inputs.events, [run], inputs.list_reads)


def test_interval_windows_and_the_digest_of_the_chosen_events() -> None:
    minute = int(NOW.timestamp()) // 60
    assert (interval_window(NOW, 1), interval_window(NOW, 0)) == (minute, minute)
    assert interval_window(NOW, 10) == minute // 10
    plan = decide_partner(partner(), fresh(), NOW, held(LATE_NEAR, LATE_FAR)).plan
    written = "runsignup:far@2026-05-01 05:30:00+00:00|runsignup:near@2026-05-01 12:10:00+00:00"
    assert due_digest(plan) == hashlib.sha1(written.encode()).hexdigest()[:10]


def test_a_partner_without_stored_or_future_events() -> None:
    whole = PartnerDecision("acme", True, "no events stored yet", f"acme:no-events:w{NOW_60}")
    assert decide_partner(partner(), fresh(events=0, future=0), NOW) == whole
    assert decide_partner(partner(), fresh(events=0, future=0), NOW, held(LATE_NEAR)) == whole
    one = decide_partner(partner(), fresh(events=1, future=1), NOW, held(LATE_NEAR))
    assert one.due_events == ("runsignup:near",)  # one stored event is not none
    assert decide_partner(partner(), fresh(events=5, future=0), NOW) == PartnerDecision(
        "acme", False, "no future events (the nightly run looks for new ones)"
    )
    assert decide_partner(partner(), fresh(events=1, future=1), NOW).reason == (
        "fresh: nothing to sync"  # nothing stored to judge: no wait to report
    )


NOW_60 = interval_window(NOW, 60)


def test_a_due_partner_s_decision_whole() -> None:
    both = decide_partner(partner(), fresh(), NOW, held(LATE_NEAR, LATE_FAR))
    assert (both.slug, both.due, both.due_events) == (
        "acme",
        True,
        ("runsignup:far", "runsignup:near"),
    )
    assert both.reason == "2 events due (1 within 48 h, 1 later), 2 synced, ~4 calls"
    assert both.run_key == f"acme:due-{due_digest(both.plan)}:w{interval_window(NOW, 10)}"
    assert [j.event.event_id for j in both.plan.chosen] == ["near", "far"]
    squeezed = decide_partner(partner(), fresh(), NOW, spent(held(LATE_NEAR, LATE_FAR), 797))
    assert (squeezed.slug, squeezed.due, squeezed.due_events) == ("acme", True, ("runsignup:near",))
    assert squeezed.reason == f"1 events due (1 within 48 h), 1 synced, ~2 calls; {FAR_MISSED}"
    assert [j.event.event_id for j in squeezed.plan.missed] == ["far"]


def test_a_partner_over_budget_with_nothing_chosen_is_skipped_with_the_missed_targets() -> None:
    decision = decide_partner(partner(), fresh(), NOW, spent(held(LATE_FAR), 800))
    assert (decision.slug, decision.due, decision.reason) == ("acme", False, FAR_MISSED)
    assert decision.run_key is None and decision.due_events is None
    assert [j.event.event_id for j in decision.plan.missed] == ["far"]
    fine = decide_partner(partner(), fresh(), NOW, held(("ok", NEXT_MONTH, NOW)))
    assert (fine.slug, fine.due, fine.reason) == ("acme", False, "fresh: next event due in 6.0 h")
    assert [j.event.event_id for j in fine.plan.judged] == ["ok"]


def test_each_partner_is_decided_on_its_own_freshness_and_inputs() -> None:
    idle, busy_one = partner("idle"), partner("acme")
    idle_id = idle.id
    decisions = plan_incremental_runs(
        [idle, busy_one],
        {idle_id: fresh(events=4, future=0), "id-acme": fresh()},
        NOW,
        inputs={"id-acme": held(LATE_NEAR), idle_id: held(LATE_FAR)},
    )
    assert [(d.slug, d.due, d.due_events) for d in decisions] == [
        ("idle", False, None),
        ("acme", True, ("runsignup:near",)),
    ]


def test_the_tick_headline_and_skip_summary() -> None:
    due = [
        PartnerDecision("a", True, "x"),
        PartnerDecision("b", False, "y"),
        PartnerDecision("c", True, "z"),
    ]
    assert tick_headline(due) == "due: a, c"
    skipped = [
        PartnerDecision("a", False, "fresh: next event due in 5 min"),
        PartnerDecision("b", False, "inactive"),
        PartnerDecision("c", False, "fresh: nothing to sync"),
        PartnerDecision("d", False, "no future events (the nightly run looks for new ones)"),
    ]
    assert tick_headline(skipped) == "no partner due: 2 fresh, 1 inactive, 1 no future events"
    assert tick_headline([]) == "no partner due: no partners"
    assert skip_summary(skipped[:2]) == (
        "no partner due: 1 fresh, 1 inactive. a: fresh: next event due in 5 min; b: inactive"
    )
    many = [PartnerDecision(f"p{i}", False, "inactive " + "x" * 40) for i in range(40)]
    assert len(skip_summary(many)) == 1000 and len(skip_summary(many, limit=50)) == 50
