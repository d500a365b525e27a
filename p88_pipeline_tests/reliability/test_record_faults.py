"""Record faults: odd-but-valid values land exactly, invalid records are quarantined with the rest
of their page landing, and pages that shift while paging lose nothing by the next run."""

from __future__ import annotations

import json
from datetime import UTC, date, timedelta

import pytest
import sqlalchemy as sa

from p88_pipeline.sync import plan
from p88_pipeline_tests.reliability.support import (
    ACCOUNTS,
    assert_equals_truth,
    future_event_ids,
    served_faults,
    sync,
    watermarks,
)
from p88_sandbox.truth import compare_with_truth

COLUMNS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "bib": "bib",
    "chip": "chip",
    "team_name": "team",
    "dob": "dob",
}
REASONS = {
    "missing id": "missing registration_",
    "not an object": "object has no attribute",
    "impossible date of birth": "impossible or unrecognised date '1990-02-30'",
    "impossible registration date": "unrecognised date/time",
    "missing modification time": "missing ",
}


def stored(engine, provider: str, event_id: str, participant_id: str) -> sa.Row:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT *, jsonb_typeof(raw -> :key) AS id_type FROM participants "
                "WHERE provider = :p AND event_id = :e AND participant_id = :i"
            ),
            {
                "p": provider,
                "e": event_id,
                "i": participant_id,
                "key": "registration_id" if provider == "runsignup" else "registration_number",
            },
        ).one()


@pytest.mark.parametrize(("provider", "slug"), ACCOUNTS)
def test_odd_but_valid_records_are_stored_exactly(engine, sandbox, provider, slug) -> None:
    sandbox.server.inject(provider, slug, "odd_records", count=2)
    sync(engine, sandbox, slug, provider)
    oddities = sandbox.server.records.oddities
    # Two pages served odd (a page read past a short one may hold none): at least one page's worth.
    assert served_faults(sandbox, "odd_records") == 2 and len(oddities) >= 3
    assert_equals_truth(engine, sandbox, slug, provider)
    for odd in oddities:
        row = stored(engine, provider, odd.event_id, odd.participant_id)
        for field, value in odd.fields.items():
            if field == "chip" and provider == "haku":
                continue  # Haku has no chip number
            expected = date.fromisoformat(value) if field == "dob" else value
            expected = None if value is None else expected
            expected = str(expected) if field == "bib" and value is not None else expected
            assert getattr(row, COLUMNS[field]) == expected, (field, value)
        if odd.registered_at is not None:
            assert row.registered_at == odd.registered_at.astimezone(UTC)
        # raw is the record as served: RunSignUp sent these ids as strings, Haku as numbers.
        assert row.id_type == ("string" if provider == "runsignup" else "number")
        assert row.removed_at is None
    # The odd values are the world's now: later incremental syncs keep them exact.
    sandbox.world.advance(timedelta(days=1))
    figures = sync(engine, sandbox, slug, provider)
    assert set(figures.sync_types.values()) == {plan.INCREMENTAL}
    assert_equals_truth(engine, sandbox, slug, provider)


@pytest.mark.parametrize(("provider", "slug"), ACCOUNTS)
def test_invalid_records_are_quarantined_and_the_rest_of_the_page_lands(
    engine, sandbox, provider, slug
) -> None:
    # Small pages, so the quarantined records sit in full pages as well as in last ones.
    sandbox.server.inject(provider, slug, "invalid_records", count=100)
    figures = sync(engine, sandbox, slug, provider, page_size=7)
    invalid = sandbox.server.records.invalid
    # A Haku row without updated_at is data, not a reject (rule 8): the fake serves none.
    untimed_is_data = {"missing modification time"} if provider == "haku" else set()
    assert {i.problem for i in invalid} == set(REASONS) - untimed_is_data
    assert figures.status == "success" and figures.participants_rejected == len(invalid)
    partner = sandbox.partner(slug)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT provider, timing_partner_id, event_id, reason, raw FROM rejected_records "
                "ORDER BY id"
            )
        ).all()
    assert len(rows) == len(invalid)
    unmatched = [(i.event_id, i.record) for i in invalid]
    for row in rows:
        assert (row.provider, row.timing_partner_id) == (provider, partner.id)
        payload = json.loads(row.raw)  # the raw payload, as JSON, exactly as served
        assert (row.event_id, payload) in unmatched, row
        unmatched.remove((row.event_id, payload))
        problem = next(i.problem for i in invalid if i.record == payload)
        assert REASONS[problem] in row.reason
    assert_equals_truth(engine, sandbox, slug, provider)
    assert set(watermarks(engine, provider)) == set(future_event_ids(sandbox, slug, provider))


def test_unreadable_removal_records_are_quarantined_and_the_removals_land(engine, sandbox) -> None:
    """RunSignUp's removed-participants pages (read by incremental syncs) may carry a record no
    client can read: quarantined like a participants record, the rest of the page applied."""
    sync(engine, sandbox, "bravo")
    sandbox.world.advance(timedelta(days=1))
    sandbox.server.inject(
        "runsignup", "bravo", "invalid_records", count=100, path_contains="removed-participants"
    )
    figures = sync(engine, sandbox, "bravo")
    invalid = sandbox.server.records.invalid
    assert {i.problem for i in invalid} == {"missing id", "not an object"}
    assert set(figures.sync_types.values()) == {plan.INCREMENTAL}
    assert figures.status == "success" and figures.participants_rejected == len(invalid)
    assert figures.participants_removed > 0
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, reason, raw FROM rejected_records")).all()
    served = sorted((i.event_id, json.dumps(i.record, sort_keys=True)) for i in invalid)
    stored_rows = sorted((r.event_id, json.dumps(json.loads(r.raw), sort_keys=True)) for r in rows)
    assert stored_rows == served
    for row in rows:
        problem = "not an object" if isinstance(json.loads(row.raw), str) else "missing id"
        assert REASONS[problem] in row.reason
    assert_equals_truth(engine, sandbox, "bravo")


@pytest.mark.parametrize(
    ("provider", "slug"),
    [
        ("runsignup", "bravo"),
        ("haku", "alpha"),
    ],
)
def test_a_stored_registration_that_turns_invalid_is_kept_not_soft_deleted(
    engine, sandbox, provider, slug
) -> None:
    sync(engine, sandbox, slug, provider)
    event_id = future_event_ids(sandbox, slug, provider)[0]
    (_, pid), truth = next(iter(sandbox.world.truth(provider, slug, [event_id]).items()))
    # The provider now serves it with an impossible date of birth, modification time unchanged.
    sandbox.world.modify_participant(
        provider, event_id, pid, at=truth.modified_at, dob="1990-02-30"
    )
    figures = sync(engine, sandbox, slug, provider, policy=plan.SyncPolicy(force_full=True))
    assert figures.participants_rejected == 1 and figures.participants_removed == 0
    assert stored(engine, provider, event_id, pid).removed_at is None
    with engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT raw FROM rejected_records")).scalar()
    assert (
        str(
            json.loads(raw)["registration_id" if provider == "runsignup" else "registration_number"]
        )
        == pid
    )
    assert_equals_truth(engine, sandbox, slug, provider)


@pytest.mark.parametrize(("provider", "slug"), ACCOUNTS)
def test_pages_shifting_while_paging_lose_nothing_by_the_next_run(
    engine, sandbox, provider, slug
) -> None:
    world, changed = sandbox.world, set()

    def shift_between_pages(record) -> None:
        later_page = (
            "after_registration_id" in record.params or record.params.get("page", "1") != "1"
        )
        if not record.path.endswith("/participants") or not later_page or len(changed) >= 8:
            return
        event_id = record.params.get("event_id", record.path.split("/")[-2]).split(",")[0]
        active = sorted(
            int(p) for (_, p), t in world.truth(provider, slug, [event_id]).items() if not t.removed
        )
        read, unread = active[0], active[-1]  # keyset order: the first is read, the last is not
        reason = "cleared" if provider == "runsignup" else "cancelled"
        world.remove_participant(provider, event_id, read, reason)
        world.remove_participant(provider, event_id, unread, reason)
        world.modify_participant(provider, event_id, active[1], last_name="Shifted")
        changed.update(
            {str(read), str(unread), str(active[1]), world.add_participant(provider, event_id)}
        )

    sandbox.server.add_hook(shift_between_pages)
    sync(engine, sandbox, slug, provider, page_size=5)
    assert changed
    partner = sandbox.partner(slug)
    first = compare_with_truth(engine, world, provider, partner.id, slug, world.clock.now())
    # Registrations the shift did not touch are all there and exact, whatever moved around them.
    untouched = [k for k in (*first.missing, *first.stale, *first.extra) if k[1] not in changed]
    assert untouched == []
    sandbox.server.clear_hooks()
    sync(engine, sandbox, slug, provider, page_size=5)
    assert_equals_truth(engine, sandbox, slug, provider)


@pytest.mark.parametrize(("provider", "slug"), ACCOUNTS)
def test_the_shift_pages_fault_converges_on_the_next_run(engine, sandbox, provider, slug) -> None:
    sandbox.server.inject(provider, slug, "shift_pages", count=3)
    sync(engine, sandbox, slug, provider, page_size=5)
    assert sandbox.server.records.shifts >= 3
    sync(engine, sandbox, slug, provider, page_size=5)
    assert_equals_truth(engine, sandbox, slug, provider)


def test_a_night_of_one_removal_beside_unreadable_ones_is_stored_not_refused(
    engine, sandbox
) -> None:
    """Rule 8 counts what a read returned, removals included: an hour that brought an event one
    readable removal and two unreadable ones stored something, so it is committed (the
    guard refuses a read of which nothing was readable)."""
    sync(engine, sandbox, "bravo")
    world = sandbox.world
    world.clock.advance(timedelta(hours=1))  # an hour without change but for one removal
    event_id = future_event_ids(sandbox, "bravo")[0]
    race = world.event_state("runsignup", event_id).race_id
    world.remove_participant(
        "runsignup", event_id, world.active_ids(world.event_state("runsignup", event_id))[0]
    )
    sandbox.server.inject(
        "runsignup",
        "bravo",
        "invalid_records",
        count=1,
        path_contains=f"/race/{race}/removed-participants",
    )
    figures = sync(engine, sandbox, "bravo")
    assert figures.status == "success", figures.errors
    assert (figures.participants_removed, figures.participants_rejected) == (1, 2)
    assert_equals_truth(engine, sandbox, "bravo")
