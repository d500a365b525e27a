"""The COPY encoding, value by value, and the stream COPY reads: pure, no database.

The writers' tests load real rows, but each row is smaller than a COPY chunk and carries no
nested JSON beyond 64-bit integers, so the encoder's other branches need their own checks
(found by the mutation check, docs/testing.md).
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from p88_pipeline.warehouse.copy import CsvStream, csv_field, json_text, without_nul


class Level(enum.IntEnum):
    GOLD = 3


class Stamp(datetime):
    """A datetime subclass (as some drivers return): not an exact type in the dispatch table."""


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ('a"b', '"a""b"'),
        ("", '""'),  # empty text stays empty text
        (None, ""),  # NULL is the unquoted empty field
        (True, "t"),
        (False, "f"),
        (7, "7"),
        (Level.GOLD, "3"),
        (1.5, "1.5"),
        (Decimal("2.50"), "2.50"),
        (date(2026, 5, 1), '"2026-05-01"'),
        (Stamp(2026, 5, 1, 9, 30, tzinfo=UTC), '"2026-05-01T09:30:00+00:00"'),
        ({"k": [1, "x"]}, '"{""k"":[1,""x""]}"'),
        (["a", None], '"[""a"",null]"'),
        (uuid.UUID(int=1), '"00000000-0000-0000-0000-000000000001"'),
    ],
)
def test_csv_field_encodes_each_type(value: object, field: str) -> None:
    assert csv_field(value) == field


def test_json_keeps_big_integers_exact_and_text_unescaped() -> None:
    value = {"n": 2**70, "name": "Zoë", "when": date(2026, 5, 1)}
    assert json_text(value) == '{"n": 1180591620717411303424, "name": "Zoë", "when": "2026-05-01"}'
    assert json_text({"amount": Decimal("2.50"), "id": uuid.UUID(int=2)}) == (
        '{"amount":"2.50","id":"00000000-0000-0000-0000-000000000002"}'
    )


def test_nul_is_removed_everywhere_inside() -> None:
    assert without_nul({"a\x00": ["b\x00", ("c\x00", 1)]}) == {"a": ["b", ["c", 1]]}
    assert json_text({"a": ["x\x00y"]}) == '{"a":["xy"]}'


def test_the_stream_hands_out_exactly_the_sizes_asked_for() -> None:
    stream = CsvStream(["ab\n", "cd\n", "efg\n"])
    assert stream.readable()
    assert stream.read(0) == ""
    assert stream.read(4) == "ab\nc"
    assert stream.read(2) == "d\n"
    assert stream.read(3) == "efg"
    assert stream.read(-1) == "\n"
    assert stream.read(5) == ""


@pytest.mark.parametrize("size", [None, -1])
def test_the_stream_reads_everything_when_no_size_is_given(size: int | None) -> None:
    stream = CsvStream(["ab\n", "cd\n"])
    assert stream.read(1) == "a"
    assert stream.read(size) == "b\ncd\n"
    assert stream.read(size) == ""


def test_the_stream_encodes_lazily_only_the_lines_a_read_needs() -> None:
    """COPY reads in chunks while the rows are encoded: a batch is never held whole in memory."""
    consumed: list[str] = []

    def lines():
        for line in ["ab\n", "cd\n", "ef\n", "gh\n"]:
            consumed.append(line)
            yield line

    stream = CsvStream(lines())
    assert stream.read(3) == "ab\n" and consumed == ["ab\n"]
    assert stream.read(4) == "cd\ne" and consumed == ["ab\n", "cd\n", "ef\n"]
    assert stream.read() == "f\ngh\n"


def test_reading_everything_joins_the_remaining_lines_as_they_are() -> None:
    assert CsvStream(["a\n", "b\n", "c\n"]).read() == "a\nb\nc\n"
