"""The `p88` command: argument parsing only; each command's body lives in p88_pipeline.commands."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime

from p88_pipeline.partners import PartnerConfigError
from p88_pipeline.providers.registry import names
from p88_pipeline.settings import ConfigurationError
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline.warehouse.embedded import EmbeddedServerError

KEEP_DB_HELP = "leave the embedded PostgreSQL running if this command started it"
AS_OF_HELP = "ISO instant used as 'now' (sandbox time travel)"


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (0 or less would silently change what a sync does)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def iso_instant(text: str) -> str:
    """argparse type: an ISO 8601 instant (`--as-of`), checked before anything runs."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO instant (e.g. 2026-06-01T08:00:00+00:00)"
        ) from None
    return text


def cmd_sync(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.sync import SyncRequest, sync_command

    return sync_command(
        SyncRequest(
            force_full_sync=args.force_full_sync,
            incremental_days=args.incremental_days,
            timing_partner=args.timing_partner,
            test=args.test,
            provider=args.provider,
            parallel=args.parallel,
            as_of=args.as_of,
            verbose=args.verbose,
            as_json=args.json,
        )
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.demo import run_demo

    return run_demo(args.scale, args.seed, args.provider, keep_db=args.keep_db)


def cmd_migrate(args: argparse.Namespace) -> int:
    from p88_pipeline.warehouse.db import get_engine, redact_url, resolve_database_url
    from p88_pipeline.warehouse.migrations import apply_migrations, check_schema

    url = resolve_database_url()
    engine = get_engine(url)
    applied = apply_migrations(engine)
    check_schema(engine)
    print(f"{redact_url(url)}: applied {applied or 'nothing (up to date)'}; constraints OK")
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.dev import run_dev

    return run_dev(port=args.port, host=args.host, verbose=args.verbose or args.dev_verbose)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.sandbox import advance, serve

    if args.sandbox_command == "serve":
        return serve(args.host, args.port, args.scale, args.seed, args.partners_out)
    return advance(args.url, args.days)


def cmd_bench(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.bench import bench_command

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


def cmd_db(args: argparse.Namespace) -> int:
    from p88_pipeline.commands import db

    action = args.db_command
    if action == "status":
        return db.status(args.json)
    if action == "stop":
        return db.stop(args.timeout)
    if action == "psql":
        return db.psql(args.database, args.psql_args)
    if action == "url":
        return db.url(args.database)
    return db.start()


def cmd_export(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.export import run_export

    return run_export(args.timing_partner, args.event, args.out, args.force, args.as_of)


def cmd_soak(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.soak import soak_command

    if args.race_week:
        from p88_pipeline.commands.race_week_sim import race_week_command

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


def cmd_status(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.status import status_command

    return status_command(args.json, args.as_of)


def cmd_doctor(args: argparse.Namespace) -> int:
    from p88_pipeline.commands.doctor import doctor_command

    return doctor_command(args.timing_partner, args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="p88", description="Race-registration sync.")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    sync = sub.add_parser("sync", help="sync partners (incremental unless forced)")
    sync.add_argument("--force-full-sync", action="store_true")
    sync.add_argument(
        "--incremental-days",
        type=positive_int,
        metavar="N",
        help="watermarks older than N days force a full sync "
        f"(default: {SyncPolicy.incremental_days})",
    )
    sync.add_argument("--timing-partner", metavar="ID", help="partner id or slug")
    sync.add_argument("--test", action="store_true", help="first partner only")
    sync.add_argument("--provider", choices=[*names(), "all"], default="all")
    sync.add_argument("--parallel", type=positive_int, default=4, help="partners synced at once")
    sync.add_argument("--as-of", type=iso_instant, help=AS_OF_HELP)
    sync.add_argument(
        "--json", action="store_true", help="one JSON document on stdout (progress: stderr)"
    )
    sync.set_defaults(func=cmd_sync)

    demo = sub.add_parser("demo", help="full + incremental sync against an in-process sandbox")
    demo.add_argument("--scale", choices=["tiny", "small", "seed"], default="small")
    demo.add_argument("--seed", type=int, default=88)
    demo.add_argument("--provider", choices=[*names(), "all"], default="all")
    demo.add_argument("--keep-db", action="store_true", help=KEEP_DB_HELP)
    demo.set_defaults(func=cmd_demo)

    sub.add_parser(
        "migrate", help="apply the warehouse migrations and check constraints"
    ).set_defaults(func=cmd_migrate)

    dev = sub.add_parser("dev", help="Dagster UI + daemon on the embedded (or given) Postgres")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--host", default="127.0.0.1", help="bind address (default: local only)")
    dev.add_argument(
        "-v",
        "--verbose",
        dest="dev_verbose",
        action="store_true",
        help="show initdb, DEBUG events and warnings",
    )
    dev.set_defaults(func=cmd_dev)

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

    export = sub.add_parser("export", help="start lists (CSV) of future events that changed")
    export.add_argument("--timing-partner", metavar="SLUG", help="one partner (default: all)")
    export.add_argument("--event", metavar="ID", help="one event id")
    export.add_argument("--out", metavar="DIR", help="default: P88_EXPORT_DIR")
    export.add_argument("--force", action="store_true", help="rewrite unchanged ones too")
    export.add_argument("--as-of", type=iso_instant, help=AS_OF_HELP)
    export.set_defaults(func=cmd_export)

    status = sub.add_parser("status", help="freshness per partner and provider (rule 7)")
    status.add_argument("--json", action="store_true", help="machine-readable")
    status.add_argument("--as-of", type=iso_instant, help=AS_OF_HELP)
    status.set_defaults(func=cmd_status)

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

    doctor = sub.add_parser(
        "doctor", help="check credentials, the APIs' behaviour, the warehouse and Dagster"
    )
    doctor.add_argument("--timing-partner", metavar="SLUG", help="one partner (default: all)")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(func=cmd_doctor)

    db = sub.add_parser("db", help="the embedded PostgreSQL: status, start, stop, psql, url")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("status", help="PID, socket, uptime, size, databases").add_argument(
        "--json", action="store_true"
    )
    db_sub.add_parser("start", help="start it (every p88 command does when needed)")
    db_sub.add_parser("stop", help="fast shutdown; waits").add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait"
    )
    for name, helptext in (("psql", "open psql on it"), ("url", "print its connection URL")):
        action = db_sub.add_parser(name, help=helptext)
        action.add_argument("--database", default="p88")
        if name == "psql":
            action.add_argument("psql_args", nargs=argparse.REMAINDER, help="passed to psql")
    db.set_defaults(func=cmd_db)

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
    return parser


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [""])[0][:300]


def main(argv: list[str] | None = None) -> int:
    """Every failure ends in one line on stderr; its traceback goes to the log file (and with -v
    to the terminal as well: the file handler logs INFO, the terminal only shows it with -v)."""
    import sqlalchemy as sa

    from p88_pipeline.commands.console import configure_logging, log_file
    from p88_pipeline.settings import load_settings
    from p88_pipeline.warehouse.db import unreachable

    args = build_parser().parse_args(argv)
    log = configure_logging(args.verbose, log_file(load_settings().data_dir), rotate=True)
    where = f"details in {log}" if log else "run with -v for details"
    trace = logging.getLogger("p88.cli")
    try:
        return args.func(args)
    except PartnerConfigError as exc:
        for problem in exc.problems:
            print(f"p88: {problem}", file=sys.stderr)
        return 2
    except (EmbeddedServerError, ConfigurationError) as exc:  # its message names the fix
        trace.info("p88 %s: %s", args.command, exc, exc_info=True)
        print(f"p88: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except sa.exc.OperationalError as exc:
        trace.info("p88 %s: the database is unreachable", args.command, exc_info=True)
        print(f"p88: {unreachable(exc)}; {where}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug or an unforeseen environment: one line, never a traceback
        trace.info("p88 %s failed", args.command, exc_info=True)
        print(
            f"p88 {args.command}: {type(exc).__name__}: {_first_line(exc)}; {where}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
