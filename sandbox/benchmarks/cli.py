"""`p88 bench`, added through the `p88.commands` entry point with p88-sandbox."""

from __future__ import annotations

import argparse

from benchmarks.harness import BenchPlan
from p88_pipeline.commands.arguments import KEEP_DB_HELP


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks.command import BenchRequest, bench_command

    plan = BenchPlan(
        scale=args.scale,
        repeat=args.repeat,
        latency_ms=args.latency_ms,
        seed=args.seed,
        strategies=tuple(args.strategies),
        all_events=not args.no_all_events,
    )
    return bench_command(
        BenchRequest(
            plan=plan,
            keep_db=args.keep_db,
            as_json=args.json,
            chart_path=args.chart,
            markdown_path=args.markdown,
            from_json=args.from_json,
            race_week=args.race_week,
            orchestration=args.orchestration,
            growth=tuple(args.growth or ()),
            drain_limit_s=args.drain_limit_s,
        )
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="before / seed-optimized / p88, side by side")
    bench.add_argument("--scale", choices=["tiny", "small", "seed", "10x"], default="seed")
    bench.add_argument("--repeat", type=int, default=3)
    bench.add_argument("--latency-ms", type=int, default=100)
    bench.add_argument("--seed", type=int, default=88)
    bench.add_argument("--strategies", nargs="+", default=["before", "seed-optimized", "p88"])
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    bench.add_argument("--chart", help="write a PNG chart here (needs matplotlib)")
    bench.add_argument("--markdown", help="write the report (docs/performance.md) here")
    bench.add_argument("--from-json", help="render a saved run (the .json beside --markdown)")
    bench.add_argument("--keep-db", action="store_true", help=KEEP_DB_HELP)
    bench.add_argument(
        "--race-week", action="store_true", help="only the race-week report + start lists"
    )
    bench.add_argument(
        "--orchestration",
        type=int,
        metavar="N",
        help="N small partners through the sensors, run queue and dagster-daemon (JSON)",
    )
    bench.add_argument(
        "--drain-limit-s", type=float, help="--orchestration: stop waiting, report partial"
    )
    bench.add_argument(
        "--growth", nargs="+", metavar="JSON", help="the growth table of saved runs (--json)"
    )
    bench.add_argument(
        "--no-all-events",
        action="store_true",
        help="skip p88's every-event load and race week (only full + nightly runs)",
    )
    bench.set_defaults(func=cmd_bench)
