"""Numbered, idempotent DDL (the repository's `sql/`, shipped as package data through the link
`warehouse/sql`), applied once each and recorded; plus the constraint check that refuses to sync
into a table whose ON CONFLICT target has no UNIQUE constraint."""

from __future__ import annotations

import logging
from importlib import resources
from importlib.resources.abc import Traversable

import sqlalchemy as sa

log = logging.getLogger(__name__)

MIGRATION_LOCK_ID = 88_000_001

# Every ON CONFLICT target the pipeline uses: (table, columns).
REQUIRED_UNIQUE_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("timing_partners", ("timing_partner_id",)),
    ("provider_events", ("provider", "timing_partner_id", "event_id")),
    ("participants", ("provider", "timing_partner_id", "event_id", "participant_id")),
    ("sync_watermarks", ("provider", "timing_partner_id", "event_id")),
    ("sync_runs", ("run_id", "provider", "timing_partner_id")),
    ("page_caps", ("provider", "timing_partner_id", "endpoint")),
    ("events_list_reads", ("provider", "timing_partner_id")),
)


class SchemaError(RuntimeError):
    """The warehouse schema cannot support a safe sync."""


def migration_files() -> list[Traversable]:
    """The package's migrations in order (read through importlib.resources: a wheel has no sql/
    directory beside it)."""
    directory = resources.files("p88_pipeline.warehouse") / "sql"
    return sorted(
        (f for f in directory.iterdir() if f.name.endswith(".sql") and f.name[:3].isdigit()),
        key=lambda f: f.name,
    )


def apply_migrations(engine: sa.Engine) -> list[str]:
    """Apply pending migrations in order; return the versions applied now.

    An advisory lock serialises concurrent starters (parallel partner runs all call this).
    """
    applied_now: list[str] = []
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
        done = set(conn.execute(sa.text("SELECT version FROM schema_migrations")).scalars())
        for path in migration_files():
            version = path.name.removesuffix(".sql")
            if version in done:
                continue
            conn.exec_driver_sql(path.read_text())
            conn.execute(
                sa.text("INSERT INTO schema_migrations (version) VALUES (:v)"), {"v": version}
            )
            applied_now.append(version)
            log.info("applied migration %s", version)
    return applied_now


def pending_migrations(engine: sa.Engine) -> list[str]:
    """The package's migrations not recorded as applied (all of them on an empty database)."""
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass('schema_migrations')")).scalar() is None:
            done: set[str] = set()
        else:
            done = set(conn.execute(sa.text("SELECT version FROM schema_migrations")).scalars())
    return [f.name.removesuffix(".sql") for f in migration_files() if f.name[:-4] not in done]


def missing_unique_keys(engine: sa.Engine) -> list[str]:
    """The required ON CONFLICT targets that have no UNIQUE constraint or unique index."""
    query = sa.text(
        """
        SELECT t.relname AS table_name,
               array_agg(a.attname::text ORDER BY a.attname) AS columns
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey)
        WHERE i.indisunique AND i.indpred IS NULL
        GROUP BY i.indexrelid, t.relname
        """
    )
    with engine.connect() as conn:
        present = {(row.table_name, tuple(row.columns)) for row in conn.execute(query)}
    return [
        f"{table} ({', '.join(columns)})"
        for table, columns in REQUIRED_UNIQUE_KEYS
        if (table, tuple(sorted(columns))) not in present
    ]


def check_schema(engine: sa.Engine) -> None:
    missing = missing_unique_keys(engine)
    if missing:
        raise SchemaError(
            "refusing to sync: no UNIQUE constraint behind the ON CONFLICT upsert on "
            + "; ".join(missing)
            + ". Every upsert into these tables would fail (the old Haku branch stored nothing"
            " for this reason). Restore the constraint or re-create the table (p88 migrate)."
        )


def prepare_warehouse(engine: sa.Engine) -> None:
    """Migrate, then verify: what every entry point calls before it writes."""
    apply_migrations(engine)
    check_schema(engine)
