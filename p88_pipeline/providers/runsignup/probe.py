"""RunSignUp's doctor probe: <= 7 calls (races <= 2, participants <= 2, removed <= 2, the filter
1), through the client's own page methods; judged by providers/probe.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from p88_pipeline.providers.base import Event, MalformedResponseError
from p88_pipeline.providers.fields import int_or_none
from p88_pipeline.providers.paging import parse_or_reject
from p88_pipeline.providers.probe import FAIL, PASS, Page, Probe, RowsRead, probe_with
from p88_pipeline.providers.runsignup.client import RACES_PAGE_MAX, RaceList, RunSignUpClient
from p88_pipeline.providers.runsignup.records import (
    PROVIDER,
    parse_event,
    parse_participant,
    parse_removal,
    record_id,
)

CHECKS = 11  # authentication, clock skew, 3 page caps, events list, 2 fields, order, gender, filter
EVERYTHING = datetime(2000, 1, 1, tzinfo=UTC)  # removed-participants needs a start: all of them


def _events(pages: list[Page]) -> tuple[list[Event], int]:
    events, races = [], 0
    for page in pages:
        for item in page.rows:
            race = item.get("race", item) if isinstance(item, dict) else None
            if not isinstance(race, dict) or "race_id" not in race:
                raise MalformedResponseError("races page: a race without race_id")
            races += 1
            events += [parse_event(race, raw) for raw in race.get("events") or []]
    return events, races


def _list(client: RunSignUpClient, p: Probe, listing: RaceList, event: Event) -> list:
    """<= 2 pages of one event's list (keyset: page 2 starts after page 1's last id)."""
    endpoint = listing.endpoint
    asked = client.caps.ask(endpoint, listing.wanted)
    first = Page(*_block(client.participants_page(listing, [event.event_id], asked)))
    second = None
    if p.second_page_needed(asked, first):
        ids = [int_or_none(r.get("registration_id")) for r in first.rows if isinstance(r, dict)]
        after = max((i for i in ids if i is not None), default=None)
        if after is not None:
            second = Page(
                *_block(client.participants_page(listing, [event.event_id], asked, after))
            )
    p.page_cap(endpoint, asked, first, second)
    return list(first.rows)


def _block(answer: tuple[list[tuple[str, list]], bool | None]) -> tuple[list, bool | None]:
    blocks, more = answer
    return [r for _, records in blocks for r in records], more


def _steps(client: RunSignUpClient, p: Probe) -> None:
    p.step = "events list"
    asked = client.caps.ask("races", RACES_PAGE_MAX)
    first = Page(*client.races_page(1, asked))
    p.authenticated("the races list answered")
    second = Page(*client.races_page(2, asked)) if p.second_page_needed(asked, first) else None
    p.page_cap("races", asked, first, second)
    events, races = _events([first, *([second] if second else [])])
    p.add(
        "events list",
        PASS,
        f"{len(events)} events in {races} races from {client.races_start_date()}",
    )
    event, why = p.pick(events)
    if event is None:
        p.add("participants", PASS, "no event listed: nothing more to probe")
        return
    p.step = "participants"
    rows = _list(client, p, client.participants_list(event.race_id), event)
    good, rejected = parse_or_reject(
        rows,
        lambda raw: parse_participant(raw, event.event_id),
        provider=PROVIDER,
        event_id=event.event_id,
        id_of=record_id,
    )
    needs = "registration_id and last_modified"
    p.rows("participants", RowsRead(len(rows), rejected), needs, f"event {event.event_id} ({why})")
    ids = [int(x.participant_id) for x in good if x.participant_id.isdigit()]
    p.order(
        "participants by registration_id",
        ids,
        False,
        FAIL,
        "keyset paging would skip registrations: report it to RunSignUp",
    )
    genders = sorted({x.gender or "-" for x in good})
    p.add("gender", PASS, f"{'/'.join(genders) or 'none'} seen (supports_nb=T sent)")
    p.step = "removed-participants"
    removed = _list(client, p, client.removals_list(event.race_id, EVERYTHING), event)
    _, bad = parse_or_reject(
        removed,
        lambda raw: parse_removal(raw, event.event_id),
        provider=PROVIDER,
        event_id=event.event_id,
    )
    p.rows(
        "removed-participants", RowsRead(len(removed), bad), "registration_id and a removal time"
    )
    p.step = "incremental filter"
    server_now = client.server_time() or p.target.now
    ahead = server_now + timedelta(days=1)
    blocks, _ = client.participants_page(
        client.participants_list(event.race_id, ahead), [event.event_id], 1
    )
    p.future_filter("modified_after_timestamp", len(_block((blocks, None))[0]))


probe = probe_with(_steps)
