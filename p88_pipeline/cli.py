"""The `p88` command: argument parsing only; each command's body lives in p88_pipeline.commands.

The sandbox's commands (demo, sandbox, soak, bench) come from the `p88-sandbox` distribution
through the `p88.commands` entry point: the product wheel does not ship them."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points

from p88_pipeline.commands.arguments import AS_OF_HELP, iso_instant, positive_int
from p88_pipeline.config.partners import PartnerConfigError
from p88_pipeline.providers.registry import names
from p88_pipeline.settings import ConfigurationError
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline.warehouse.embedded import EmbeddedServerError


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

    add_plugin_commands(sub)
    return parser


SANDBOX_COMMANDS = ("demo", "sandbox", "soak", "bench")
SANDBOX_INSTALL = "pip install -e ./sandbox (a checkout's dev install: see the README)"


def add_plugin_commands(sub: argparse._SubParsersAction) -> None:
    """Commands other installed distributions add; the sandbox's, when it is not installed,
    answer with the install that brings them rather than argparse's 'invalid choice'."""
    for plugin in entry_points(group="p88.commands"):
        plugin.load()(sub)
    for name in SANDBOX_COMMANDS:
        if name not in sub.choices:
            # No option prefix: `p88 bench --scale small` lands in `rest` instead of argparse's
            # "unrecognized arguments", so every spelling gets the install line.
            missing = sub.add_parser(
                name,
                help=f"(needs p88-sandbox: {SANDBOX_INSTALL})",
                prefix_chars="\0",
                add_help=False,
            )
            missing.add_argument("rest", nargs=argparse.REMAINDER)
            missing.set_defaults(func=_not_installed)


def _not_installed(args: argparse.Namespace) -> int:
    print(f"p88 {args.command}: p88-sandbox is not installed; {SANDBOX_INSTALL}", file=sys.stderr)
    return 2


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
