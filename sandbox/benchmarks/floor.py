"""The load targets' reference: a raw COPY of the same rows, on a server with nothing else to do.

Right after a 400,000-row load, autovacuum vacuums and analyzes that table in the background,
and one COPY of about 3 s is its floor: measured once, the floor moved from 94,000 to 150,000
rows/s across three runs of one commit (load >= 40% of it read 47%, 44%, 34%). So the loaded
databases are vacuumed first, and the floor is the median of three COPYs.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import sqlalchemy as sa

from p88_pipeline.warehouse.db import get_engine

COPY_FLOOR_ROWS = 1_000_000  # every row at seed scale; a sample of a 10x world
FLOOR_COPIES = 3


def settle(db_url: str) -> None:
    """VACUUM (ANALYZE) what a load just wrote, so autovacuum does not run it during the next
    measurement (the floor, the load alone, race week)."""
    engine = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) participants"))
    engine.dispose()


def copy_floor(db_url: str, copies: int = FLOOR_COPIES) -> float:
    """The machine's floor: rows/s of a raw COPY of the same rows into an unindexed table, the
    median of `copies`. Through a temporary file: at 10x the rows are gigabytes."""
    engine = get_engine(db_url)
    rates = []
    with engine.begin() as conn, tempfile.TemporaryFile("w+") as buffer:
        cursor = conn.connection.driver_connection.cursor()
        sample = f"(SELECT * FROM participants LIMIT {COPY_FLOOR_ROWS})"
        cursor.copy_expert(f"COPY {sample} TO STDOUT", buffer)
        buffer.seek(0)
        rows = sum(1 for _ in buffer)
        cursor.execute("CREATE TEMP TABLE copy_floor (LIKE participants)")
        for _ in range(copies):
            cursor.execute("TRUNCATE copy_floor")
            buffer.seek(0)
            started = time.perf_counter()
            cursor.copy_expert("COPY copy_floor FROM STDIN", buffer)
            seconds = time.perf_counter() - started
            rates.append(rows / seconds if seconds else 0.0)
    return statistics.median(rates)
