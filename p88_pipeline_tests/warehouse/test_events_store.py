"""timing_partners and provider_events: registered by several runs at once without a conflict;
events that go, come back, and refuse the partner (rule 9)."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from p88_pipeline.providers.base import Event
from p88_pipeline.warehouse.events import (
    PartnerRow,
    clear_inaccessible,
    load_events,
    mark_inaccessible,
    retire_missing,
    upsert_events,
    upsert_partner,
)

ROUNDS = 60
WRITERS = 4


def test_a_new_partner_registered_by_parallel_runs_at_once_is_no_unique_violation(
    engine: sa.Engine,
) -> None:
    # Two syncs of one new partner (two providers in one run, or two processes) both insert its
    # row. With two UNIQUE keys (id, slug) and ON CONFLICT on one, the loser's slug check used
    # to raise UniqueViolation: the "SQLAlchemy traceback" of the flaky crash-resume test.
    errors: list[BaseException] = []
    for round_no in range(ROUNDS):
        barrier = threading.Barrier(WRITERS)

        def register(round_no: int = round_no, barrier: threading.Barrier = barrier) -> None:
            try:
                with engine.begin() as conn:
                    barrier.wait()
                    row = PartnerRow(f"p{round_no}", f"slug-{round_no}", "P", True, ["x"])
                    upsert_partner(conn, row)
            except Exception as exc:  # noqa: BLE001 (collected, asserted below)
                errors.append(exc)

        threads = [threading.Thread(target=register) for _ in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM timing_partners")).scalar() == ROUNDS


def event(event_id: str) -> Event:
    return Event("runsignup", event_id, "r1", "E", None, None, "UTC")


def test_events_go_and_come_back_and_a_refusal_is_retried_only_after_an_absence(
    engine: sa.Engine,
) -> None:
    with engine.begin() as conn:
        upsert_partner(conn, PartnerRow("101", "acme", "Acme", True, ["runsignup"]))

    def listed(*ids: str) -> list[str]:
        with engine.begin() as conn:
            upsert_events(conn, "101", [event(i) for i in ids])
            retire_missing(conn, "runsignup", "101", list(ids))
            return [e.event_id for e in load_events(conn, "runsignup", "101")]

    assert listed("a", "b", "c") == ["a", "b", "c"]
    with engine.begin() as conn:
        mark_inaccessible(conn, "runsignup", "101", ["c"], "permission denied")
    assert listed("a", "c") == ["a"]  # b gone; c still listed, still refused
    assert listed("a", "b") == ["a", "b"]  # b is back; c gone
    assert listed("a", "b", "c") == ["a", "b", "c"]  # c offered again: retried
    with engine.begin() as conn:
        mark_inaccessible(conn, "runsignup", "101", ["b", "c"], "permission denied")
        clear_inaccessible(conn, "runsignup", "101", ["a", "c"])  # a and c read: c unmarked
        refused = conn.execute(
            sa.text("SELECT event_id, inaccessible_reason FROM provider_events ORDER BY 1")
        ).all()
        assert [tuple(r) for r in refused] == [("a", None), ("b", "permission denied"), ("c", None)]
        assert [e.event_id for e in load_events(conn, "runsignup", "101")] == ["a", "c"]
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM provider_events")).scalar()
    assert stored == 3  # nothing is ever deleted
