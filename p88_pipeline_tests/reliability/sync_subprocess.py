"""One partner's sync, stages 1-3 of p88_pipeline.sync.engine, in a process of its own, so a test
can SIGKILL it at any moment and look at what the warehouse kept.

    python -m p88_pipeline_tests.reliability.sync_subprocess SANDBOX_URL DB_URL SLUG
        [--provider runsignup] [--page-size N] [--force-full]

The partners file and the simulated clock come from the sandbox's control endpoints; credentials
from the environment, as in production. Exit status: 0 synced, 1 some events failed, 3 another
sync holds the partner's lock. The figures are printed as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa

from p88_pipeline.config.partners import find_partner, parse_partners
from p88_pipeline.providers.build import build_client
from p88_pipeline.providers.http import Transport
from p88_pipeline.sync.engine import (
    PartnerBusyError,
    SyncScope,
    select_future,
    sync_events,
    sync_participants,
)
from p88_pipeline.sync.figures import SyncFailedError
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline_tests.helpers import FAST_RETRY
from p88_pipeline_tests.reliability.support import with_page_size

EXIT_FAILED, EXIT_BUSY = 1, 3
APPLICATION_NAME = "p88-killable-sync"  # how a test finds this process's database sessions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sandbox_url")
    parser.add_argument("db_url")
    parser.add_argument("slug")
    parser.add_argument("--provider", default="runsignup")
    parser.add_argument("--page-size", type=int)
    parser.add_argument("--force-full", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    control = args.sandbox_url.rstrip("/") + "/_sandbox"
    partners = parse_partners(
        requests.get(f"{control}/partners", timeout=10).json()["partners_yaml"]
    )
    offset = timedelta(
        seconds=requests.get(f"{control}/clock", timeout=10).json()["offset_seconds"]
    )
    partner = with_page_size(find_partner(partners, args.slug), args.provider, args.page_size)
    policy = SyncPolicy(force_full=args.force_full)
    engine = sa.create_engine(args.db_url, connect_args={"application_name": APPLICATION_NAME})
    client = build_client(partner, args.provider, transport=Transport(FAST_RETRY))
    clock = lambda: datetime.now(UTC) + offset  # noqa: E731 (the sandbox's simulated now)
    try:
        sync_events(engine, client, partner)
        _, future = select_future(engine, args.provider, partner, clock(), policy)
        figures = sync_participants(SyncScope(engine, client, partner), future, policy, clock)
    except PartnerBusyError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BUSY
    except SyncFailedError as exc:
        print(json.dumps(exc.figures.as_dict()))
        return EXIT_FAILED
    print(json.dumps(figures.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
