"""A database for a command that must not touch the warehouse: the one given, or a throwaway
embedded PostgreSQL deleted afterwards (`p88 soak`, `p88 soak --race-week`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def throwaway_engine(database_url: str | None) -> Iterator[sa.Engine]:
    """The given database, or a throwaway embedded one deleted afterwards; migrated."""
    from p88_pipeline.warehouse.db import normalize_url
    from p88_pipeline.warehouse.migrations import prepare_warehouse

    server = None
    if database_url is None:
        import tempfile
        from pathlib import Path

        from p88_pipeline.warehouse.embedded import get_server

        root = Path(tempfile.mkdtemp(prefix="p88-soak-"))
        server = get_server(root / "pgdata", cleanup_mode="delete")
        database_url = server.get_uri(database="postgres", driver="psycopg2")
    engine = sa.create_engine(normalize_url(database_url))
    try:
        prepare_warehouse(engine)
        yield engine
    finally:
        engine.dispose()
        if server is not None:
            server.cleanup()
            shutil.rmtree(root, ignore_errors=True)  # the server deletes pgdata, not its parent
