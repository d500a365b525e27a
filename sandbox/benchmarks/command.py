"""`p88 bench`: run the benchmark harness (or re-render a saved run), print or write the report.
While it runs, one progress row per strategy (repetition and phase) on stderr."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import BenchPlan
from p88_pipeline.commands.progress import WAITING, Progress


@dataclass(frozen=True)
class BenchRequest:
    """What `p88 bench` was asked: which run (or saved run) and where its report goes."""

    plan: BenchPlan = BenchPlan()
    keep_db: bool = False
    as_json: bool = False
    chart_path: str | None = None
    markdown_path: str | None = None
    from_json: str | None = None
    race_week: bool = False
    orchestration: int | None = None
    growth: tuple[str, ...] = ()
    drain_limit_s: float | None = None


def bench_command(request: BenchRequest) -> int:
    from benchmarks.harness import run_bench
    from benchmarks.race_week_bench import race_week_only
    from benchmarks.report import chart, markdown, merged_report, table, targets

    if request.chart_path and importlib.util.find_spec("matplotlib") is None:
        # Checked first: a run of many minutes must not end without the chart it was asked for.
        print(
            "p88 bench: --chart needs matplotlib: pip install -e './sandbox[bench]'",
            file=sys.stderr,
        )
        return 2
    if request.markdown_path and Path(request.markdown_path).exists():
        try:
            merged_report(Path(request.markdown_path).read_text(), "")
        except ValueError as exc:
            print(f"p88 bench: {request.markdown_path}: {exc}", file=sys.stderr)
            return 2
    if request.orchestration:  # the Dagster path alone: sensors, run queue, daemon
        from benchmarks.orchestration import run_orchestration

        figures = run_orchestration(
            request.orchestration, request.plan.seed, request.keep_db, request.drain_limit_s
        )
        print(json.dumps(figures, indent=2))
        return 0
    if request.growth:  # tiny .. 10x side by side, from saved `--json` runs
        from benchmarks.growth import growth_chart, growth_table

        runs = [json.loads(Path(name).read_text()) for name in request.growth]
        print(growth_table(runs))
        if request.chart_path and growth_chart(runs, Path(request.chart_path)):
            print(f"\nchart written to {request.chart_path}")
        return 0
    if request.race_week:  # report + start lists alone, on a freshly loaded world
        print(
            json.dumps(
                race_week_only(request.plan.scale, request.plan.seed, request.keep_db), indent=2
            )
        )
        return 0
    if request.from_json:  # re-render a report from a saved run, without running it again
        result: dict[str, Any] = json.loads(Path(request.from_json).read_text())
    else:
        with Progress("p88 bench", unit="repetitions", every_s=30) as progress:
            for name in request.plan.strategies:
                progress.update(name, status=WAITING)

            def step(name: str, rep: int, reps: int, phase: str | None) -> None:
                if phase is None:
                    progress.update(name, done=reps, total=reps)
                    progress.finish(name, "done", text="")
                else:
                    progress.update(
                        name, done=rep, total=reps, text=f"#{rep + 1}: {phase}", status="running"
                    )

            result = run_bench(request.plan, request.keep_db, step, progress.note)
    if request.as_json:
        print(json.dumps(result, indent=2))
        return 0
    print(table(result))
    print()
    for label, ok, value in targets(result):
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
    if request.chart_path and chart(result, Path(request.chart_path)):
        print(f"chart written to {request.chart_path}")
    if request.markdown_path:
        page = Path(request.markdown_path)
        command = "p88 bench " + " ".join(sys.argv[2:])
        name = Path(request.chart_path).name if request.chart_path else None
        existing = page.read_text() if page.exists() else None
        page.write_text(merged_report(existing, markdown(result, name, command)))
        page.with_suffix(".json").write_text(json.dumps(result, indent=2))
        print(f"report written to {request.markdown_path} (its generated block)")
    return 0
