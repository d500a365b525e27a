"""Rule 9: events have a lifecycle. An event missing from a complete events list is gone (kept,
not synced); a race that refuses the partner is failed once, then skipped; the partner's other
races keep syncing (issue 13: a partner pointed at another partner's keys, then fixed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from p88_pipeline.providers.base import AuthError, Event
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import Transport
from p88_pipeline.providers.timeparse import EASTERN
from p88_pipeline.sync.engine import SyncScope, select_future, sync_participants
from p88_pipeline.sync.figures import SyncFailedError
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline.warehouse.events import upsert_events
from p88_pipeline_tests.helpers import FAST_RETRY
from p88_pipeline_tests.reliability.support import assert_equals_truth, future_event_ids, sync


def event_states(engine: sa.Engine, provider: str, partner_id: str) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT event_id, gone_at IS NOT NULL AS gone, inaccessible_at IS NOT NULL AS "
                "refused FROM provider_events WHERE provider = :p AND timing_partner_id = :t"
            ),
            {"p": provider, "t": partner_id},
        )
        return {r.event_id: (r.gone, r.refused) for r in rows}


def stored_participants(engine: sa.Engine, partner_id: str, event_ids: set[str]) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM participants WHERE timing_partner_id = :t "
                "AND event_id = ANY(:e)"
            ),
            {"t": partner_id, "e": list(event_ids)},
        ).scalar()


def test_a_partner_pointed_at_another_partners_keys_then_fixed(
    engine, sandbox, monkeypatch
) -> None:
    alpha, bravo = sandbox.partner("alpha"), sandbox.partner("bravo")
    envs = alpha.accounts["runsignup"].credential_envs
    for name, bravo_var in bravo.accounts["runsignup"].credential_envs.items():
        monkeypatch.setenv(envs[name], sandbox.env[bravo_var])  # the wrong keys
    sync(engine, sandbox, "alpha")
    wrong = set(future_event_ids(sandbox, "bravo"))
    assert wrong <= set(event_states(engine, "runsignup", alpha.id))
    kept = stored_participants(engine, alpha.id, wrong)
    assert kept > 0

    for var in envs.values():
        monkeypatch.setenv(var, sandbox.env[var])  # fixed
    sandbox.server.reset_log()
    figures = sync(engine, sandbox, "alpha")  # succeeds: no "permission denied" on bravo's races
    states = event_states(engine, "runsignup", alpha.id)
    bravo_events = {str(e["event_id"]) for e in sandbox.world.events("runsignup", "bravo")}
    # every bravo event the wrong keys stored is gone (past races are not listed: start_date)
    assert {e for e, (gone, _) in states.items() if gone} == bravo_events & set(states) != set()
    assert set(figures.sync_types) == set(future_event_ids(sandbox, "alpha"))
    bravo_races = {str(e["race_id"]) for e in sandbox.world.events("runsignup", "bravo")}
    assert not [r for r in sandbox.server.log if any(f"/race/{x}/" in r.path for x in bravo_races)]
    assert stored_participants(engine, alpha.id, wrong) == kept  # history kept
    assert_equals_truth(engine, sandbox, "alpha")


def test_a_race_refusing_the_partner_fails_once_is_skipped_then_retried_by_a_full_sync(
    engine, sandbox
) -> None:
    sync(engine, sandbox, "bravo")
    events = sandbox.world.events("runsignup", "bravo")
    future = set(future_event_ids(sandbox, "bravo"))
    race = next(str(e["race_id"]) for e in events if str(e["event_id"]) in future)
    refused = {str(e["event_id"]) for e in events if str(e["race_id"]) == race}
    sandbox.server.inject(
        "runsignup",
        "bravo",
        "error_in_array",
        count=1000,
        error_code=7,
        path_contains=f"/race/{race}/participants",
    )
    with pytest.raises(SyncFailedError, match=f"race {race}.*marked inaccessible") as failed:
        sync(engine, sandbox, "bravo")
    assert "RunSignUp error 7" in str(failed.value)
    assert failed.value.figures.events_synced == len(future - refused) > 0  # the others synced
    bravo = sandbox.partner("bravo")
    states = event_states(engine, "runsignup", bravo.id)
    assert {e for e, (_, r) in states.items() if r} == refused
    sandbox.server.reset_log()
    again = sync(engine, sandbox, "bravo")  # skipped: no failure, no alert, no call
    assert again.status == "success" and set(again.sync_types) == future - refused
    assert not [r for r in sandbox.server.log if f"/race/{race}/" in r.path]

    # The partner is given the race again: a forced full sync (`full_refresh`) retries it, and
    # once it reads, later runs sync it again: the mark is cleared with the race's watermark.
    sandbox.server.reset_faults()
    forced = sync(engine, sandbox, "bravo", policy=SyncPolicy(force_full=True))
    assert forced.status == "success" and set(forced.sync_types) == future
    assert not any(r for _, r in event_states(engine, "runsignup", bravo.id).values())
    sandbox.server.reset_log()
    after = sync(engine, sandbox, "bravo")
    assert set(after.sync_types) == future
    assert [r for r in sandbox.server.log if f"/race/{race}/" in r.path]
    assert_equals_truth(engine, sandbox, "bravo")


def test_error_7_on_the_races_list_is_the_credentials_not_a_race(engine, sandbox) -> None:
    sandbox.server.inject("runsignup", "bravo", "error_in_array", count=1000, error_code=7)
    with pytest.raises(AuthError):
        sync(engine, sandbox, "bravo")


def test_a_haku_event_answering_404_is_marked_inaccessible_the_others_sync(engine, sandbox) -> None:
    alpha = sandbox.partner("alpha")
    sync(engine, sandbox, "alpha", "haku")
    with engine.begin() as conn:  # an event the account no longer reaches (moved, deleted)
        conn.execute(
            sa.text(
                "INSERT INTO provider_events (provider, timing_partner_id, event_id, race_id, "
                "name, start_time, timezone, raw) SELECT provider, timing_partner_id, '999999', "
                "'999999', 'Moved', start_time, timezone, raw FROM provider_events "
                "WHERE provider = 'haku' AND timing_partner_id = :t AND event_id = :e"
            ),
            {"t": alpha.id, "e": future_event_ids(sandbox, "alpha", "haku")[0]},
        )
    client = build_client(alpha, "haku", transport=Transport(FAST_RETRY))
    now, policy = sandbox.world.clock.now(), SyncPolicy()
    _, future = select_future(engine, "haku", alpha, now, policy)
    with pytest.raises(SyncFailedError, match="race 999999.*HTTP 404"):
        sync_participants(SyncScope(engine, client, alpha), future, policy, sandbox.world.clock.now)
    _, future = select_future(engine, "haku", alpha, now, policy)
    assert "999999" not in {e.event_id for e in future} and future
    figures = sync_participants(
        SyncScope(engine, client, alpha), future, policy, sandbox.world.clock.now
    )
    assert figures.status == "success"
    assert_equals_truth(engine, sandbox, "alpha", "haku")


def test_a_past_race_left_out_by_start_date_is_not_gone(engine, sandbox) -> None:
    """/races?start_date= lists races from (today - the run's grace) on: a past race stored
    earlier is not in it and must not be marked gone; a future event missing from it still is."""
    alpha = sandbox.partner("alpha")
    now = sandbox.world.clock.now()
    sync(engine, sandbox, "alpha")

    def stored(event_id: str, start) -> Event:
        return Event("runsignup", event_id, event_id, "Stored 5K", start, None, "America/Chicago")

    with engine.begin() as conn:
        upsert_events(
            conn,
            alpha.id,
            [
                stored("999001", now - timedelta(days=10)),
                stored("999002", now + timedelta(days=30)),
            ],
        )
    sandbox.server.reset_log()
    sync(engine, sandbox, "alpha", policy=SyncPolicy(grace=timedelta(days=5)))
    states = event_states(engine, "runsignup", alpha.id)
    assert states["999001"] == (False, False)  # past: outside the list's window, kept as it was
    assert states["999002"] == (True, False)  # future and unlisted: gone
    races = [r for r in sandbox.server.log if r.path.lower().endswith("/races")]
    day = (now.astimezone(EASTERN) - timedelta(days=5)).date().isoformat()
    assert races and {r.params["start_date"] for r in races} == {day}  # the run's grace
    sync(engine, sandbox, "alpha")  # the next run too
    assert event_states(engine, "runsignup", alpha.id)["999001"] == (False, False)
    assert_equals_truth(engine, sandbox, "alpha")
