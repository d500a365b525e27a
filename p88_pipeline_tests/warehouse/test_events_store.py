"""timing_partners and provider_events: registered by several runs at once without a conflict."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from p88_pipeline.warehouse.events import upsert_partner

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
                    upsert_partner(conn, f"p{round_no}", f"slug-{round_no}", "P", True, ["x"])
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
