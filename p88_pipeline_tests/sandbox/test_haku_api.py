"""Haku over real HTTP: tokens, bare-token auth, events, paging caps, cancellations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from p88_pipeline_tests.sandbox.callers import Haku
from p88_sandbox.config import SandboxConfig
from p88_sandbox.server import SandboxServer
from p88_sandbox.world import World


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def future_event(world: World) -> str:
    now = world.clock.now()
    return next(
        e["event_id"] for e in reversed(world.events("haku", "alpha")) if e["start_time"] > now
    )


def test_token_needs_basic_credentials_and_client_credentials_grant(server, haku) -> None:
    answer = haku.fetch_token().json()
    assert answer["expires_in"] == 3600 and answer["access_token"] and answer["token_type"]
    wrong = requests.post(
        haku.token_url,
        auth=(haku.credentials[0], "nope"),
        data={"grant_type": "client_credentials"},
        timeout=5,
    )
    assert wrong.status_code == 401
    grant = requests.post(
        haku.token_url, auth=haku.credentials, data={"grant_type": "password"}, timeout=5
    )
    assert grant.status_code == 400


def test_api_wants_the_bare_token(haku) -> None:
    assert haku.get("/events").status_code == 200
    assert haku.get("/events", token=f"Bearer {haku.token}").status_code == 401
    assert haku.get("/events", token="garbage").status_code == 401


def test_tokens_expire_on_the_simulated_clock(world, haku) -> None:
    world.clock.advance(timedelta(seconds=3601))
    assert haku.get("/events").status_code == 401
    fresh = haku.fetch_token().json()["access_token"]
    assert haku.get("/events", token=fresh).status_code == 200


def test_events_bare_list_sorted_with_inactive_on_request(world, haku) -> None:
    events = haku.get(
        "/events",
        show_inactive="true",
        sort_column="event_date",
        sort_direction="desc",
        per_page=100,
    ).json()
    assert isinstance(events, list)
    truth = world.events("haku", "alpha")
    assert sorted(str(e["id"]) for e in events) == sorted(e["event_id"] for e in truth)
    starts = [datetime.fromisoformat(e["event_date"]) for e in events]
    assert starts == sorted(starts, reverse=True)
    assert {"name", "event_end_date", "status", "location_city", "timezone"} <= events[0].keys()
    active_only = haku.get("/events", per_page=100).json()
    assert len(active_only) < len(events)


def test_participants_full_read_equals_truth_and_cancelled_stay_listed(world, haku) -> None:
    world.advance(timedelta(days=1))
    haku.refresh()
    event_id = future_event(world)
    truth = world.truth("haku", "alpha", [event_id])
    rows, page = [], 1
    while True:
        got = haku.get(
            f"/events/{event_id}/participants",
            page=page,
            per_page=100,
            sort_column="updated_at",
            sort_direction="desc",
        ).json()
        rows += got
        if len(got) < 100:
            break
        page += 1
    assert {(event_id, r["registration_number"]) for r in rows} == truth.keys()
    stamps = [utc(r["updated_at"]) for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    for r in rows:
        t = truth[(event_id, r["registration_number"])]
        assert utc(r["updated_at"]) == t.modified_at and r["is_cancelled"] == t.removed
        assert r["person_full_name"] == f"{t.first_name} {t.last_name}"
        assert (r["cancelled_at"] is not None) == r["is_cancelled"]
    assert any(r["is_cancelled"] for r in rows)


def test_per_page_is_capped_and_another_partners_event_is_404() -> None:
    world = World(scale="small")
    config = SandboxConfig().set("haku", max_per_page=7)
    with SandboxServer(world, config=config) as server:
        slugs = [p.slug for p in world.partners if "haku" in p.providers]
        client = Haku(server, slugs[0])
        event = max(world.event_states("haku", slugs[0]), key=lambda e: e.base_count)
        got = client.get(f"/events/{event.event_id}/participants", per_page=500).json()
        assert len(got) == 7
        other = world.event_states("haku", slugs[1])[0].event_id
        assert client.get(f"/events/{other}/participants").status_code == 404


def test_updated_since_is_ignored_unless_enabled(world, haku) -> None:
    event_id = future_event(world)
    since = (world.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ignored = haku.get(f"/events/{event_id}/participants", per_page=100, updated_since=since)
    assert len(ignored.json()) > 0
    world2 = World(scale="tiny")
    with SandboxServer(world2, config=SandboxConfig().set("haku", updated_since=True)) as server:
        client = Haku(server, "alpha")
        before = world2.clock.now()
        world2.advance(timedelta(days=1))
        client.refresh()
        stamp = before.strftime("%Y-%m-%d %H:%M:%S")
        got = client.get(
            f"/events/{event_id}/participants", per_page=100, updated_since=stamp
        ).json()
        assert got and all(utc(r["updated_at"]) >= before.replace(microsecond=0) for r in got)
        assert len(got) < len(world2.truth("haku", "alpha", [event_id]))


def test_lists_can_come_wrapped_and_timestamps_iso() -> None:
    world = World(scale="tiny")
    config = SandboxConfig().set("haku", wrap_lists=True, timestamp_style="iso_z")
    with SandboxServer(world, config=config) as server:
        client = Haku(server, "alpha")
        body = client.get("/events", show_inactive="true").json()
        assert set(body) == {"data"}
        event_id = body["data"][0]["id"]
        rows = client.get(f"/events/{event_id}/participants").json()["data"]
        assert rows[0]["updated_at"].endswith("Z")
