"""The load targets' floor on a real PostgreSQL: taken on a settled database (what a load wrote
already vacuumed and analyzed, so autovacuum does not run beside the measurement)."""

from __future__ import annotations

import sqlalchemy as sa

from benchmarks.floor import copy_floor, settle

ROWS = 2000


def load(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO participants (provider, timing_partner_id, event_id, participant_id, "
                "modified_at, raw) SELECT 'runsignup', 'p1', 'e1', g::text, now(), "
                "jsonb_build_object('id', g) FROM generate_series(1, :rows) g"
            ),
            {"rows": ROWS},
        )


def table_state(engine: sa.Engine) -> tuple[int, int, float]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    "SELECT relpages, relallvisible, reltuples FROM pg_class "
                    "WHERE relname = 'participants' AND relkind = 'r'"
                )
            ).one()
        )


def test_settle_leaves_autovacuum_nothing_to_do_on_what_a_load_wrote(db_url, engine) -> None:
    load(engine)
    _, visible, tuples = table_state(engine)
    assert visible == 0 and tuples < ROWS  # freshly written: autovacuum would come for it
    settle(db_url)
    pages, visible, tuples = table_state(engine)
    assert visible == pages > 0  # vacuumed: every page all-visible
    assert tuples == ROWS
    with engine.connect() as conn:  # analyzed: the planner has column statistics
        stats = "SELECT count(*) FROM pg_stats WHERE tablename = 'participants'"
        assert conn.execute(sa.text(stats)).scalar_one() > 0


def test_copy_floor_measures_without_touching_participants(db_url, engine) -> None:
    load(engine)
    assert copy_floor(db_url, copies=3) > 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM participants")).scalar_one() == ROWS
