"""RunSignUp over real HTTP: shapes, paging, the inclusive filter, and errors in 200 bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests

from p88_pipeline_tests.sandbox.callers import RunSignUp, future_race
from p88_sandbox.config import SandboxConfig
from p88_sandbox.server import SandboxServer
from p88_sandbox.world import World


def records(blocks: list[dict]) -> list[dict]:
    return [r for b in blocks for r in b["participants"]]


def test_races_are_double_nested_with_events_in_the_race_zone(world, rsu) -> None:
    response = rsu.get("/races", events="T", only_partner_races="T", results_per_page=1000)
    assert response.status_code == 200
    assert "\\/" in response.text  # PHP-style escaped slashes
    races = [item["race"] for item in response.json()["races"]]
    truth = {e["event_id"]: e for e in world.events("runsignup", "alpha")}
    served = {str(e["event_id"]): (race, e) for race in races for e in race["events"]}
    assert served.keys() == truth.keys()
    for event_id, (race, event) in served.items():
        assert race["is_registration_open"] in ("T", "F")
        assert len(race["next_date"]) == 10 and race["next_date"][2] == "/"
        local = datetime.strptime(event["start_time"], "%m/%d/%Y %H:%M")
        zone = truth[event_id]["start_time"].astimezone(
            __import__("zoneinfo").ZoneInfo(race["timezone"])
        )
        assert local == zone.replace(tzinfo=None)
        assert {
            "race_event_days_id",
            "registration_opens",
            "event_type",
            "distance",
            "registration_periods",
            "end_time",
        } <= event.keys()


def test_races_paging_and_partner_filter(server, rsu) -> None:
    own = rsu.get("/races", only_partner_races="T", results_per_page=1000).json()["races"]
    everyone = rsu.get("/races", results_per_page=1000).json()["races"]
    assert len(everyone) > len(own) >= 2
    first = rsu.get("/races", only_partner_races="T", results_per_page=1, page=1).json()["races"]
    second = rsu.get("/races", only_partner_races="T", results_per_page=1, page=2).json()["races"]
    assert len(first) == len(second) == 1 and first != second
    assert "events" not in first[0]["race"]
    past = rsu.get("/races", only_partner_races="T", page=99).json()
    assert past == {"races": []}


def test_participants_top_level_array_one_block_per_event(world, rsu) -> None:
    race_id, event_ids = future_race(world)
    blocks = rsu.participants(race_id, ",".join(event_ids), results_per_page=2500)
    assert [str(b["event"]["event_id"]) for b in blocks] == event_ids
    assert all(b["event"]["participants"] == [] for b in blocks)
    rec = records(blocks)[0]
    assert isinstance(rec["last_modified"], int) and rec["imported"] in ("T", "F")
    assert rec["amount_paid"].startswith("$") and rec["user"]["gender"] in ("M", "F", "X")
    assert {
        "registration_id",
        "event_id",
        "bib_num",
        "chip_num",
        "age",
        "registration_date",
        "team_id",
        "team_name",
        "race_fee",
        "processing_fee",
    } <= rec.keys()


def test_a_full_read_equals_the_truth(world, rsu) -> None:
    world.advance(timedelta(days=1))
    truth = world.truth("runsignup", "alpha")
    seen = {}
    for e in world.events("runsignup", "alpha"):
        for r in records(rsu.participants(e["race_id"], e["event_id"], results_per_page=2500)):
            seen[(e["event_id"], str(r["registration_id"]))] = r
    active = {k: t for k, t in truth.items() if not t.removed}
    assert seen.keys() == active.keys()
    for key, r in seen.items():
        t = active[key]
        assert datetime.fromtimestamp(r["last_modified"], UTC) == t.modified_at
        assert (r["user"]["first_name"], r["user"]["last_name"], r["user"]["email"]) == (
            t.first_name,
            t.last_name,
            t.email,
        )
        assert (None if r["bib_num"] is None else str(r["bib_num"])) == t.bib


def test_page_and_keyset_paging_cover_everything_once(world, rsu) -> None:
    race_id, event_ids = future_race(world)
    event_id = event_ids[0]
    everything = [
        r["registration_id"]
        for r in records(rsu.participants(race_id, event_id, results_per_page=2500))
    ]
    assert everything == sorted(everything)
    by_page, page = [], 1
    while True:
        got = records(rsu.participants(race_id, event_id, page=page, results_per_page=4))
        by_page += [r["registration_id"] for r in got]
        if len(got) < 4:
            break
        page += 1
    by_key, after = [], None
    while True:
        extra = {} if after is None else {"after_registration_id": after}
        got = records(rsu.participants(race_id, event_id, results_per_page=4, **extra))
        by_key += [r["registration_id"] for r in got]
        if len(got) < 4:
            break
        after = got[-1]["registration_id"]
    assert by_page == by_key == everything
    desc = records(
        rsu.participants(race_id, event_id, sort="registration_id DESC", results_per_page=2500)
    )
    assert [r["registration_id"] for r in desc] == everything[::-1]


def test_page_past_the_end_is_200_with_an_empty_list(world, rsu) -> None:
    race_id, event_ids = future_race(world)
    blocks = rsu.participants(race_id, event_ids[0], page=500, results_per_page=50)
    assert blocks[0]["participants"] == []


def test_results_per_page_is_capped_silently_at_2500() -> None:
    world = World(scale="small")
    with SandboxServer(world) as server:
        event = max(world.event_states("runsignup"), key=lambda e: e.base_count)
        client = RunSignUp(server, event.partner_slug)
        assert event.base_count > 2500
        blocks = client.participants(
            str(event.race_id), str(event.event_id), results_per_page=10_000
        )
        assert len(blocks[0]["participants"]) == 2500
        default = client.participants(str(event.race_id), str(event.event_id))
        assert len(default[0]["participants"]) == 50


def test_modified_after_timestamp_is_on_or_after(world, rsu) -> None:
    race_id, event_ids = future_race(world)
    world.clock.advance(timedelta(hours=1))
    pid = records(rsu.participants(race_id, event_ids[0]))[0]["registration_id"]
    world.modify_participant("runsignup", event_ids[0], pid, email="new@example.com")
    stamp = int(
        world.truth("runsignup", "alpha", [event_ids[0]])[
            (event_ids[0], str(pid))
        ].modified_at.timestamp()
    )
    at = records(rsu.participants(race_id, event_ids[0], modified_after_timestamp=stamp))
    assert [r["registration_id"] for r in at] == [pid]
    later = rsu.participants(race_id, event_ids[0], modified_after_timestamp=stamp + 1)
    assert records(later) == []


def test_removed_participants_nested_in_event_with_reasons(world, rsu) -> None:
    race_id, event_ids = future_race(world)
    since = int(world.clock.now().timestamp())
    pid = records(rsu.participants(race_id, event_ids[0]))[0]["registration_id"]
    world.clock.advance(timedelta(minutes=5))
    new_id = world.remove_participant("runsignup", event_ids[0], pid, reason="transferred")
    world.advance(timedelta(days=1))
    blocks = rsu.participants(
        race_id, ",".join(event_ids), removed=True, modified_after_timestamp=since
    )
    assert all(set(b) == {"event"} for b in blocks)
    removed = [r for b in blocks for r in b["event"]["participants"]]
    mine = next(r for r in removed if r["registration_id"] == pid)
    assert mine["removed_reason"] == "transferred" and mine["new_registration_id"] == int(new_id)
    assert isinstance(mine["last_modified_ts"], int) and mine["last_modified"][4] == "-"
    assert {r["removed_reason"] for r in removed} <= {
        "cleared",
        "transferred",
        "deferred",
        "removed",
    }
    active = {
        r["registration_id"]
        for r in records(rsu.participants(race_id, event_ids[0], results_per_page=2500))
    }
    assert pid not in active and int(new_id) in active


def error_of(response: requests.Response) -> int:
    assert response.status_code == 200
    body = response.json()
    if isinstance(body, list):
        body = body[0]
    return body["error"]["error_code"]


def test_errors_are_http_200_with_codes(world, server, rsu) -> None:
    race_id, event_ids = future_race(world)
    bravo_race = world.events("runsignup", "bravo")[0]["race_id"]
    assert error_of(rsu.get(f"/race/{race_id}/participants", event_id="999")) == 301
    assert error_of(rsu.get(f"/race/{race_id}/participants", event_id="x1")) == 223
    assert error_of(rsu.get(f"/race/{race_id}/participants")) == 3
    assert error_of(rsu.get("/race/1/participants", event_id="1")) == 201
    assert error_of(rsu.get(f"/race/{bravo_race}/participants", event_id="1")) == 7
    assert (
        error_of(
            rsu.get(
                f"/race/{race_id}/participants",
                event_id=event_ids[0],
                modified_after_timestamp="yesterday",
            )
        )
        == 9
    )
    assert error_of(rsu.get("/races", api_secret="wrong")) == 6
    assert (
        error_of(requests.get(f"{server.account('runsignup')['base_url']}/races", timeout=5)) == 6
    )


def test_lowercase_rest_path_and_xml_without_format_json(world, server, rsu) -> None:
    lower = requests.get(f"{server.url}/rest/races", params=rsu.auth, timeout=5)
    assert lower.status_code == 200 and "races" in lower.json()
    xml = requests.get(f"{server.url}/Rest/races", timeout=5, params={**rsu.auth, "format": "xml"})
    assert xml.status_code == 200 and xml.text.startswith("<?xml")


def test_some_errors_come_wrapped_in_an_array_deterministically() -> None:
    world = World(scale="tiny")
    with SandboxServer(
        world, config=SandboxConfig().set("runsignup", error_array_every=2)
    ) as server:
        client = RunSignUp(server, "alpha")
        shapes = [type(client.get("/races", api_secret="x").json()).__name__ for _ in range(4)]
    assert shapes == ["dict", "list", "dict", "list"]


def test_date_header_is_simulated_time(world, server, rsu) -> None:
    world.clock.advance(timedelta(days=3))
    served = parsedate_to_datetime(rsu.get("/races").headers["Date"])
    assert abs((served - world.clock.now()).total_seconds()) < 5
