"""Dagster-glue fixtures: a partners file, a temporary Dagster instance, resources on the test
database, and helpers that write real events and watermarks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource

PARTNERS_YAML = """
partners:
  - id: 101
    slug: acme
    name: Acme Timing
    providers:
      runsignup:
        base_url: http://127.0.0.1:9/Rest
        api_key_env: P88_TEST_ACME_KEY
        api_secret_env: P88_TEST_ACME_SECRET
  - id: 102
    slug: bolt
    name: Bolt Racing
    sync_interval_minutes: 30
    providers:
      runsignup:
        base_url: http://127.0.0.1:9/Rest
        api_key_env: P88_TEST_BOLT_KEY
        api_secret_env: P88_TEST_BOLT_SECRET
  - id: 103
    slug: dormant
    name: Dormant Co
    active: false
    providers:
      runsignup:
        base_url: http://127.0.0.1:9/Rest
        api_key_env: P88_TEST_DORMANT_KEY
        api_secret_env: P88_TEST_DORMANT_SECRET
"""


@pytest.fixture
def partners_file(tmp_path: Path) -> Path:
    path = tmp_path / "partners.yaml"
    path.write_text(PARTNERS_YAML)
    return path


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def resources(db_url: str, partners_file: Path) -> dict[str, Any]:
    return {
        "partners": PartnersResource(partners_file=str(partners_file)),
        "warehouse": WarehouseResource(database_url=db_url),
        "sync_settings": SyncSettingsResource(),
    }


def add_partner(engine: sa.Engine, partner_id: str, slug: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO timing_partners (timing_partner_id, slug, name) "
                "VALUES (:id, :slug, :slug) ON CONFLICT DO NOTHING"
            ),
            {"id": partner_id, "slug": slug},
        )


def add_event(
    engine: sa.Engine,
    partner_id: str,
    event_id: str,
    start: datetime | None,
    *,
    watermark: datetime | None = None,
    provider: str = "runsignup",
    first_seen: datetime | None = None,
) -> None:
    """A stored event (and its watermark when given), as a finished sync leaves them."""
    add_partner(engine, partner_id, f"p{partner_id}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO provider_events (provider, timing_partner_id, event_id, race_id, "
                "name, start_time, timezone, raw, first_seen_at) VALUES (:provider, :partner, "
                ":event, 'r1', 'Race', :start, 'UTC', '{}', coalesce(:first_seen, now()))"
            ),
            {
                "provider": provider,
                "partner": partner_id,
                "event": event_id,
                "start": start,
                "first_seen": first_seen,
            },
        )
        if watermark is not None:
            set_watermark(conn, partner_id, event_id, watermark, provider)


def set_watermark(
    conn: sa.Connection,
    partner_id: str,
    event_id: str,
    watermark: datetime,
    provider: str = "runsignup",
) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO sync_watermarks (provider, timing_partner_id, event_id, watermark, "
            "last_sync_type) VALUES (:provider, :partner, :event, :wm, 'full') "
            "ON CONFLICT (provider, timing_partner_id, event_id) DO UPDATE SET watermark = :wm"
        ),
        {"provider": provider, "partner": partner_id, "event": event_id, "wm": watermark},
    )


@pytest.fixture
def sandbox_env(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, Path]]:
    from p88_sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_sandbox.server import SandboxServer
    from p88_sandbox.world import World

    world = World(seed=88, scale="tiny")
    with SandboxServer(world) as server:
        partners_file = tmp_path / "partners.yaml"
        partners_file.write_text(render_partners_yaml(world, server))
        for name, value in partner_environment(world).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("P88_PARTNERS_FILE", str(partners_file))
        monkeypatch.setenv("P88_DATABASE_URL", db_url)
        yield world, partners_file
