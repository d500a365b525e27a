"""`p88 doctor` against the sandbox over real HTTP and a real warehouse: all PASS in the default
mode, the right WARN/FAIL line under each reading switch, a missing credential and a wrong key;
every account's probe within MAX_CALLS calls as the sandbox's own request log counts them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from p88_pipeline.commands.doctor import (
    Probing,
    Stores,
    exit_code,
    render_table,
    run_doctor,
    to_json,
)
from p88_pipeline.config.partners import parse_partners
from p88_pipeline.providers.probe import FAIL, MAX_CALLS, PASS, WARN
from p88_pipeline.warehouse.runs import record_run
from p88_pipeline_tests.helpers import FAST_RETRY, Sandbox, run_sync
from p88_sandbox.config import SandboxConfig
from p88_sandbox.partners_file import partner_environment, render_partners_yaml
from p88_sandbox.server import SandboxServer
from p88_sandbox.world import World

CAP = 7


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def make_sandbox(config: SandboxConfig | None = None):
    world = World(seed=88, scale="tiny")
    server = SandboxServer(world, config=config).start()
    env = partner_environment(world)
    return Sandbox(world, server, parse_partners(render_partners_yaml(world, server)), env)


def doctor(engine, sandbox: Sandbox, instance, slugs=("alpha",), env=None):
    partners = [sandbox.partner(s) for s in slugs]
    probing = Probing(environ=env or sandbox.env, now=sandbox.world.clock.now(), retry=FAST_RETRY)
    lines = run_doctor(partners, Stores(engine, lambda: instance), probing)
    print(render_table(lines))
    # The ephemeral instance lacks p88's dagster.yaml: those WARNs are test_dagster_home.py's.
    return [x for x in lines if x.scope != "dagster" or x.check == "storage"]


def status(lines, scope: str, check: str) -> str:
    found = [x for x in lines if x.scope == scope and x.check.startswith(check)]
    assert found, f"no {check!r} line for {scope}"
    return found[0].status


def test_default_sandbox_all_pass_within_the_call_budget(engine, instance) -> None:
    sandbox = make_sandbox()
    try:
        lines = doctor(engine, sandbox, instance, ("alpha", "bravo"))
    finally:
        sandbox.server.stop()
    assert [x for x in lines if x.status != PASS] == []
    assert exit_code(lines) == 0
    for slug in ("alpha", "bravo"):
        for provider in ("runsignup", "haku"):
            if sandbox.partner(slug).account(provider) is None:
                continue
            calls = sandbox.server.calls(provider, slug)
            assert 3 <= calls <= MAX_CALLS, (slug, provider, calls)
    parsed = json.loads(to_json(lines))
    assert parsed["ok"] is True and len(parsed["checks"]) == len(lines)


# (provider, partner, knobs, {check prefix: expected status}); every other line must PASS.
SWITCHES = [
    (
        "runsignup",
        "bravo",
        {"silent_cap": CAP},
        {"page cap: races": PASS, "page cap: participants": WARN},
    ),
    ("haku", "alpha", {"silent_cap": CAP}, {"page cap: participants": WARN}),
    (
        "haku",
        "alpha",
        {"rows_without_updated_at": True},
        {"fields: participants": WARN, "detail endpoint": PASS},
    ),
    ("runsignup", "bravo", {"nb_needs_flag": True}, {"gender": PASS}),
    ("runsignup", "bravo", {"nb_needs_flag": False}, {"gender": PASS}),
    ("haku", "alpha", {"pagination_links": True}, {"page cap: participants": PASS}),
]


@pytest.mark.parametrize(
    "provider, slug, knobs, expected",
    SWITCHES,
    ids=[f"{p}-{'+'.join(f'{k}={v}' for k, v in knobs.items())}" for p, _, knobs, _ in SWITCHES],
)
def test_each_reading_gets_its_line(engine, instance, provider, slug, knobs, expected) -> None:
    sandbox = make_sandbox(SandboxConfig().set(provider, **knobs))
    try:
        lines = doctor(engine, sandbox, instance, (slug,))
    finally:
        sandbox.server.stop()
    scope = f"{slug}/{provider}"
    for check, wanted in expected.items():
        assert status(lines, scope, check) == wanted, check
    others = [x for x in lines if x.status != PASS and not x.check.startswith(tuple(expected))]
    assert others == []
    assert sandbox.server.calls(provider, slug) <= MAX_CALLS
    assert exit_code(lines) == 0  # a reading p88 handles is a WARN, never a FAIL
    with engine.connect() as conn:
        caps = dict(
            conn.execute(
                sa.text("SELECT endpoint, cap FROM page_caps WHERE provider = :p"), {"p": provider}
            ).all()
        )
    if knobs.get("silent_cap"):  # learned by the doctor, saved for the sync
        assert caps["participants"] == CAP
        line = next(x for x in lines if x.scope == scope and x.check == "page cap: participants")
        assert f"asks {CAP} per page" in line.action
    else:
        assert all(cap is None for cap in caps.values())
    if knobs.get("nb_needs_flag") is not None:
        assert "X" in next(x.detail for x in lines if x.check == "gender").split()[0]


def test_missing_credential_and_wrong_key_fail(engine, instance) -> None:
    sandbox = make_sandbox()
    try:
        env = dict(sandbox.env)
        missing = next(k for k in env if "ALPHA_HAKU" in k)
        del env[missing]
        wrong = next(k for k in env if k.endswith("ALPHA_RUNSIGNUP_SECRET"))
        env[wrong] = "not the secret"
        alpha = sandbox.partner("alpha")
        record_run(engine, "earlier", "runsignup", alpha.id, api_calls=900)
        lines = doctor(engine, sandbox, instance, ("alpha",), env=env)
    finally:
        sandbox.server.stop()
    assert exit_code(lines) == 1
    assert status(lines, "alpha/runsignup", "quota, past hour") == WARN  # 900 of 1000
    assert status(lines, "alpha/haku", "credentials") == FAIL
    assert missing in next(x.detail for x in lines if x.scope == "alpha/haku")
    assert sandbox.server.calls("haku", "alpha") == 0  # nothing called without credentials
    assert status(lines, "alpha/runsignup", "credentials") == PASS
    assert status(lines, "alpha/runsignup", "authentication") == FAIL
    auth = next(x for x in lines if x.check == "authentication")
    assert wrong in auth.action and "not the secret" not in render_table(lines)
    assert json.loads(to_json(lines))["ok"] is False


def test_warehouse_without_migrations_fails_and_learns_nothing(db_url, instance) -> None:
    blank = sa.create_engine(db_url)
    try:
        with blank.begin() as conn:
            conn.execute(sa.text("DROP TABLE page_caps"))
            conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = '004_page_caps'"))
        sandbox = make_sandbox(SandboxConfig().set("haku", silent_cap=CAP))
        try:
            lines = doctor(blank, sandbox, instance, ("alpha",))
        finally:
            sandbox.server.stop()
    finally:
        blank.dispose()
    assert status(lines, "warehouse", "migrations") == FAIL
    assert "004_page_caps" in next(x.detail for x in lines if x.check == "migrations")
    assert status(lines, "alpha/haku", "page cap: participants") == WARN  # still probed
    assert exit_code(lines) == 1


def test_probes_the_largest_stored_event(engine, instance, monkeypatch) -> None:
    sandbox = make_sandbox()
    try:
        for name, value in sandbox.env.items():
            monkeypatch.setenv(name, value)
        run_sync(engine, sandbox, "bravo")
        with engine.connect() as conn:
            largest = conn.execute(
                sa.text(
                    "SELECT p.event_id FROM participants p JOIN provider_events e USING "
                    "(provider, timing_partner_id, event_id) WHERE p.provider = 'runsignup' "
                    "AND p.removed_at IS NULL AND e.start_time > now() "
                    "GROUP BY p.event_id ORDER BY count(*) DESC, p.event_id LIMIT 1"
                )
            ).scalar()
        sandbox.server.reset_log()
        lines = doctor(engine, sandbox, instance, ("bravo",))
    finally:
        sandbox.server.stop()
    asked = {r.params["event_id"] for r in sandbox.server.log if "event_id" in r.params}
    assert asked == {largest}
    fields = next(x for x in lines if x.check == "fields: participants")
    assert f"event {largest} (" in fields.detail and "stored registrations" in fields.detail
    assert exit_code(lines) == 0


def test_a_host_clock_ten_minutes_off_is_a_warning(engine, instance) -> None:
    sandbox = make_sandbox()
    try:
        skewed = sandbox.world.clock.now() + timedelta(minutes=10)
        probing = Probing(environ=sandbox.env, now=skewed, retry=FAST_RETRY)
        lines = run_doctor([sandbox.partner("bravo")], Stores(engine, lambda: instance), probing)
    finally:
        sandbox.server.stop()
    skew = next(x for x in lines if x.check == "clock skew")
    assert skew.status == WARN and skew.detail.startswith("server clock -60")
    assert exit_code(lines) == 0
