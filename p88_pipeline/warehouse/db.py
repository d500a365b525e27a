"""Connections to the warehouse: P88_DATABASE_URL in production, the embedded server otherwise."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa

from p88_pipeline.settings import ConfigurationError, Settings, load_settings
from p88_pipeline.warehouse.embedded import embedded_url


def normalize_url(url: str) -> str:
    """SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3; we ship psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


DRIVER = "postgresql+psycopg2"
URL_FORM = f"{DRIVER}://USER:PASSWORD@HOST:5432/DATABASE"


class DatabaseUrlError(ConfigurationError):
    """P88_DATABASE_URL is no URL p88 can connect with (a configuration error: exit 2)."""

    exit_code = 2


def checked_url(url: str, setting: str = "P88_DATABASE_URL") -> str:
    """The URL normalized, or a one-line refusal that never echoes it (it may hold a password)."""
    url = normalize_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise DatabaseUrlError(f"{setting} is not a URL; expected {URL_FORM}") from None
    if parsed.drivername != DRIVER:
        raise DatabaseUrlError(
            f"{setting} has the scheme {parsed.drivername}://; p88 stores in PostgreSQL through "
            f"psycopg2: {URL_FORM}"
        )
    return url


def resolve_database_url(settings: Settings | None = None) -> str:
    settings = settings or load_settings()
    if settings.database_url:
        return checked_url(settings.database_url)
    return embedded_url(settings.pgdata, database="p88")


@lru_cache(maxsize=8)
def get_engine(url: str) -> sa.Engine:
    """One pooled engine per URL per process (Dagster steps in one process share it)."""
    return sa.create_engine(normalize_url(url), pool_pre_ping=True, future=True)


def redact_url(url: str) -> str:
    """A URL safe for logs and errors: the password replaced."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def unreachable(exc: BaseException) -> str:
    """The one line for a warehouse that does not answer: the driver's own first line."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = (text.splitlines() or [type(exc).__name__])[0][:300]
    return (
        f"the database is unreachable: {first}; check P88_DATABASE_URL "
        "(unset: the embedded one, `p88 db status`)"
    )
