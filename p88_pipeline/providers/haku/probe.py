"""Haku's doctor probe: <= 7 calls (token 1, events <= 2, participants <= 2, one detail call when
list rows lack updated_at, the filter 1 when `updated_since_param` is set), through the client's
own page methods; judged by providers/probe.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from p88_pipeline.providers.haku.client import HakuClient
from p88_pipeline.providers.haku.records import parse_event
from p88_pipeline.providers.probe import PASS, WARN, Page, Probe, RowsRead, probe_with

CHECKS = 9  # authentication, clock skew, 2 page caps, events list, fields, 2 orders, filter
EARLY_STOP_WHY = "the sync reads every page of every event instead of stopping early: more calls"


def _pages(p: Probe, client: HakuClient, endpoint: str, fetch) -> list:
    """<= 2 pages of a page-numbered list, judged for its cap."""
    asked = client.caps.ask(endpoint, client.page_size)
    first = Page(*fetch(1, asked))
    second = Page(*fetch(2, asked)) if p.second_page_needed(asked, first) else None
    p.page_cap(endpoint, asked, first, second)
    return [*first.rows, *(second.rows if second else [])]


def _steps(client: HakuClient, p: Probe) -> None:
    client.tokens.get()
    p.authenticated("token issued")
    p.step = "events list"
    raw_events = _pages(p, client, "events", client.events_page)
    events = [parse_event(raw, client.timezone) for raw in raw_events]
    p.add("events list", PASS, f"{len(events)} events on the first pages (newest first)")
    starts = [e.start_time for e in events if e.start_time is not None]
    p.order(
        "events by event_date, newest first", starts, True, WARN, "none: the list is read whole"
    )
    event, why = p.pick(events)
    if event is None:
        p.add("participants", PASS, "no event listed: nothing more to probe")
        return
    p.step = "participants"
    read_at = client.server_time() or datetime.now(UTC)
    eid = event.event_id
    rows = _pages(p, client, "participants", lambda n, k: client.participants_page(eid, n, k))
    good, rejected = client.parse_rows(rows, eid, read_at)
    untimed = [x for x in good if x.modified_at is None]
    read = RowsRead(len(rows), rejected, len(untimed))
    p.rows("participants", read, "registration_number and updated_at", f"event {eid} ({why})")
    if untimed:
        p.step = "detail endpoint"
        detail = client.registration(eid, untimed[0].participant_id)
        has = isinstance(detail, dict) and detail.get("updated_at") not in (None, "")
        p.add(
            "detail endpoint",
            PASS if has else WARN,
            "carries updated_at" if has else "no updated_at there either",
            "" if has else "events stay full_compare; nothing else to do",
        )
    stamps = [x.modified_at for x in good if x.modified_at is not None]
    if untimed:
        p.add("sort order: participants", PASS, "not needed: untimed events are read whole")
    else:
        p.order("participants by updated_at, newest first", stamps, True, WARN, EARLY_STOP_WHY)
    if client.updated_since_param is None:
        p.add("incremental filter", PASS, "none configured: newest-first early stop instead")
        return
    p.step = "incremental filter"
    ahead = (client.server_time() or p.target.now) + timedelta(days=1)
    found, _ = client.participants_page(eid, 1, 1, ahead)
    p.future_filter(str(client.updated_since_param), len(found))


probe = probe_with(_steps)
