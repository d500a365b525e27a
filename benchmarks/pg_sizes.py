"""`python -m benchmarks.pg_sizes DB_URL`: the warehouse's table and index sizes as JSON.

Run on the every-event database a `p88 bench --keep-db` leaves (p88_bench_p88_all_events), for
the Postgres sizing in docs/deploy.md.
"""

from __future__ import annotations

import json
import sys

from p88_pipeline.warehouse.db import get_engine
from p88_pipeline.warehouse.sizes import warehouse_sizes


def main(argv: list[str]) -> int:
    print(json.dumps(warehouse_sizes(get_engine(argv[0])), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
