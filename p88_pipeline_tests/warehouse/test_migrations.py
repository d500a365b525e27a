"""Migrations apply once and are recorded; a missing UNIQUE constraint stops the pipeline."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from p88_pipeline.settings import PROJECT_ROOT
from p88_pipeline.warehouse.migrations import (
    SchemaError,
    apply_migrations,
    check_schema,
    migration_files,
)


def test_the_migrations_are_the_repositorys_sql_files_one_copy() -> None:
    """sql/ at the top is their one home; the package reads the same files through its link."""
    top = sorted((PROJECT_ROOT / "sql").glob("*.sql"))
    assert top and [f.name for f in migration_files()] == [p.name for p in top]
    assert all(
        Path(str(f)).resolve() == p.resolve() for f, p in zip(migration_files(), top, strict=True)
    )


def test_migrations_are_recorded_and_idempotent(engine: sa.Engine) -> None:
    assert apply_migrations(engine) == []  # the template already applied them
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM schema_migrations"))
    # Re-applying every file over existing tables is harmless (IF NOT EXISTS / OR REPLACE).
    assert apply_migrations(engine) == [p.name.removesuffix(".sql") for p in migration_files()]
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_migrations")).scalars().all()
    assert sorted(versions) == [p.name.removesuffix(".sql") for p in migration_files()]
    check_schema(engine)


def test_constraint_check_refuses_a_table_without_its_unique_key(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE participants DROP CONSTRAINT participants_key"))
    with pytest.raises(SchemaError) as caught:
        check_schema(engine)
    message = str(caught.value)
    assert "participants (provider, timing_partner_id, event_id, participant_id)" in message
    assert "ON CONFLICT" in message


def test_a_unique_index_counts_as_the_constraint(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE sync_watermarks DROP CONSTRAINT sync_watermarks_key"))
        conn.execute(
            sa.text(
                "CREATE UNIQUE INDEX wm_key ON sync_watermarks "
                "(event_id, provider, timing_partner_id)"
            )
        )
    check_schema(engine)
