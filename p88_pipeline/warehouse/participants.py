"""Bulk writes of participants: COPY into a temp table, then one INSERT ... ON CONFLICT per batch.

All methods run on the caller's connection so that data and watermark commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg2.errors
import sqlalchemy as sa

from p88_pipeline.providers.base import Participant, RejectedRecord, Removal
from p88_pipeline.warehouse.copy import (
    copy_lines,
    copy_rows,
    json_text,
    stored_json,
    without_nul,
)

COLUMNS = (
    "provider",
    "timing_partner_id",
    "event_id",
    "participant_id",
    "first_name",
    "last_name",
    "email",
    "dob",
    "gender",
    "bib",
    "chip",
    "age",
    "registered_at",
    "modified_at",
    "team",
    "amount_paid",
    "removed_at",
    "removed_reason",
    "raw",
)
UPDATABLE = [c for c in COLUMNS[4:]] + ["synced_at"]

_STAGE = "p88_participants_stage"
# When a read row replaces the stored one. Newer wins; an equal timestamp only rewrites a row
# whose content differs, so an overlap re-read or a re-run writes nothing and the count means
# "changed". Without a timestamp on either side (rule 8: records the provider serves without a
# modification time, read whole) the read is the latest word: it wins when its content, its
# timestamp or its removed state differs (not the removed time: a cancellation without a time
# is stamped with the read's time, which must not count as a change at every read).
_CHANGED = (
    "excluded.modified_at > participants.modified_at "
    "OR (excluded.modified_at = participants.modified_at AND ("
    "excluded.raw IS DISTINCT FROM participants.raw "
    "OR excluded.removed_at IS DISTINCT FROM participants.removed_at)) "
    "OR ((excluded.modified_at IS NULL OR participants.modified_at IS NULL) AND ("
    "excluded.raw IS DISTINCT FROM participants.raw "
    "OR excluded.modified_at IS DISTINCT FROM participants.modified_at "
    "OR (excluded.removed_at IS NULL) <> (participants.removed_at IS NULL)))"
)
_SEEN = "p88_seen_ids"


def _text(value: object) -> str:
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    return '"' + text.replace("\x00", "").replace('"', '""') + '"'


def _moment(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _csv_line(partner_id: str, p: Participant) -> str:
    """One participant as a CSV line, field by field: the hot loop of every load, written out
    rather than dispatched per value (same encoding as copy.csv_field)."""
    return (
        ",".join(
            (
                _text(p.provider),
                _text(partner_id),
                _text(p.event_id),
                _text(p.participant_id),
                _text(p.first_name),
                _text(p.last_name),
                _text(p.email),
                _text(p.dob),
                _text(p.gender),
                _text(p.bib),
                _text(p.chip),
                "" if p.age is None else str(int(p.age)),
                _moment(p.registered_at),
                _moment(p.modified_at),
                _text(p.team),
                "" if p.amount_paid is None else str(p.amount_paid),
                _moment(p.removed_at),
                _text(p.removed_reason),
                _text(stored_json(p.raw)),
            )
        )
        + "\n"
    )


def _older(a: Participant, b: Participant) -> bool:
    """Whether `a` is an older copy than `b` (of one registration read twice). Without times the
    later copy wins: it was read last."""
    if a.modified_at is None or b.modified_at is None:
        return False
    return a.modified_at < b.modified_at


class ParticipantWriter:
    """Writes one partner's participants for one provider inside an open transaction."""

    def __init__(self, conn: sa.Connection, provider: str, partner_id: str) -> None:
        self.conn = conn
        self.provider = provider
        self.partner_id = partner_id
        self.cancelled = 0
        self.track_seen = True  # only a full read reconciles; begin() says which this is
        self._staged = False
        self._fresh = False
        # Session-lived temp tables emptied at each commit: no catalog churn per transaction, and
        # no defaults (the stage must not draw ids from the participants sequence).
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS AS "
            f"SELECT {', '.join(COLUMNS)} FROM participants WITH NO DATA"
        )
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {_SEEN} "
            "(event_id text NOT NULL, participant_id text NOT NULL) ON COMMIT DELETE ROWS"
        )

    def begin(self, event_ids: Sequence[str], full: bool) -> dict[str, int]:
        """Start a group; for a full read, return each event's active registrations before it.

        A full read of events with nothing stored yet (a first sync) is loaded with a plain COPY
        into participants: no staging pass, no conflicts possible, nothing to reconcile. The
        partner lock guarantees nobody else writes these events meanwhile."""
        self.track_seen = full
        self._fresh = False
        if not full:
            return {}
        rows = self.conn.execute(
            sa.text(
                "SELECT event_id, count(*) AS stored, count(*) FILTER (WHERE removed_at IS NULL) "
                "AS active FROM participants WHERE provider = :provider "
                "AND timing_partner_id = :partner AND event_id = ANY(:event_ids) GROUP BY event_id"
            ),
            {"provider": self.provider, "partner": self.partner_id, "event_ids": list(event_ids)},
        ).all()
        self._fresh = not rows
        return {r.event_id: r.active for r in rows}

    def upsert(self, participants: Sequence[Participant]) -> int:
        """Stage a batch with COPY and merge it; a row only overwrites an older or equal version."""
        if not participants:
            return 0
        if self._fresh:
            newest: dict[tuple[str, str], Participant] = {}
            for p in participants:  # a page that shifted may repeat a registration
                key = (p.event_id, p.participant_id)
                if key not in newest or not _older(p, newest[key]):
                    newest[key] = p
            try:
                # In a savepoint: a registration an earlier batch loaded (a page shifted under
                # the read) fails this COPY on the primary key, and the batch is merged instead.
                # Cheaper than remembering every key loaded, which grows with the race.
                with self.conn.begin_nested():
                    copy_lines(
                        self.conn,
                        "participants",
                        COLUMNS,
                        (_csv_line(self.partner_id, p) for p in newest.values()),
                    )
            except psycopg2.errors.UniqueViolation:
                pass
            else:
                self.cancelled += sum(p.removed_at is not None for p in newest.values())
                return len(newest)
        if self._staged:
            self.conn.exec_driver_sql(f"DELETE FROM {_STAGE}")
        self._staged = True
        lines = (_csv_line(self.partner_id, p) for p in participants)
        copy_lines(self.conn, _STAGE, COLUMNS, lines)
        self.note_seen(participants)
        cols = ", ".join(COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in UPDATABLE)
        # DISTINCT ON: a page that shifted under us may repeat a registration; keep its newest.
        written, removed = self.conn.exec_driver_sql(
            f"WITH written AS (INSERT INTO participants ({cols}) "
            f"SELECT DISTINCT ON (event_id, participant_id) {cols} FROM {_STAGE} "
            "ORDER BY event_id, participant_id, modified_at DESC NULLS LAST "
            "ON CONFLICT (provider, timing_partner_id, event_id, participant_id) "
            f"DO UPDATE SET {updates} "
            f"WHERE {_CHANGED} "
            "RETURNING removed_at) SELECT count(*), count(removed_at) FROM written"
        ).one()
        self.cancelled += removed  # cancellations carried in records (Haku's is_cancelled)
        return written

    def note_seen(self, participants: Sequence[Participant]) -> None:
        """Remember what a full read returned, for reconcile_missing. A fresh load needs none:
        every stored row of its events came from the read itself."""
        if self.track_seen and not self._fresh:
            copy_rows(
                self.conn,
                _SEEN,
                ("event_id", "participant_id"),
                ((p.event_id, p.participant_id) for p in participants),
            )

    def apply_removals(self, removals: Sequence[Removal]) -> int:
        """Soft-delete registrations the provider listed as removed (never a hard delete)."""
        if not removals:
            return 0
        result = self.conn.execute(
            sa.text(
                "UPDATE participants SET removed_at = :removed_at, removed_reason = :reason, "
                "synced_at = now() "
                "WHERE provider = :provider AND timing_partner_id = :partner "
                "AND event_id = :event_id AND participant_id = :participant_id "
                "AND (removed_at IS NULL OR removed_reason IS DISTINCT FROM :reason)"
            ),
            [
                {
                    "removed_at": r.removed_at,
                    "reason": without_nul(r.reason),
                    "provider": self.provider,
                    "partner": self.partner_id,
                    "event_id": without_nul(r.event_id),
                    "participant_id": without_nul(r.participant_id),
                }  # provider text: NUL dropped, as COPY drops it from the rows it matches
                for r in removals
            ],
        )
        return result.rowcount

    def reconcile_missing(self, event_ids: Sequence[str], removed_at: datetime) -> dict[str, int]:
        """After a complete read, soft-delete active registrations the read did not return;
        returns how many per event."""
        if self._fresh:
            return {}  # every stored row of these events came from this very read
        rows = self.conn.execute(
            sa.text(
                "WITH gone AS (UPDATE participants p SET removed_at = :removed_at, "
                "removed_reason = 'missing from full sync', synced_at = now() "
                "WHERE p.provider = :provider AND p.timing_partner_id = :partner "
                "AND p.event_id = ANY(:event_ids) AND p.removed_at IS NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {_SEEN} s "
                "WHERE s.event_id = p.event_id AND s.participant_id = p.participant_id) "
                "RETURNING p.event_id) SELECT event_id, count(*) AS n FROM gone GROUP BY event_id"
            ),
            {
                "removed_at": removed_at,
                "provider": self.provider,
                "partner": self.partner_id,
                "event_ids": list(event_ids),
            },
        )
        return {r.event_id: r.n for r in rows}

    def reject(self, rejected: Sequence[RejectedRecord]) -> int:
        """Quarantine records the client could not read, with the reason and the raw payload."""
        if not rejected:
            return 0
        copy_rows(
            self.conn,
            "rejected_records",
            ("provider", "timing_partner_id", "event_id", "reason", "raw"),
            (
                (r.provider, self.partner_id, r.event_id, r.reason, json_text(r.raw))
                for r in rejected
            ),
        )
        # A registration served unreadable still exists: a full sync must not soft-delete it.
        copy_rows(
            self.conn,
            _SEEN,
            ("event_id", "participant_id"),
            ((r.event_id, r.participant_id) for r in rejected if r.participant_id is not None),
        )
        return len(rejected)
