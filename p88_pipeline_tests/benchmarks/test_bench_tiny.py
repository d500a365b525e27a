"""`p88 bench` at tiny scale: every figure is produced and every strategy writes the truth.

Not a timed test: the figures' sizes are checked in `p88 bench` itself, on the seed world.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.harness import BenchPlan, run_bench
from benchmarks.report import ROWS, markdown, table, targets
from p88_pipeline.warehouse.embedded import running_info
from p88_pipeline.warehouse.embedded_admin import stop_server

# Figures only p88 has: its every-event load, the load alone, the COPY floor and the race week.
P88_ONLY = ("all_events", "race_week", "load_alone", "copy_floor")


@pytest.fixture
def bench_data_dir(monkeypatch: pytest.MonkeyPatch, server_tmp_path: Path) -> Iterator[Path]:
    """No P88_BENCH_ADMIN_URL: the bench starts its own embedded server, as `p88 bench` does."""
    monkeypatch.delenv("P88_BENCH_ADMIN_URL", raising=False)
    monkeypatch.setenv("P88_DATA_DIR", str(server_tmp_path))
    yield server_tmp_path
    stop_server(server_tmp_path / "pgdata")  # only if the test failed before the bench stopped it


def test_bench_produces_every_figure_and_the_same_rows_for_every_strategy(
    bench_data_dir: Path,
) -> None:
    result = run_bench(BenchPlan(scale="tiny", repeat=1, latency_ms=20))
    # The bench's databases are throwaway: the server it started is gone, not left running.
    assert running_info(bench_data_dir / "pgdata") is None
    strategies = result["strategies"]
    assert list(strategies) == ["before", "seed-optimized", "p88"]
    for name, figures in strategies.items():
        for _, key, _ in ROWS:
            if key.startswith(P88_ONLY) and name != "p88":
                continue  # the every-event load and race week are measured for p88 only
            assert figures[key] is not None, (name, key)
        # Same rows: each strategy's warehouse equals the sandbox truth for the events it syncs.
        assert figures["mismatches"] == 0, name
        assert figures["full_rows"] > 0 and figures["nightly_api_calls"] > 0
    p88, optimized, before = strategies["p88"], strategies["seed-optimized"], strategies["before"]
    assert p88["full_rows"] == optimized["full_rows"] < before["full_rows"]  # future vs all events
    assert p88["nightly_minimum_calls"] <= p88["nightly_api_calls"] < optimized["nightly_api_calls"]
    assert p88["copy_floor_rows_s"] > 0 and p88["all_events_mismatches"] == 0
    assert p88["all_events_rows"] == before["full_rows"]  # every participant of every event
    assert p88["load_alone_rows"] == before["full_rows"]  # the same rows, loaded alone
    # `before` is the seed's old system: every event and every participant of the world, past
    # events included, and compared with the truth over all of them (the mismatches above).
    world = result["world"]
    assert before["full_events_listed"] == world["events"] > p88["full_events_synced"]
    assert before["full_events_synced"] == world["events"]
    assert before["full_rows"] == world["participants"]
    passed = {label: ok for label, ok, _ in targets(result)}
    assert passed["before reads every event and participant, as the seed's old system"]
    assert passed["every event: every participant loaded"]
    assert passed["0 mismatches over every synced event, every strategy"]
    assert p88["race_week_events"] == p88["race_week_files"] > 0  # a start list per event
    assert before["nightly_latency_modelled"] and not p88["nightly_latency_modelled"]
    assert "nightly: minimum calls the data allows" in table(result)
    assert "| nightly calls <= 1.2 x minimum |" in markdown(result, None, "p88 bench")
    assert {label for label, _, _ in targets(result)} >= {"nightly calls <= 1.2 x minimum"}
