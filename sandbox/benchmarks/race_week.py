"""Race week at scale: every partner's report and start lists, timed, in a process of its own
(so its peak memory is its own), on a warehouse holding every participant of every event.

`python -m benchmarks.race_week DB_URL PARTNERS_FILE AS_OF EXPORT_DIR` prints one JSON line.
`p88 bench --race-week` runs it alone on a freshly loaded world (harness.race_week_only).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.worker import peak_rss_mb
from p88_pipeline.config.partners import load_partners
from p88_pipeline.reports.export import export_start_lists
from p88_pipeline.reports.registrations import run_report
from p88_pipeline.settings import PROJECT_ROOT
from p88_pipeline.sync.plan import SyncPolicy, future_cutoff
from p88_pipeline.warehouse.db import get_engine


def measure(db_url: str, partners_file: str, as_of: datetime, export_dir: Path) -> dict[str, Any]:
    """Report, then export, for every active partner in turn, as their runs would."""
    engine = get_engine(db_url)
    partners = [p for p in load_partners(partners_file) if p.active]
    cutoff = future_cutoff(as_of, SyncPolicy().grace)
    started = time.perf_counter()
    events = active = 0
    for partner in partners:
        report = run_report(engine, partner.id, as_of, cutoff)
        events += len(report.rows)
        active += report.totals()["active"]
    report_s = time.perf_counter() - started
    files = rows = 0
    for partner in partners:
        result = export_start_lists(engine, partner, export_dir, cutoff)
        files += len(result.written)
        rows += sum(e.rows for e in result.written)
    total_s = time.perf_counter() - started
    return {
        "partners": len(partners),
        "events": events,
        "active": active,
        "report_s": report_s,
        "export_s": total_s - report_s,
        "wall_s": total_s,
        "files": files,
        "rows": rows,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_race_week(
    db_url: str, partners_file: Path, as_of: datetime, export_dir: Path
) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.race_week",
            db_url,
            str(partners_file),
            as_of.isoformat(),
            str(export_dir),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"race-week worker failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    db_url, partners_file, as_of, export_dir = argv
    print(
        json.dumps(measure(db_url, partners_file, datetime.fromisoformat(as_of), Path(export_dir)))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
