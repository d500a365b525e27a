"""The sandbox's `p88` commands (demo, sandbox, soak), added through the `p88.commands` entry
point: installed with p88-sandbox, absent from the product wheel."""

from __future__ import annotations

import argparse

from p88_pipeline.commands.arguments import KEEP_DB_HELP
from p88_pipeline.providers.registry import names


def cmd_demo(args: argparse.Namespace) -> int:
    from p88_sandbox.commands.demo import run_demo

    return run_demo(args.scale, args.seed, args.provider, keep_db=args.keep_db)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from p88_sandbox.commands.serve import advance, serve

    if args.sandbox_command == "serve":
        return serve(args.host, args.port, args.scale, args.seed, args.partners_out)
    return advance(args.url, args.days)


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks.command import bench_command

    return bench_command(
        scale=args.scale,
        repeat=args.repeat,
        latency_ms=args.latency_ms,
        seed=args.seed,
        strategies=args.strategies,
        keep_db=args.keep_db,
        as_json=args.json,
        chart_path=args.chart,
        markdown_path=args.markdown,
        from_json=args.from_json,
        race_week=args.race_week,
        orchestration=args.orchestration,
        growth=args.growth,
        all_events=not args.no_all_events,
        drain_limit_s=args.drain_limit_s,
    )


def cmd_soak(args: argparse.Namespace) -> int:
    from p88_sandbox.commands.soak import soak_command

    if args.race_week:
        from p88_sandbox.commands.race_week import race_week_command

        days = 7 if args.days is None else args.days
        return race_week_command(
            days, args.scale or "small", args.seed, args.database_url, args.json
        )

    return soak_command(
        30 if args.days is None else int(args.days),
        args.scale or "tiny",
        args.seed,
        args.faults_per_day,
        args.database_url,
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="full + incremental sync against an in-process sandbox")
    demo.add_argument("--scale", choices=["tiny", "small", "seed"], default="small")
    demo.add_argument("--seed", type=int, default=88)
    demo.add_argument("--provider", choices=[*names(), "all"], default="all")
    demo.add_argument("--keep-db", action="store_true", help=KEEP_DB_HELP)
    demo.set_defaults(func=cmd_demo)

    soak = sub.add_parser(
        "soak",
        help="simulated days of changes, faults and crashes; the warehouse is compared with "
        "the sandbox truth after each day",
    )
    soak.add_argument("--days", type=float, help="simulated days (default 30; race week 7)")
    soak.add_argument(
        "--race-week",
        action="store_true",
        help="freshness by proximity (rule 7): a race week minute by minute, lags against "
        "targets, calls per account-hour from the sandbox's log",
    )
    soak.add_argument("--json", action="store_true", help="race week: machine-readable")
    soak.add_argument(
        "--scale", choices=["tiny", "small", "seed"], help="default tiny; race week small"
    )
    soak.add_argument("--seed", type=int, default=88)
    soak.add_argument("--faults-per-day", type=int, default=3)
    soak.add_argument(
        "--database-url", help="an empty database to use (default: a throwaway embedded one)"
    )
    soak.set_defaults(func=cmd_soak)

    sandbox = sub.add_parser("sandbox", help="the provider simulator")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = sandbox_sub.add_parser("serve", help="serve RunSignUp and Haku on 127.0.0.1")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8088)
    serve.add_argument("--scale", choices=["tiny", "small", "seed"], default="small")
    serve.add_argument("--seed", type=int, default=88)
    serve.add_argument(
        "--partners-out",
        default="partners.yaml",
        help="write a partners file for this sandbox here",
    )
    adv = sandbox_sub.add_parser("advance", help="move a running sandbox's clock forward")
    adv.add_argument("--url", default="http://127.0.0.1:8088")
    adv.add_argument("--days", type=float, default=1.0)
    sandbox.set_defaults(func=cmd_sandbox)
