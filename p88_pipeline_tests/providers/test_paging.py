"""The shared paging and parse-or-reject steps as plain functions (survivors of the mutation
check, docs/testing.md): the first keyset request carries no cursor, and a record that is not
even an object is rejected without asking it for an id."""

from __future__ import annotations

from typing import Any

from p88_pipeline.providers.paging import by_keyset, parse_or_reject


def test_keyset_paging_starts_without_a_cursor_and_stops_when_there_is_no_next() -> None:
    asked: list[Any] = []
    pages = {None: ["a", "b"], "b": ["c"]}

    def fetch(after: str | None) -> list[str]:
        asked.append(after)
        return pages[after]

    assert list(by_keyset(fetch, lambda page: page[-1] if len(page) == 2 else None)) == [
        ["a", "b"],
        ["c"],
    ]
    assert asked == [None, "b"]


def test_unreadable_records_are_rejected_with_their_id_when_they_have_one() -> None:
    def parse(raw: Any) -> str:
        return str(raw["name"])

    good, rejected = parse_or_reject(
        [{"id": "1", "name": "Ann"}, "not a record", {"id": "7"}],
        parse,
        provider="runsignup",
        event_id="e1",
        id_of=lambda raw: raw["id"],
    )
    assert good == ["Ann"]
    assert [(r.participant_id, r.event_id, r.provider) for r in rejected] == [
        (None, "e1", "runsignup"),
        ("7", "e1", "runsignup"),
    ]
