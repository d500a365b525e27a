"""Connections to the warehouse: P88_DATABASE_URL in production, the embedded server otherwise."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa

from p88_pipeline.settings import Settings, load_settings
from p88_pipeline.warehouse.embedded import embedded_url


def normalize_url(url: str) -> str:
    """SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3; we ship psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def resolve_database_url(settings: Settings | None = None) -> str:
    settings = settings or load_settings()
    if settings.database_url:
        return normalize_url(settings.database_url)
    return embedded_url(settings.pgdata, database="p88")


@lru_cache(maxsize=8)
def get_engine(url: str) -> sa.Engine:
    """One pooled engine per URL per process (Dagster steps in one process share it)."""
    return sa.create_engine(normalize_url(url), pool_pre_ping=True, future=True)


def redact_url(url: str) -> str:
    """A URL safe for logs and errors: the password replaced."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)
