"""Bulk upserts: COPY + one INSERT ... ON CONFLICT; older versions never overwrite newer ones."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from p88_pipeline.providers.base import Participant, RejectedRecord, Removal
from p88_pipeline.providers.fields import compact_json
from p88_pipeline.warehouse.participants import ParticipantWriter

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def person(pid: str, modified: datetime, name: str = "Ann", event: str = "e1") -> Participant:
    return Participant(
        "runsignup",
        event,
        pid,
        modified,
        first_name=name,
        raw=compact_json({"registration_id": pid, "name": name}),
    )


def rows(engine: sa.Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        result = conn.execute(
            sa.text("SELECT participant_id, first_name, removed_reason FROM participants")
        )
        return {r[0]: (r[1], r[2]) for r in result}


def test_upsert_keeps_the_newest_version(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        assert writer.upsert([person("1", T0), person("2", T0)]) == 2
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        # "1" is newer: applied. "2" is older than what we hold: ignored.
        writer.upsert(
            [
                person("1", T0 + timedelta(hours=1), "Anna"),
                person("2", T0 - timedelta(hours=1), "Old"),
            ]
        )
    assert rows(engine) == {"1": ("Anna", None), "2": ("Ann", None)}


def test_a_registration_repeated_in_one_batch_is_written_once(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        writer.upsert([person("1", T0, "First"), person("1", T0 + timedelta(1), "Second")])
    assert rows(engine) == {"1": ("Second", None)}


def test_a_first_load_repeating_a_registration_keeps_its_newest_copy(engine: sa.Engine) -> None:
    # begin(full=True) on events with nothing stored takes the fast path (plain COPY); a page that
    # shifted may still repeat a registration, in either order.
    older, newer = T0, T0 + timedelta(hours=1)
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        writer.begin(["e1", "e2"], full=True)
        assert (
            writer.upsert(
                [
                    person("1", older, "Old", "e1"),
                    person("1", newer, "New", "e1"),
                    person("2", newer, "New", "e2"),
                    person("2", older, "Old", "e2"),
                ]
            )
            == 2
        )
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT event_id, first_name, modified_at FROM participants ORDER BY 1")
        ).all()
    assert [tuple(r) for r in stored] == [("e1", "New", newer), ("e2", "New", newer)]


def test_a_first_load_repeating_a_registration_across_batches_merges_it(
    engine: sa.Engine,
) -> None:
    """The fast path's COPY fails on a registration an earlier batch loaded (a page shifted
    under the read): that batch is merged instead, in the same transaction, newest copy kept."""
    older, newer = T0, T0 + timedelta(hours=1)
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        writer.begin(["e1"], full=True)
        assert writer.upsert([person("1", newer, "New"), person("2", older, "Bea")]) == 2
        assert writer.upsert([person("1", older, "Old"), person("3", older, "Cy")]) == 1
        assert writer.upsert([person("2", newer, "Bea2"), person("4", older, "Di")]) == 2
    assert rows(engine) == {
        "1": ("New", None),
        "2": ("Bea2", None),
        "3": ("Cy", None),
        "4": ("Di", None),
    }


def test_text_that_looks_like_sql_or_csv_is_stored_verbatim(engine: sa.Engine) -> None:
    nasty = 'Robert\'); DROP TABLE participants;-- "quoted", \\N back\\slash \n newline'
    with engine.begin() as conn:
        ParticipantWriter(conn, "runsignup", "101").upsert(
            [person("1", T0, nasty), person("2", T0, "")]
        )
    assert rows(engine) == {"1": (nasty, None), "2": ("", None)}


def test_reconcile_soft_deletes_what_a_full_read_did_not_return(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        ParticipantWriter(conn, "runsignup", "101").upsert([person("1", T0), person("2", T0)])
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        writer.upsert([person("1", T0)])
        assert writer.reconcile_missing(["e1"], T0 + timedelta(days=1)) == {"e1": 1}
    assert rows(engine) == {"1": ("Ann", None), "2": ("Ann", "missing from full sync")}


def test_removals_soft_delete_and_rejects_are_quarantined(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        writer.upsert([person("1", T0)])
        assert writer.apply_removals([Removal("runsignup", "e1", "1", T0, "transferred")]) == 1
        writer.reject([RejectedRecord("runsignup", "e1", "missing registration_id", {"x": 1})])
    assert rows(engine) == {"1": ("Ann", "transferred")}
    with engine.connect() as conn:
        reason = conn.execute(sa.text("SELECT reason FROM rejected_records")).scalar()
    assert reason == "missing registration_id"


@pytest.mark.parametrize("first_load", [True, False], ids=["fast-first-load", "staged-upsert"])
def test_every_field_is_stored_as_given_on_both_write_paths(
    engine: sa.Engine, first_load: bool
) -> None:
    """Each column, on the fast first-load path and the staged path (mutation survivors:
    the fast path's own encoder was only ever checked on first names)."""
    full = Participant(
        "runsignup",
        "e1",
        "1",
        T0,
        first_name="Ann",
        last_name='O"Neil',
        email="ann@example.com",
        dob="1990-02-03",
        gender="F",
        bib="101",
        chip="C-7",
        age=36,
        registered_at=T0 - timedelta(days=9),
        team="Harriers",
        amount_paid=Decimal("45.50"),
        raw=compact_json({"registration_id": "1", "n": 2**70}),
    )
    cancelled = Participant(
        "runsignup", "e1", "2", T0, removed_at=T0 - timedelta(hours=1), removed_reason="cancelled"
    )
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        if first_load:
            writer.begin(["e1"], full=True)
        assert writer.upsert([full, cancelled]) == 2
        assert writer.cancelled == 1
    with engine.connect() as conn:
        stored = {
            r.participant_id: r
            for r in conn.execute(sa.text("SELECT * FROM participants ORDER BY participant_id"))
        }
    one = stored["1"]
    assert (
        one.first_name,
        one.last_name,
        one.email,
        str(one.dob),
        one.gender,
        one.bib,
        one.chip,
        one.age,
        one.registered_at,
        one.team,
        one.amount_paid,
        one.removed_at,
        one.removed_reason,
    ) == (
        "Ann",
        'O"Neil',
        "ann@example.com",
        "1990-02-03",
        "F",
        "101",
        "C-7",
        36,
        T0 - timedelta(days=9),
        "Harriers",
        Decimal("45.50"),
        None,
        None,
    )
    assert one.raw == {"registration_id": "1", "n": 2**70}
    two = stored["2"]
    assert (two.removed_at, two.removed_reason) == (T0 - timedelta(hours=1), "cancelled")


def test_rows_without_modification_time_are_written_only_when_their_content_changes(
    engine: sa.Engine,
) -> None:
    def untimed(
        pid: str, name: str, removed: datetime | None = None, modified: datetime | None = None
    ) -> Participant:
        return Participant(
            "haku",
            "e1",
            pid,
            modified,
            first_name=name,
            removed_at=removed,
            removed_reason="cancelled" if removed else None,
            raw=compact_json(
                {"registration_number": pid, "name": name, "cancelled": removed is not None}
            ),
        )

    def write(*people: Participant) -> int:
        with engine.begin() as conn:
            writer = ParticipantWriter(conn, "haku", "101")
            writer.begin(["e1"], full=False)
            return writer.upsert(list(people))

    assert write(untimed("1", "Ann"), untimed("2", "Bob")) == 2
    assert write(untimed("1", "Ann"), untimed("2", "Bob")) == 0  # the same content: nothing
    assert write(untimed("1", "Anna"), untimed("2", "Bob")) == 1  # changed content wins
    # A cancellation without a time is stamped with the read's time; a later read of the same
    # cancelled record (another read time) is no change.
    assert write(untimed("1", "Anna"), untimed("2", "Bob", T0)) == 1
    assert write(untimed("1", "Anna"), untimed("2", "Bob", T0 + timedelta(hours=1))) == 0
    # A timed version replaces an untimed one, and the other way round.
    assert write(untimed("1", "Anna", modified=T0)) == 1
    assert write(untimed("1", "Anna")) == 1
    assert rows(engine) == {"1": ("Anna", None), "2": ("Bob", "cancelled")}


def staged_statements(conn: sa.Connection) -> list[str]:
    """The statements that go through the staging table from now on (the slow, merging path)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if "p88_participants_stage" in statement or "p88_seen_ids" in statement:
            seen.append(statement.split()[0])

    sa.event.listen(conn, "before_cursor_execute", note)
    return seen


def test_the_plain_copy_path_is_only_for_a_full_read_of_events_with_nothing_stored(
    engine: sa.Engine,
) -> None:
    """The fast path is the point of a first load (no staging, no merge, nothing to reconcile);
    any other read must merge, or it would duplicate or miss rows."""
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        staged = staged_statements(conn)
        assert writer.begin(["e1"], full=True) == {}
        assert writer.upsert([person("1", T0)]) == 1
        assert writer.upsert([person("2", T0)]) == 1  # a second page: still plain
        assert staged == []
        assert writer.reconcile_missing(["e1"], T0) == {}  # the read wrote every row
        assert staged == []
        # A page repeating a registration already loaded merges (newest wins), no duplicate.
        assert writer.upsert([person("2", T0 + timedelta(hours=1), "Newer")]) == 1
        assert staged != []
    assert rows(engine) == {"1": ("Ann", None), "2": ("Newer", None)}
    for full in (True, False):  # stored rows, or an incremental read: staged every time
        with engine.begin() as conn:
            writer = ParticipantWriter(conn, "runsignup", "101")
            staged = staged_statements(conn)
            assert writer.begin(["e1"], full=full) == ({"e1": 2} if full else {})
            writer.upsert([person(f"new-{full}", T0)])  # not stored yet: a COPY would not fail
            assert staged != []
    # A later group of the same writer with nothing stored is fresh again.
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        writer.begin(["e1"], full=False)
        writer.upsert([person("4", T0)])
        staged = staged_statements(conn)
        writer.begin(["e9"], full=True)
        writer.upsert([person("5", T0, event="e9")])
        assert staged == []


def test_counts_are_zero_for_nothing_and_cancellations_add_up_across_batches(
    engine: sa.Engine,
) -> None:
    def gone(pid: str) -> Participant:
        return Participant("runsignup", "e1", pid, T0, removed_at=T0, removed_reason="cancelled")

    for first_load in (True, False):
        with engine.begin() as conn:
            writer = ParticipantWriter(conn, "runsignup", "101")
            writer.begin(["e1"], full=first_load)
            assert writer.upsert([]) == 0
            assert writer.apply_removals([]) == 0
            assert writer.reject([]) == 0
            writer.upsert([gone(f"{first_load}-a")])
            writer.upsert([gone(f"{first_load}-b")])
            assert writer.cancelled == 2
            conn.rollback()
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        writer.upsert([person("1", T0)])
        writer.begin(["e1"], full=True)
        writer.upsert([person("1", T0)])
        assert writer.reconcile_missing(["e1"], T0) == {}  # nothing missing: nothing to report


def test_a_rejected_record_is_kept_whole_and_its_registration_counts_as_present(
    engine: sa.Engine,
) -> None:
    with engine.begin() as conn:
        ParticipantWriter(conn, "runsignup", "101").upsert([person("1", T0), person("2", T0)])
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "runsignup", "101")
        writer.begin(["e1"], full=True)
        writer.upsert([person("1", T0)])
        raw = {"registration_id": "2", "last_modified": "soon", "n": [1, None]}
        bad = RejectedRecord("runsignup", "e1", "bad last_modified", raw, participant_id="2")
        assert writer.reject([bad]) == 1
        assert writer.reconcile_missing(["e1"], T0) == {}
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT provider, timing_partner_id, event_id, reason, raw FROM rejected_records"
            )
        ).one()
    assert tuple(stored[:4]) == ("runsignup", "101", "e1", "bad last_modified")
    assert json.loads(stored.raw) == raw  # the payload as served, for a person to look at
    assert rows(engine) == {"1": ("Ann", None), "2": ("Ann", None)}


def test_a_first_load_repeating_a_registration_without_times_keeps_the_copy_read_last(
    engine: sa.Engine,
) -> None:
    """Rule 8's untimed records: with no time on a copy, the one read last is the latest word."""
    with engine.begin() as conn:
        writer = ParticipantWriter(conn, "haku", "101")
        writer.begin(["e1", "e2"], full=True)
        writer.upsert(
            [
                person("1", None, "First", "e1"),
                person("1", None, "Last", "e1"),
                person("2", T0, "Timed", "e2"),
                person("2", None, "Untimed", "e2"),
            ]
        )
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT event_id, first_name, modified_at FROM participants ORDER BY 1")
        ).all()
    assert [tuple(r) for r in stored] == [("e1", "Last", None), ("e2", "Untimed", None)]
