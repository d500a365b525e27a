"""The growth table and the orchestration figures, rendered from saved or synthetic runs (the runs
themselves are `p88 bench --scale 10x` and `p88 bench --orchestration N`, not in the suite);
the warehouse's sizes read from a real Postgres."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from benchmarks.command import BenchRequest, bench_command
from benchmarks.growth import growth_chart, growth_table
from benchmarks.minimum import excess_by_provider
from benchmarks.orchestration_figures import summarize_runs
from benchmarks.report import GENERATED_FROM, GENERATED_TO, merged_report
from p88_pipeline.warehouse.sizes import (
    connections_by_database,
    pad_participants,
    warehouse_sizes,
)


def bench_run(scale: str, participants: int, strategies: tuple[str, ...]) -> dict[str, Any]:
    k = participants / 1000
    figures = {
        "nightly_api_calls": 27 * k,
        "nightly_minimum_calls": 26 * k,
        "nightly_latency_wall_s": 0.02 * k,
        "nightly_latency_modelled": False,
        "full_wall_s": 0.1 * k,
        "full_rows": 190 * k,
        "load_rows_per_s": 40_000.0,
        "partner_peak_rss_mb": 90.0,
        "peak_rss_mb": 300.0,
        "mismatches": 0,
        "all_events_rows": 1000 * k,
        "all_events_wall_s": 0.06 * k,
    }
    return {
        "scale": scale,
        "repeat": 1,
        "world": {"partners": 13, "events": 1616, "participants": participants},
        "sandbox_peak_rss_mb": 126.0,
        "strategies": {name: dict(figures, strategy=name) for name in strategies},
    }


def test_growth_table_orders_scales_and_says_what_was_not_run(tmp_path: Path) -> None:
    runs = [
        bench_run("10x", 4_070_530, ("p88",)),
        bench_run("seed", 407_053, ("seed-optimized", "p88")),
    ]
    table = growth_table(runs)
    header, _, *rows = table.splitlines()
    assert header == "| | `seed` | `10x` |"  # smallest first, whatever order they came in
    assert "| participants | 407,053 | 4,070,530 |" in rows
    calls = next(r for r in rows if r.startswith("| **p88**: nightly calls"))
    assert "10,990 / 10,583 = 1.04x" in calls.split("|")[2]
    optimized = next(r for r in rows if r.startswith("| **seed-optimized**: full first sync wall"))
    assert optimized.endswith("| 40.7 | not run |")
    if growth_chart(runs, tmp_path / "growth.png"):
        assert (tmp_path / "growth.png").stat().st_size > 10_000


def test_a_provider_under_its_modelled_minimum_shows_a_minus_sign() -> None:
    run = bench_run("10x", 4_070_530, ("p88",))
    run["strategies"]["p88"]["nightly_by_provider"] = {
        "haku": {"calls": 760, "minimum": 769, "accounts": 61, "over": 0, "proving": 0},
        "runsignup": {"calls": 2116, "minimum": 2040, "accounts": 104, "over": 63},
    }
    where = next(r for r in growth_table([run]).splitlines() if "over the minimum" in r)
    assert "haku -9 (0/61 accounts, 0 proving pages), runsignup +76 (63/104 accounts)" in where


def test_orchestration_summary_separates_overhead_from_the_sync_work() -> None:
    runs = [
        {
            "status": "SUCCESS",
            "enqueued": 100.0 + i,
            "ended": 130.0 + i,
            "steps_s": 2.0,
            "queued_s": 1.0,
            "launch_s": 5.0,
            "in_slot_s": 10.0,
            "bookkeeping_s": 3.0,
        }
        for i in range(10)
    ]
    summary = summarize_runs(runs)
    assert summary["runs"] == summary["succeeded"] == 10
    assert summary["drain_s"] == 39.0  # first enqueued to last ended
    assert summary["runs_per_minute"] == round(10 / 39 * 60, 2)
    assert summary["overhead_share"] == 0.8  # 2 s of steps in 10 s holding a run slot
    assert summary["median_launch_s"] == 5.0


def test_warehouse_sizes_and_connections_come_from_the_server(engine: sa.Engine) -> None:
    sizes = warehouse_sizes(engine)
    tables = {t["table_name"]: t for t in sizes["tables"]}
    assert sizes["participants"] == 0 and "participants" in tables
    with engine.begin() as conn:
        for pid in ("1", "2"):
            conn.execute(
                sa.text(
                    "INSERT INTO participants (provider, timing_partner_id, event_id, "
                    "participant_id, modified_at, raw) VALUES ('runsignup', '101', 'e1', :pid, "
                    "now(), '{}')"
                ),
                {"pid": pid},
            )
    assert pad_participants(engine, 5) == 3  # copies under new event ids, up to the target
    sizes = warehouse_sizes(engine)
    tables = {t["table_name"]: t for t in sizes["tables"]}
    assert sizes["participants"] == 5
    assert tables["participants"]["index_bytes"] > 0  # the primary key at least
    assert any(i["table_name"] == "participants" for i in sizes["indexes"])
    with engine.connect() as conn, engine.connect() as other:
        database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        other.execute(sa.text("SELECT 1"))
        assert connections_by_database(conn)[database] == 1  # the other, not the asking one


def test_nightly_excess_is_attributed_to_provider_and_accounts() -> None:
    minimum = {("alpha", "runsignup"): 3, ("alpha", "haku"): 2, ("bravo", "runsignup"): 4}
    calls = {
        "alpha": {"runsignup": {"api_calls": 5, "proving_calls": 2}, "haku": {"api_calls": 2}},
        "bravo": {"runsignup": {"api_calls": 4}},
    }
    assert excess_by_provider(minimum, calls) == {
        "runsignup": {"calls": 9, "minimum": 7, "accounts": 2, "over": 1, "proving": 2},
        "haku": {"calls": 2, "minimum": 2, "accounts": 1, "over": 0, "proving": 0},
    }


def test_the_markdown_report_replaces_only_its_generated_block() -> None:
    """`p88 bench --markdown docs/performance.md` rewrites the generated block in place: the
    growth, orchestration and race-week sections people wrote below it stay; a page without
    the block is refused rather than overwritten."""
    page = f"{GENERATED_FROM}\nold table\n{GENERATED_TO}\n\n## Growth\nhand-written\n"
    merged = merged_report(page, "# Performance\nnew table\n")
    assert merged == (
        f"{GENERATED_FROM}\n# Performance\nnew table\n{GENERATED_TO}\n\n## Growth\nhand-written\n"
    )
    assert merged_report(merged, "# Performance\nnew table\n") == merged  # stable
    assert merged_report(None, "x\n") == f"{GENERATED_FROM}\nx\n{GENERATED_TO}\n"
    with pytest.raises(ValueError, match="refusing to overwrite"):
        merged_report("# Performance\nhand-written\n", "x\n")


def test_the_shipped_performance_page_has_its_generated_block() -> None:
    page = (Path(__file__).parents[2] / "docs" / "performance.md").read_text()
    assert page.index(GENERATED_FROM) < page.index(GENERATED_TO) < page.index("## Growth")


def test_a_chart_asked_for_without_matplotlib_fails_before_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to write nothing and say nothing, after the whole run."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    chart = tmp_path / "growth.png"
    code = bench_command(BenchRequest(growth=("does-not-matter.json",), chart_path=str(chart)))
    assert code == 2 and not chart.exists()
    assert "--chart needs matplotlib" in capsys.readouterr().err
