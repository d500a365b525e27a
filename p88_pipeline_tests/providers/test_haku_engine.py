"""Haku's own conventions through the engine, over the stub (the rules: sync/test_rules.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from p88_pipeline.config.partners import Partner, parse_partners
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import Transport
from p88_pipeline.sync import plan
from p88_pipeline.sync.engine import (
    LoadOptions,
    SyncScope,
    select_future,
    sync_events,
    sync_participants,
    utc_now,
)
from p88_pipeline.sync.figures import SyncFigures
from p88_pipeline_tests.helpers import FAST_RETRY, watermarks
from p88_pipeline_tests.providers.haku_stub import HakuStub, registration, stamp

FUTURE, PAST = "801", "802"
PARTNERS = """
partners:
  - id: "501"
    slug: acme
    name: Acme Timing
    providers:
      haku:
        base_url: {base}
        token_url: {token}
        client_id_env: ACME_HAKU_ID
        client_secret_env: ACME_HAKU_SECRET
        page_size: 2
{extra}"""


@pytest.fixture
def stub() -> Iterator[HakuStub]:
    now = datetime.now(UTC).replace(microsecond=0)
    with HakuStub() as stub:
        stub.events = [
            {
                "id": FUTURE,
                "name": "Summer Half",
                "event_date": (now + timedelta(days=30)).isoformat(),
                "status": "active",
            },
            {
                "id": PAST,
                "name": "Winter 5K",
                "event_date": stamp(now - timedelta(days=60)),
                "status": "inactive",
            },
        ]
        # Nine registrations, updated 1..9 hours ago; number 3 was cancelled.
        rows = [registration(i, now - timedelta(hours=i + 1)) for i in range(9)]
        rows[3].update(is_cancelled=True, cancelled_at=stamp(now - timedelta(hours=4, minutes=5)))
        stub.participants[FUTURE] = rows
        stub.participants[PAST] = [registration(100, now - timedelta(days=61))]
        yield stub


def acme(stub: HakuStub, extra: str = "") -> tuple[Partner, dict[str, str]]:
    text = PARTNERS.format(base=stub.base_url, token=stub.token_url, extra=extra)
    env = {"ACME_HAKU_ID": stub.client_id, "ACME_HAKU_SECRET": stub.client_secret}
    return parse_partners(text)[0], env


def run(engine: sa.Engine, stub: HakuStub, extra: str = "") -> SyncFigures:
    """Stages 1-3 as the assets run them."""
    partner, env = acme(stub, extra)
    policy = plan.SyncPolicy()
    client = build_client(partner, "haku", environ=env, transport=Transport(FAST_RETRY))
    events = sync_events(engine, client, partner)
    _, future = select_future(engine, "haku", partner, utc_now(), policy)
    figures = sync_participants(SyncScope(engine, client, partner), future, policy)
    figures.api_calls += events.api_calls
    return figures


def rows(engine: sa.Engine) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        result = conn.execute(
            sa.text(
                "SELECT * FROM participants WHERE provider = 'haku' AND timing_partner_id = '501'"
            )
        )
        return {r.participant_id: r for r in result}


def test_full_then_incremental_sync_of_a_haku_partner(engine, stub) -> None:
    first = run(engine, stub)
    assert first.sync_types == {FUTURE: plan.FULL}
    # the past event costs no call
    assert {r.path for r in stub.requests_to("/participants")} == {
        f"/api/events/{FUTURE}/participants"
    }
    assert len(stub.requests_to("/participants")) == 5  # 9 rows, 2 a page
    # token, 1 events page (newest first, it ends with the past event: no later page can hold
    # a future one), 5 participants pages
    assert first.api_calls == len(stub.log) == 1 + 1 + 5
    stored = rows(engine)
    assert sorted(stored, key=int) == [str(i) for i in range(9)]
    cancelled_at = datetime.strptime(
        stub.participants[FUTURE][3]["cancelled_at"], "%Y-%m-%d %H:%M:%S"
    ).replace(tzinfo=UTC)
    assert stored["3"].removed_at == cancelled_at and stored["3"].removed_reason == "cancelled"
    assert all(r.removed_at is None for k, r in stored.items() if k != "3")
    assert stored["0"].first_name == "First0" and stored["0"].amount_paid == Decimal("55.50")
    first_marks = watermarks(engine, "haku")
    assert {e: t for e, (_, t) in first_marks.items()} == {FUTURE: plan.FULL}
    assert first_marks[FUTURE][0].tzinfo is not None
    assert first_marks[FUTURE][0] <= datetime.now(UTC)

    # Overnight: registration 5 changes its name, registration 6 cancels.
    changed = datetime.now(UTC)
    stub.participants[FUTURE][5].update(
        person_full_name="Renamed Runner", updated_at=stamp(changed)
    )
    stub.participants[FUTURE][6].update(
        is_cancelled=True, cancelled_at=stamp(changed), updated_at=stamp(changed)
    )
    stub.log.clear()
    second = run(engine, stub)
    assert second.sync_types == {FUTURE: plan.INCREMENTAL}
    # Newest first: page 1 holds both changes, page 2 the first older record: stop there.
    assert [r.params["page"] for r in stub.requests_to("/participants")] == ["1", "2"]
    assert second.participants_upserted == 2
    # The token of the first run is still valid and reused (process-wide cache): no token call;
    # one events page (it ends in the past), two participants pages.
    assert second.api_calls == len(stub.log) == 1 + 2
    stored = rows(engine)
    assert (stored["5"].first_name, stored["5"].last_name) == ("Renamed", "Runner")
    assert stored["6"].removed_reason == "cancelled" and stored["6"].removed_at is not None
    assert stored["3"].removed_at == cancelled_at  # untouched
    second_marks = watermarks(engine, "haku")
    assert second_marks[FUTURE][1] == plan.INCREMENTAL
    assert second_marks[FUTURE][0] >= first_marks[FUTURE][0]


def test_the_old_table_name_is_a_view_over_participants(engine, stub) -> None:
    run(engine, stub)
    with engine.connect() as conn:
        view = conn.execute(
            sa.text(
                "SELECT * FROM haku_participants WHERE registration_number IN ('0', '3') "
                "ORDER BY registration_number"
            )
        ).all()
    zero, three = view
    assert (zero.person_full_name, zero.is_cancelled, zero.team_name) == (
        "First0 Last0",
        False,
        "Team 0",
    )
    assert three.is_cancelled and three.cancelled_at is not None
    assert (three.timing_partner_id, three.event_id, three.transaction_amount) == (
        "501",
        FUTURE,
        Decimal("55.50"),
    )


def test_one_group_at_a_time_reads_race_after_race_and_the_run_times_itself(
    engine, sandbox
) -> None:
    """LoadOptions.parallel_groups is how many races are read at once (the benchmarks' old
    strategies use 1); duration_s is the stage's own wall time. (Haku: a race per event.)"""
    partner = sandbox.partner("alpha")
    account = replace(partner.accounts["haku"], page_size=5)  # several pages per race
    partner = replace(partner, accounts={"haku": account})
    client = build_client(partner, "haku", transport=Transport(FAST_RETRY))
    first = sync_events(engine, client, partner)
    again = sync_events(engine, client, partner)  # the same client: each stage counts its own
    assert first.api_calls > 0 and again.api_calls == client.calls - first.api_calls
    policy = plan.SyncPolicy()
    _, future = select_future(engine, "haku", partner, sandbox.world.clock.now(), policy)
    sandbox.server.reset_log()
    calls_before = client.calls
    started = time.monotonic()
    figures = sync_participants(
        SyncScope(engine, client, partner),
        future,
        policy,
        sandbox.world.clock.now,
        LoadOptions(parallel_groups=1),
    )
    took = time.monotonic() - started
    assert 0 < figures.duration_s <= took + 0.01
    races = [
        r.path.split("/events/")[1].split("/")[0]
        for r in sandbox.server.log
        if r.path.endswith("/participants")
    ]
    runs = [race for i, race in enumerate(races) if i == 0 or races[i - 1] != race]
    assert len(runs) == len(set(races)) >= 2, "each race read whole before the next"
    assert figures.events_synced == len(future)
    assert figures.api_calls == client.calls - calls_before == len(sandbox.server.log)
    # what the participants lists taught is kept under their endpoint's name (the events list
    # may teach nothing: it stops at the first page that ends past the cutoff)
    assert "participants" in figures.page_caps
