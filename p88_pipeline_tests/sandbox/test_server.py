"""The server around the APIs: log, hooks, quotas, fault injection, control endpoints."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests

from p88_pipeline.config.partners import parse_partners
from p88_pipeline_tests.sandbox.callers import Haku, RunSignUp, future_race
from p88_sandbox.config import SandboxConfig
from p88_sandbox.partners_file import partner_environment, render_partners_yaml
from p88_sandbox.server import SandboxServer
from p88_sandbox.world import World


def test_urls_and_partners_file_match_the_loader(world, server) -> None:
    assert server.account("runsignup") == {"base_url": f"{server.url}/Rest"}
    assert server.account("haku") == {
        "base_url": f"{server.url}/haku/api",
        "token_url": f"{server.url}/haku/auth/oauth2/token",
    }
    text = render_partners_yaml(world, server)
    assert text.startswith("# credentials are environment variable NAMES, never values\n")
    partners = parse_partners(text)
    env = partner_environment(world)
    assert [p.slug for p in partners] == ["alpha", "bravo"]
    alpha = partners[0]
    assert alpha.id == "101" and set(alpha.accounts) == {"runsignup", "haku"}
    assert alpha.accounts["haku"].options["token_url"] == server.account("haku")["token_url"]
    creds = alpha.accounts["runsignup"].credentials("alpha", env)
    assert creds == world.partner("alpha").secrets["runsignup"]
    assert set(partners[1].accounts) == {"runsignup"}
    for value in env.values():
        assert value not in text


def test_request_log_counts_calls_per_provider_and_partner(server, rsu, haku) -> None:
    rsu.get("/races")
    rsu.get("/races")
    haku.get("/events")
    assert server.calls("runsignup", "alpha") == 2
    assert server.calls("haku", "alpha") == 2  # token + events
    assert server.calls(partner="bravo") == 0
    record = next(r for r in server.log if r.provider == "runsignup")
    assert record.path == "/Rest/races" and record.params["format"] == "json"
    assert record.status == 200 and record.time.tzinfo is not None
    server.reset_log()
    assert server.calls() == 0


def test_hooks_run_before_the_answer_is_computed(world, server, rsu) -> None:
    race_id, event_ids = future_race(world)
    first = rsu.participants(race_id, event_ids[0])[0]["participants"][0]

    def rename(record) -> None:
        if record.path.endswith("/participants"):
            world.modify_participant(
                "runsignup", event_ids[0], first["registration_id"], first_name="Hooked"
            )

    server.add_hook(rename)
    again = rsu.participants(race_id, event_ids[0])[0]["participants"][0]
    assert again["user"]["first_name"] == "Hooked"


def test_runsignup_quota_is_error_14_in_a_200_body() -> None:
    world = World(scale="tiny")
    config = SandboxConfig(quota_window_seconds=1.0)
    config.quota_per_hour["runsignup"] = 3
    with SandboxServer(world, config=config) as server:
        alpha, bravo = RunSignUp(server, "alpha"), RunSignUp(server, "bravo")
        bodies = [alpha.get("/races").json() for _ in range(4)]
        assert all("races" in b for b in bodies[:3])
        throttled = bodies[3][0] if isinstance(bodies[3], list) else bodies[3]
        assert throttled["error"]["error_code"] == 14
        assert "races" in bravo.get("/races").json()  # quotas are per partner
        time.sleep(1.05)
        assert "races" in alpha.get("/races").json()  # sliding window frees up


def test_haku_quota_is_429_with_retry_after() -> None:
    world = World(scale="tiny")
    config = SandboxConfig()
    config.quota_per_hour["haku"] = 2
    with SandboxServer(world, config=config) as server:
        client = Haku(server, "alpha")  # the token call is not counted
        assert [client.get("/events").status_code for _ in range(3)] == [200, 200, 429]
        retry = client.get("/events").headers["Retry-After"]
        assert 1 <= int(retry) <= 3600


def rsu_fault(server: SandboxServer, rsu: RunSignUp, kind: str, **kw) -> requests.Response:
    server.inject("runsignup", "alpha", kind, **kw)
    return rsu.get("/races")


def test_fault_throttle(server, rsu, haku) -> None:
    body = rsu_fault(server, rsu, "throttle").json()
    assert body["error"]["error_code"] == 14
    assert "races" in rsu.get("/races").json()  # count=1: the next call is fine
    server.inject("haku", "alpha", "throttle")
    throttled = haku.get("/events")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"


@pytest.mark.parametrize("kind, status", [("http_500", 500), ("http_503", 503)])
def test_fault_server_errors(server, rsu, kind, status) -> None:
    assert rsu_fault(server, rsu, kind).status_code == status
    assert rsu.get("/races").status_code == 200


def test_fault_timeout_hangs_then_drops(server, rsu) -> None:
    server.inject("runsignup", "alpha", "timeout", seconds=0.6)
    started = time.perf_counter()
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(f"{rsu.base}/races", params=rsu.auth, timeout=0.2)
    assert time.perf_counter() - started < 0.5
    assert server.log[-1].fault == "timeout"


def test_fault_drop_closes_without_answer(server, rsu) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        rsu_fault(server, rsu, "drop")
    assert rsu.get("/races").status_code == 200


def test_fault_truncated_json(server, rsu) -> None:
    response = rsu_fault(server, rsu, "truncated_json")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_fault_not_json_is_an_html_page_with_200(server, rsu) -> None:
    response = rsu_fault(server, rsu, "not_json")
    assert response.status_code == 200 and response.text.startswith("<!DOCTYPE html>")


def test_fault_error_in_array(server, rsu) -> None:
    body = rsu_fault(server, rsu, "error_in_array").json()
    assert isinstance(body, list) and body[0]["error"]["error_code"] == 5


def test_faults_match_partner_path_and_count(world, server, rsu) -> None:
    race_id, event_ids = future_race(world)
    server.inject("runsignup", "alpha", "http_500", count=2, path_contains="/participants")
    assert rsu.get("/races").status_code == 200
    path = f"/race/{race_id}/participants"
    codes = [rsu.get(path, event_id=event_ids[0]).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    server.inject("runsignup", "bravo", "http_500", count=5)
    assert rsu.get("/races").status_code == 200
    server.reset_faults()
    assert RunSignUp(server, "bravo").get("/races").status_code == 200


def test_latency_setting_slows_every_call(server, rsu) -> None:
    server.set_latency(150)
    started = time.perf_counter()
    rsu.get("/races")
    assert time.perf_counter() - started >= 0.15


def test_control_endpoints_advance_and_report(world, server) -> None:
    before = requests.get(f"{server.url}/_sandbox/clock", timeout=5).json()
    answer = requests.post(f"{server.url}/_sandbox/advance?days=2", timeout=5).json()
    assert answer["changes"]["modified"] > 0
    assert world.clock.offset == timedelta(days=2)
    assert answer["now"] > before["now"]
    partners = requests.get(f"{server.url}/_sandbox/partners", timeout=5).json()
    assert [p["slug"] for p in partners["partners"]] == ["alpha", "bravo"]
    assert "partners:" in partners["partners_yaml"]
    assert server.calls() == 0  # control calls are not provider calls
