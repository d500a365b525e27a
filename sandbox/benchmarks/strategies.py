"""The three strategies `p88 bench` compares, as settings of the same engine.

`before` and `seed-optimized` reproduce the old system and its fix: what differs from p88 is only
what they did differently (which events, page sizes, calls per event, row-by-row writes,
partners in series), so the comparison measures exactly those choices.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from p88_pipeline.providers.base import Participant
from p88_pipeline.sync.plan import SyncPolicy
from p88_pipeline.warehouse.copy import json_text
from p88_pipeline.warehouse.participants import COLUMNS, UPDATABLE, ParticipantWriter


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    all_events: bool = False  # every event, not only future ones
    always_full: bool = False  # full reads every night
    page_size: int | None = None  # every provider's page size; None: the client's own
    group_by_race: bool = True  # one participants call per race (several event ids)
    early_stop: bool = True  # incremental reads without a server-side filter (newest first)
    row_by_row: bool = False  # one INSERT and COMMIT per participant
    parallel_partners: int = 13
    parallel_groups: int = 2
    paced: bool = True  # the per-partner token bucket

    @property
    def grace(self) -> timedelta:
        """How far back an event still counts as one to sync: a century for the every-event
        strategies (the old system read every event, past ones too), else the sync's own."""
        return EVERY_EVENT_GRACE if self.all_events else SyncPolicy.grace


EVERY_EVENT_GRACE = timedelta(days=365 * 100)

STRATEGIES: dict[str, Strategy] = {
    "before": Strategy(
        "before",
        "old system: every event, full reads, pages of 25, INSERT+COMMIT per row, "
        "partners in series",
        all_events=True,
        always_full=True,
        page_size=25,
        group_by_race=False,
        early_stop=False,
        row_by_row=True,
        parallel_partners=1,
        parallel_groups=1,
        paced=False,
    ),
    "seed-optimized": Strategy(
        "seed-optimized",
        "the old fix: future events, per-event incremental (7-day rule), pages "
        "of 100, per-row upserts, partners in series",
        page_size=100,
        group_by_race=False,
        early_stop=False,
        row_by_row=True,
        parallel_partners=1,
        parallel_groups=1,
        paced=False,
    ),
    "p88": Strategy(
        "p88",
        "this engine as shipped: per-race calls, largest pages, early-stop "
        "Haku paging, COPY upserts, 4 partners in parallel (the CLI's default)",
        parallel_partners=4,
    ),
    # Not a strategy of its own: p88 loading every event's participants (all 407,053 at seed
    # scale), the measure of the load path at full size.
    "p88-all-events": Strategy(
        "p88-all-events",
        "p88 with every event counted as future",
        all_events=True,
        parallel_partners=4,
    ),
    # The same rows again, one partner and one race group at a time: the load stage alone, as
    # the raw COPY floor and `before` (partners in series) are measured. In the run above, a
    # load shares 2 cores with the sandbox serving and 3 other partners fetching and parsing.
    "p88-load-alone": Strategy(
        "p88-load-alone",
        "p88 with every event counted as future, one partner and race group at a time",
        all_events=True,
        parallel_partners=1,
        parallel_groups=1,
    ),
}


class LoadMeter:
    """Rows handed to the load stage (writer.upsert) and the wall time it was busy: the union of
    the upsert intervals, so overlapping loads of parallel partners are not counted twice."""

    def __init__(self) -> None:
        self.rows = 0
        self._intervals: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    @property
    def intervals(self) -> list[tuple[float, float]]:
        return list(self._intervals)

    def add(self, started: float, ended: float, rows: int) -> None:
        with self._lock:
            self._intervals.append((started, ended))
            self.rows += rows

    @property
    def seconds(self) -> float:
        busy, reach = 0.0, float("-inf")
        for start, end in sorted(self._intervals):
            if end > reach:
                busy += end - max(start, reach)
                reach = end
        return busy


def timed_writer(meter: LoadMeter, row_by_row: bool, dsn: str):
    """A writer factory for the engine's LoadOptions, measuring the load stage."""

    base = RowByRowWriter if row_by_row else ParticipantWriter

    class TimedWriter(base):  # type: ignore[valid-type, misc]
        def upsert(self, participants: Sequence[Participant]) -> int:
            started = time.perf_counter()
            written = super().upsert(participants)
            meter.add(started, time.perf_counter(), len(participants))
            return written

    def factory(conn: sa.Connection, provider: str, partner_id: str) -> ParticipantWriter:
        writer = TimedWriter(conn, provider, partner_id)
        writer.dsn = dsn
        return writer

    return factory


class RowByRowWriter(ParticipantWriter):
    """The old load: one INSERT ... ON CONFLICT and one COMMIT per participant."""

    dsn: str = ""
    _local = threading.local()  # one autocommitting connection per worker thread

    @property
    def _raw(self):
        import psycopg2

        if getattr(self._local, "conn", None) is None:
            self._local.conn = psycopg2.connect(self.dsn)
            # Still one round trip and one COMMIT per row, but without waiting for each WAL
            # flush: conservative (the old system waited), and the bench ends in minutes.
            with self._local.conn.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
            self._local.conn.commit()
        return self._local.conn

    def upsert(self, participants: Sequence[Participant]) -> int:
        from psycopg2.extras import Json

        cols = ", ".join(COLUMNS)
        sql = (
            f"INSERT INTO participants ({cols}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
            "ON CONFLICT (provider, timing_partner_id, event_id, participant_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in UPDATABLE if c != "synced_at")
            + " WHERE excluded.modified_at >= participants.modified_at"
        )
        written = 0
        with self._raw.cursor() as cursor:
            for p in participants:
                cursor.execute(
                    sql,
                    (
                        p.provider,
                        self.partner_id,
                        p.event_id,
                        p.participant_id,
                        p.first_name,
                        p.last_name,
                        p.email,
                        p.dob,
                        p.gender,
                        p.bib,
                        p.chip,
                        p.age,
                        p.registered_at,
                        p.modified_at,
                        p.team,
                        p.amount_paid,
                        p.removed_at,
                        p.removed_reason,
                        Json(p.raw, dumps=json_text),
                    ),
                )
                self._raw.commit()
                written += cursor.rowcount
        self.note_seen(participants)  # a full read still reconciles deletes
        return written
