"""Shared fixtures: a real PostgreSQL (embedded, or P88_TEST_DATABASE_URL) with a fresh migrated
database per test, and a tiny sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from p88_pipeline.config.partners import parse_partners
from p88_pipeline.warehouse.db import normalize_url
from p88_pipeline.warehouse.embedded import get_server
from p88_pipeline.warehouse.migrations import apply_migrations
from p88_pipeline_tests.helpers import Sandbox

_counter = itertools.count()


@pytest.fixture(autouse=True)
def no_shared_tokens() -> Iterator[None]:
    """Haku tokens are cached per process; tests must not see each other's (ports are reused)."""
    from p88_pipeline.providers.haku import tokens as haku

    haku._TOKEN_CACHE.clear()
    yield
    haku._TOKEN_CACHE.clear()


@pytest.fixture(autouse=True)
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Start lists of every sync job a test runs go to its own directory, not the checkout."""
    monkeypatch.setenv("P88_EXPORT_DIR", str(tmp_path / "exports"))
    return tmp_path / "exports"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """Admin URL of a PostgreSQL server for the whole session."""
    if os.environ.get("P88_TEST_DATABASE_URL"):
        yield normalize_url(os.environ["P88_TEST_DATABASE_URL"])
        return
    root = Path(tempfile.mkdtemp(prefix="p88-test-pg-"))
    server = get_server(root / "pgdata", cleanup_mode="delete")  # the xdist workers at once
    yield server.get_uri(database="postgres", driver="psycopg2")
    server.cleanup()  # deletes pgdata, not the directory made for it
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_tmp_path() -> Iterator[Path]:
    """A temporary directory an embedded server can live in. Not pytest's tmp_path: each pytest
    session on the machine chmods /tmp/pytest-of-root back to 0700, which locks out the server's
    own user (`pgserver`, since we run as root) in the middle of other sessions' tests."""
    path = Path(tempfile.mkdtemp(prefix="p88-server-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    """A migrated database that each test clones (CREATE DATABASE ... TEMPLATE is fast); dropped
    at the end, so sessions against a long-lived server (P88_TEST_DATABASE_URL, the mutation
    check's hundreds of sessions) leave nothing behind."""
    name = f"p88_template_{os.getpid()}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(database_url(pg_admin_url, name))
    apply_migrations(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def database_url(admin_url: str, name: str) -> str:
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def db_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """URL of a fresh, migrated database for this test only; dropped afterwards."""
    name = f"p88_test_{os.getpid()}_{next(_counter)}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    yield database_url(pg_admin_url, name)
    from p88_pipeline.warehouse.db import get_engine

    get_engine.cache_clear()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def dagster_pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for a Dagster instance's own storage."""
    name = f"p88_dagster_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield database_url(pg_admin_url, name)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    world = World(seed=88, scale="tiny")
    with SandboxServer(world) as server:
        env = partner_environment(world)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield Sandbox(world, server, parse_partners(render_partners_yaml(world, server)), env)
