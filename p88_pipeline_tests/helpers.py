"""Test helpers: the sandbox bundle, one partner's sync run as the assets run it, watermarks."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from p88_pipeline.config.partners import Partner, find_partner
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import RetryPolicy, Transport
from p88_pipeline.sync.engine import SyncScope, select_future, sync_events, sync_participants
from p88_pipeline.sync.figures import SyncFigures
from p88_pipeline.sync.plan import SyncPolicy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_ui(process: subprocess.Popen, port: int, log: Path, limit_s: float = 120) -> None:
    """Until the Dagster UI that `process` (`p88 dev`) serves answers, or fail with its log."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                return
        except requests.RequestException:
            time.sleep(1)
    pytest.fail(f"the UI never answered\n{log.read_text()[-3000:]}")


FAST_RETRY = RetryPolicy(attempts=4, backoff_s=0.01, backoff_max_s=0.05, timeout_s=(2.0, 5.0))


@dataclass
class Sandbox:
    world: object
    server: object
    partners: list[Partner]
    env: dict[str, str]

    def partner(self, slug: str) -> Partner:
        return find_partner(self.partners, slug)


def run_sync(
    engine: sa.Engine,
    sandbox: Sandbox,
    slug: str,
    policy: SyncPolicy | None = None,
    *,
    provider: str = "runsignup",
    partner: Partner | None = None,
    retry: RetryPolicy = FAST_RETRY,
    clients: list | None = None,
) -> SyncFigures:
    """Stages 1-3 exactly as the assets run them, on the sandbox's clock (`clients` collects
    the client, to look at what it learned)."""
    policy = policy or SyncPolicy()
    partner = partner or sandbox.partner(slug)
    clock = sandbox.world.clock.now
    client = build_client(partner, provider, transport=Transport(retry))
    if clients is not None:
        clients.append(client)
    events = sync_events(engine, client, partner, policy.grace)
    _, future = select_future(engine, provider, partner, clock(), policy)
    figures = sync_participants(SyncScope(engine, client, partner), future, policy, clock)
    figures.events_total = events.events_total
    figures.api_calls += events.api_calls
    return figures


def watermarks(engine: sa.Engine, provider: str = "runsignup") -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT event_id, watermark, last_sync_type FROM sync_watermarks "
                "WHERE provider = :p"
            ),
            {"p": provider},
        )
        return {r.event_id: (r.watermark, r.last_sync_type) for r in rows}


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it: pacing without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def most_calls_in_window(times: list[float], window: float) -> int:
    """The most calls inside any trailing window: what a provider's rolling quota sees."""
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best
