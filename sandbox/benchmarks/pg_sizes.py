"""`python -m benchmarks.pg_sizes DB_URL [--pad-to ROWS]`: table and index sizes as JSON.

Run on the every-event database a `p88 bench --keep-db` leaves (p88_bench_p88_all_events), for
the Postgres sizing in docs/deploy.md. `--pad-to` first copies its participants under new event
ids up to ROWS (a throwaway database only): sizes at a row count the sandbox does not list.
"""

from __future__ import annotations

import json
import sys

from p88_pipeline.warehouse.db import get_engine
from p88_pipeline.warehouse.sizes import pad_participants, warehouse_sizes


def main(argv: list[str]) -> int:
    engine = get_engine(argv[0])
    padded = pad_participants(engine, int(argv[2])) if argv[1:2] == ["--pad-to"] else 0
    print(json.dumps({"padded_rows": padded, **warehouse_sizes(engine)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
