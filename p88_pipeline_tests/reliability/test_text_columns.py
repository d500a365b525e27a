"""All SQL is parameterised: SQL-looking and control-character strings go through every text column
of participants and provider_events (and the tables beside them) and come back verbatim; NUL,
which PostgreSQL text cannot hold, is the one character dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from p88_pipeline.providers.base import Event, Participant, RejectedRecord, Removal
from p88_pipeline.providers.fields import compact_json
from p88_pipeline.warehouse.events import (
    PartnerRow,
    load_events,
    mark_inaccessible,
    upsert_events,
    upsert_partner,
)
from p88_pipeline.warehouse.participants import ParticipantWriter
from p88_pipeline.warehouse.watermarks import Watermark, load_watermarks, save_watermarks
from p88_pipeline_tests.reliability.support import assert_equals_truth, sync

NASTY = (
    "Robert'); DROP TABLE participants;--",
    "' OR '1'='1",
    "\\N",
    "\\",
    '""',
    "a,b\nc\r\td",
    "\x01\x07\x1b[31m\x7f",
    "$$;$1 %s %(x)s {0} :name ?",
    "ñ😀\u202e\u200b",
    "nul\x00byte",
    "E'\\x00'",
    "--",
    "/* */",
    ";COMMIT;DROP SCHEMA public CASCADE;",
)
PROVIDER = "prov\"'; --"  # code constants in real runs; the columns take any text all the same
PARTNER = "p'; DROP TABLE timing_partners;--"
T = datetime(2030, 1, 1, tzinfo=UTC)
COVERED = {
    "participants": {
        "provider",
        "timing_partner_id",
        "event_id",
        "participant_id",
        "first_name",
        "last_name",
        "email",
        "gender",
        "bib",
        "chip",
        "team",
        "removed_reason",
        "raw",
    },
    "provider_events": {
        "provider",
        "timing_partner_id",
        "event_id",
        "race_id",
        "name",
        "race_name",
        "timezone",
        "raw",
        "inaccessible_reason",
    },
}


def clean(value: str) -> str:
    return value.replace("\x00", "")


def text_columns(engine: sa.Engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "current_schema() AND table_name = :t AND data_type IN ('text', 'jsonb', "
                    "'character varying')"
                ),
                {"t": table},
            ).scalars()
        )


def schema_objects(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            ).scalars()
        )


def test_nasty_strings_round_trip_through_every_text_column(engine: sa.Engine) -> None:
    for table, covered in COVERED.items():  # a new text column must be added to this test
        assert text_columns(engine, table) <= covered, table
    tables = schema_objects(engine)
    events = [
        Event(
            PROVIDER,
            f"e{i}{s}",
            f"r{s}",
            name=s,
            start_time=T,
            end_time=None,
            timezone=s,
            race_name=s,
            raw={"name": s, s: [s]},
        )
        for i, s in enumerate(NASTY)
    ]
    people = [
        Participant(
            PROVIDER,
            clean(e.event_id),
            f"p{s}",
            T,
            first_name=s,
            last_name=s,
            email=s,
            gender=s,
            bib=s,
            chip=s,
            team=s,
            registered_at=T,
            raw=compact_json({"first_name": s, s: {"nested": s}}),
        )
        for e, s in zip(events, NASTY, strict=True)
    ]
    with engine.begin() as conn:
        upsert_partner(conn, PartnerRow(PARTNER, PARTNER, NASTY[0], True, [PROVIDER, NASTY[1]]))
        upsert_events(conn, PARTNER, events)
        writer = ParticipantWriter(conn, PROVIDER, PARTNER)
        assert writer.upsert(people) == len(NASTY)
        removals = [
            Removal(PROVIDER, p.event_id, p.participant_id, T, reason=s)
            for p, s in zip(people, NASTY, strict=True)
        ]
        assert writer.apply_removals(removals) == len(NASTY)
        writer.reject(
            [
                RejectedRecord(PROVIDER, clean(e.event_id), s, {"raw": s}, f"x{s}")
                for e, s in zip(events, NASTY, strict=True)
            ]
        )
        mark = Watermark(T, NASTY[0])
        save_watermarks(conn, PROVIDER, PARTNER, [clean(e.event_id) for e in events], mark)
        for e, s in zip(events, NASTY, strict=True):  # a provider's refusal text, verbatim
            mark_inaccessible(conn, PROVIDER, PARTNER, [clean(e.event_id)], s)
    assert schema_objects(engine) == tables
    with engine.connect() as conn:
        stored = {
            e.event_id: e for e in load_events(conn, PROVIDER, PARTNER, retry_inaccessible=True)
        }
        refusals = dict(
            conn.execute(sa.text("SELECT event_id, inaccessible_reason FROM provider_events")).all()
        )
        marks = load_watermarks(conn, PROVIDER, PARTNER)
        rows = {
            r.participant_id: r
            for r in conn.execute(
                sa.text(
                    "SELECT * FROM participants WHERE provider = :p AND timing_partner_id = :t"
                ),
                {"p": PROVIDER, "t": PARTNER},
            )
        }
        rejected = conn.execute(
            sa.text("SELECT reason, raw FROM rejected_records ORDER BY id"),
        ).all()
        partner = conn.execute(sa.text("SELECT * FROM timing_partners")).one()
    assert (partner.timing_partner_id, partner.slug, partner.name, partner.providers) == (
        PARTNER,
        PARTNER,
        NASTY[0],
        [PROVIDER, NASTY[1]],
    )
    assert set(marks) == set(stored) == {clean(e.event_id) for e in events}
    for event, s in zip(events, NASTY, strict=True):
        assert refusals[clean(event.event_id)] == clean(s)
        got = stored[clean(event.event_id)]
        assert (got.race_id, got.name, got.race_name, got.timezone) == (
            clean(f"r{s}"),
            *[clean(s)] * 3,
        )
    for person, s in zip(people, NASTY, strict=True):
        row = rows[clean(person.participant_id)]
        expected = clean(s)
        assert (
            row.first_name,
            row.last_name,
            row.email,
            row.gender,
            row.bib,
            row.chip,
            row.team,
            row.removed_reason,
        ) == (expected,) * 8
        assert row.raw == {"first_name": expected, expected: {"nested": expected}}
    assert [(r.reason, json.loads(r.raw)) for r in rejected] == [
        (clean(s), {"raw": clean(s)}) for s in NASTY
    ]


def test_sql_looking_strings_from_the_api_land_verbatim(engine, sandbox) -> None:
    world = sandbox.world
    for event in world.event_states("runsignup", "bravo"):
        event.name, event.race_name = NASTY[0], NASTY[3]  # served in /races, stored as is
    first = sync(engine, sandbox, "bravo")
    event_id = next(iter(first.sync_types))
    ids = sorted(int(p) for _, p in world.truth("runsignup", "bravo", [event_id]))
    text_fields = ("first_name", "last_name", "email", "chip", "team_name", "gender")
    nasty = [s for s in NASTY if "\x00" not in s]  # the truth would keep a NUL; tested above
    for pid, s in zip(ids, nasty, strict=False):
        world.modify_participant("runsignup", event_id, pid, bib=s, **dict.fromkeys(text_fields, s))
    world.clock.advance(timedelta(minutes=1))
    gone = ids[len(nasty)]
    world.remove_participant("runsignup", event_id, gone, reason=NASTY[0])
    sync(engine, sandbox, "bravo")
    assert_equals_truth(engine, sandbox, "bravo")
    with engine.connect() as conn:
        names = set(
            conn.execute(sa.text("SELECT name || race_name FROM provider_events")).scalars()
        )
        rows = {
            r.participant_id: r
            for r in conn.execute(
                sa.text("SELECT * FROM participants WHERE event_id = :e"), {"e": event_id}
            )
        }
    assert names == {NASTY[0] + NASTY[3]}
    for pid, s in zip(ids, nasty, strict=False):
        row = rows[str(pid)]
        expected = s.strip() or None  # the client trims surrounding whitespace
        assert (
            row.first_name,
            row.last_name,
            row.email,
            row.chip,
            row.team,
            row.gender,
            row.bib,
        ) == (expected,) * 7, s
    assert rows[str(gone)].removed_reason == NASTY[0]
