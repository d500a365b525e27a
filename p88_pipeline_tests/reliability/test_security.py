"""Security: no configured secret in logs, Dagster metadata, tables or alerts; local-only listeners;
TLS verification on for real providers."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from p88_pipeline.cli import build_parser
from p88_pipeline.commands.sync import run_config
from p88_pipeline.config.partners import PartnerConfigError, parse_partners
from p88_pipeline.definitions import defs
from p88_pipeline.defs.alerts.sensors import run_failure_alerts
from p88_pipeline.defs.resources import PartnersResource, SyncSettingsResource, WarehouseResource
from p88_pipeline.providers.base import ProviderError
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import Transport
from p88_pipeline.sync.engine import sync_events
from p88_pipeline_tests.helpers import FAST_RETRY
from p88_sandbox.partners_file import render_partners_yaml
from p88_sandbox.server import SandboxServer

URL_SAFE = re.compile(r"^[A-Za-z0-9_.~-]+$")


def bound_job(name: str, db_url: str, partners_file: Path) -> dg.JobDefinition:
    resources = {
        "warehouse": WarehouseResource(database_url=db_url),
        "partners": PartnersResource(partners_file=str(partners_file)),
        "sync_settings": SyncSettingsResource(),
    }
    return dg.Definitions(assets=defs.assets, jobs=defs.jobs, resources=resources).resolve_job_def(
        name
    )


def alert_for(instance: dg.DagsterInstance, run_id: str, db_url: str, partners_file: Path) -> None:
    """Run the run-failure sensor on a failed run, as the daemon would."""
    failure = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    run_failure_alerts(
        dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_event=failure.dagster_event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(run_id),
            resources={
                "warehouse": WarehouseResource(database_url=db_url),
                "partners": PartnersResource(partners_file=str(partners_file)),
            },
        ).for_run_failure()
    )


def table_texts(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        tables = (
            conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                    "current_schema() AND table_type = 'BASE TABLE'"
                )
            )
            .scalars()
            .all()
        )
        return [
            text
            for t in tables
            for text in conn.execute(sa.text(f'SELECT row_to_json(t)::text FROM "{t}" t')).scalars()
        ]


def test_no_configured_secret_reaches_logs_metadata_tables_or_alerts(
    db_url, engine, sandbox, tmp_path, caplog, monkeypatch
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "dagster", "p88", "p88_pipeline"):
        caplog.set_level(logging.DEBUG, logger=name)  # even urllib3's request lines
    monkeypatch.delenv("P88_ALERT_WEBHOOK_URL", raising=False)
    path = tmp_path / "partners.yaml"
    path.write_text(render_partners_yaml(sandbox.world, sandbox.server))
    server, texts, run_ids = sandbox.server, [], []
    race = sandbox.world.events("runsignup", "bravo")[-1]["race_id"]
    server.inject(
        "runsignup",
        "bravo",
        "error_in_array",
        count=10,
        error_code=201,
        path_contains=f"/race/{race}/",
    )  # a failed run: errors in metadata and alert
    server.inject("runsignup", "bravo", "throttle", count=1, path_contains="/races")
    server.inject("runsignup", "bravo", "drop", count=1, path_contains="/participants")
    server.inject("runsignup", "bravo", "invalid_records", count=1)
    server.inject("haku", "alpha", "http_500", count=1)
    server.inject("haku", "alpha", "invalid_records", count=1)
    # A space and a slash: the raw, path-quoted and query-quoted spellings all differ.
    wrong = "wrong secret/4f1d2c3b"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("timing_partner", ["alpha", "bravo"])
        config = run_config(as_of=sandbox.world.clock.now().isoformat())
        for job, slug in (("runsignup_sync", "bravo"), ("haku_sync", "alpha")):
            result = bound_job(job, db_url, path).execute_in_process(
                partition_key=slug, instance=instance, run_config=config, raise_on_error=False
            )
            run_ids.append(result.run_id)
        variable = sandbox.partner("bravo").accounts["runsignup"].credential_envs["api_secret_env"]
        monkeypatch.setenv(variable, wrong)  # a configured secret the provider refuses
        refused = bound_job("runsignup_sync", db_url, path).execute_in_process(
            partition_key="bravo", instance=instance, run_config=config, raise_on_error=False
        )
        run_ids.append(refused.run_id)
        for run_id in (run_ids[0], refused.run_id):
            alert_for(instance, run_id, db_url, path)
        for run_id in run_ids:
            texts += [str(entry) for entry in instance.all_logs(run_id)]  # messages + metadata
    # A provider that cannot be reached: requests' errors name the URL, query secrets and all.
    partner = sandbox.partner("bravo")
    account = dataclasses.replace(partner.accounts["runsignup"], base_url="http://127.0.0.1:9/Rest")
    dead = dataclasses.replace(partner, accounts={"runsignup": account})
    with pytest.raises(ProviderError) as unreachable:
        sync_events(engine, build_client(dead, "runsignup", transport=Transport(FAST_RETRY)), dead)
    texts += [str(unreachable.value), caplog.text, *(r.getMessage() for r in caplog.records)]
    texts += table_texts(engine)
    everything = "\n".join(texts)
    # The scan saw what matters: the failure, the refusal, quarantined records and an alert.
    for seen in (
        "RunSignUp error 201",
        variable,
        "missing registration_id",
        "failed for partner",
        "Connection refused",
        "Key authentication failed",
        '"reason"',
    ):
        assert seen in everything, seen
    tokens = list(server.apis["haku"]._tokens)
    plain = [*sandbox.env.values(), *tokens]
    assert len(tokens) >= 1 and all(URL_SAFE.match(s) for s in plain)  # one spelling each
    # Written out, not computed by the code under test: raw, quote() and quote_plus() forms.
    spelled = ["wrong secret/4f1d2c3b", "wrong%20secret%2F4f1d2c3b", "wrong+secret%2F4f1d2c3b"]
    for secret in [*plain, *spelled]:
        assert secret not in everything, f"a secret leaked ({secret[:6]}...)"


def test_the_embedded_postgres_listens_on_a_unix_socket_only(pg_admin_url) -> None:
    if os.environ.get("P88_TEST_DATABASE_URL"):
        pytest.skip("an external test database: not the embedded server")
    url = sa.engine.make_url(pg_admin_url)
    assert url.host in (None, "") and Path(url.query["host"]).is_dir()
    engine = sa.create_engine(pg_admin_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar() == ""
        assert conn.execute(sa.text("SELECT inet_server_addr()")).scalar() is None  # a socket
    engine.dispose()


def test_the_sandbox_and_dev_bind_loopback_by_default(sandbox) -> None:
    assert sandbox.server.host == "127.0.0.1"
    assert SandboxServer.__init__.__defaults__[0] == "127.0.0.1"
    parser = build_parser()
    assert parser.parse_args(["sandbox", "serve"]).host == "127.0.0.1"
    assert parser.parse_args(["dev"]).host == "127.0.0.1"


def test_tls_verification_stays_on_for_real_providers(monkeypatch) -> None:
    monkeypatch.setenv("K", "key-value-123")
    monkeypatch.setenv("S", "secret-value-456")
    monkeypatch.setenv("CI_", "client-id-789")
    monkeypatch.setenv("CS", "client-secret-012")
    partners = parse_partners("""
partners:
  - id: 1
    slug: real
    providers:
      runsignup: {base_url: "https://runsignup.com/Rest", api_key_env: K, api_secret_env: S}
      haku: {base_url: "https://api.hakuapp.com", client_id_env: CI_, client_secret_env: CS}
""")
    with pytest.raises(PartnerConfigError, match="unknown key verify_tls"):
        parse_partners("""
partners:
  - id: 1
    slug: real
    providers:
      runsignup: {base_url: "https://runsignup.com/Rest", api_key_env: K, api_secret_env: S,
                  verify_tls: false}
""")
    for provider in ("runsignup", "haku"):
        client = build_client(partners[0], provider)
        assert client.session.http.verify is True, "partners.yaml cannot switch TLS checks off"
        assert client.base_url.startswith("https://")
