"""End to end, as an operator: dagster-webserver + dagster-daemon on the workspace and the repo's
dagster.yaml (Postgres storage), a backfill of `full_refresh` over two partners launched through
the GraphQL API, and the warehouse compared with the sandbox's truth afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from p88_pipeline.partners import parse_partners
from p88_pipeline.settings import PROJECT_ROOT
from p88_pipeline.truth_comparison import compare_with_truth

pytestmark = pytest.mark.e2e

LOCATION = "p88_pipeline"
REPO = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}
TIMEOUT_S = 240
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dagster:
    url: str
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen]

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.processes.append(
            subprocess.Popen(
                [str(BIN / name), *args, "-w", str(PROJECT_ROOT / "workspace.yaml")],
                env=self.env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: its code servers stop with it
            )
        )

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log"))
        )


def wait_for(what: str, probe: Any, dagster: Dagster, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if result := probe():
                return result
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}\n{dagster.tail()}")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Any, Path, dict[str, str]]]:
    from p88_pipeline.sandbox.partners_file import partner_environment, render_partners_yaml
    from p88_pipeline.sandbox.server import SandboxServer
    from p88_pipeline.sandbox.world import World

    world = World(seed=88, scale="tiny")
    with SandboxServer(world) as server:
        path = tmp_path / "partners.yaml"
        path.write_text(render_partners_yaml(world, server))
        yield world, path, partner_environment(world)


@pytest.fixture
def dagster(
    tmp_path: Path, db_url: str, dagster_pg_url: str, sandbox: tuple[Any, Path, dict[str, str]]
) -> Iterator[Dagster]:
    _, partners_file, credentials = sandbox
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        **credentials,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": dagster_pg_url,
        "P88_DATABASE_URL": db_url,
        "P88_PARTNERS_FILE": str(partners_file),
        "P88_DATA_DIR": str(tmp_path / "p88"),
    }
    env.pop("P88_ALERT_WEBHOOK_URL", None)
    port = free_port()
    (tmp_path / "logs").mkdir()
    instance = Dagster(f"http://127.0.0.1:{port}", env, tmp_path / "logs", [])
    try:
        instance.start("dagster-webserver", "-h", "127.0.0.1", "-p", str(port))
        yield instance
    finally:
        for process in instance.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in instance.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


SENSORS = """
query ($repo: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repo) {
    __typename ... on Sensors { results { name sensorState { id status } } }
  }
}"""
STOP_SENSOR = """
mutation ($id: String!) {
  stopSensor(id: $id) { __typename ... on StopSensorMutationResult { instigationState { status } } }
}"""
ADD_PARTITION = """
mutation ($repo: RepositorySelector!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: "timing_partner",
                      partitionKey: $key) { __typename }
}"""
LAUNCH = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on Error { message }
  }
}"""
BACKFILL = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status numPartitions }
  }
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs { results { runId status tags { key value } } }
  }
}"""
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def test_backfill_of_full_refresh_over_two_partners_matches_the_sandbox(
    dagster: Dagster, sandbox: tuple[Any, Path, dict[str, str]], engine: sa.Engine
) -> None:
    world, partners_file, _ = sandbox
    partners = parse_partners(partners_file.read_text())[:2]
    slugs = [p.slug for p in partners]

    sensors = wait_for(
        "the code location to load",
        lambda: dagster.graphql(SENSORS, repo=REPO)["sensorsOrError"].get("results"),
        dagster,
    )
    states = {s["name"]: s["sensorState"] for s in sensors}
    assert {n: s["status"] for n, s in states.items()} == {
        "timing_partner_partitions": "RUNNING",
        "stale_watermarks": "RUNNING",
        "run_failure_alerts": "RUNNING",
    }
    # This test is about the backfill: keep the two partner sensors from adding runs of their own.
    for name in ("timing_partner_partitions", "stale_watermarks"):
        dagster.graphql(STOP_SENSOR, id=states[name]["id"])
    for slug in slugs:
        result = dagster.graphql(ADD_PARTITION, repo=REPO, key=slug)["addDynamicPartition"]
        assert result["__typename"] == "AddDynamicPartitionSuccess", result

    dagster.start("dagster-daemon", "run")
    launched = dagster.graphql(
        LAUNCH,
        params={
            "selector": {
                "partitionSetName": "full_refresh_partition_set",
                "repositorySelector": REPO,
            },
            "partitionNames": slugs,
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    def finished_runs() -> list[dict[str, Any]] | None:
        data = dagster.graphql(BACKFILL, id=launched["backfillId"])
        runs = data["runsOrError"]["results"]
        done = len(runs) == len(slugs) and all(r["status"] in FINISHED for r in runs)
        return runs if done else None

    runs = wait_for("the backfill's runs to finish", finished_runs, dagster, TIMEOUT_S)
    assert [r["status"] for r in runs] == ["SUCCESS"] * len(slugs), dagster.tail()
    partitions = sorted(
        t["value"] for r in runs for t in r["tags"] if t["key"] == "dagster/partition"
    )
    assert partitions == sorted(slugs)

    now = world.clock.now()
    for partner in partners:
        for provider in partner.accounts:
            comparison = compare_with_truth(engine, world, provider, partner.id, partner.slug, now)
            assert comparison.active > 0
            assert comparison.mismatches == 0, str(comparison)
