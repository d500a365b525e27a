"""The test-only provider's client: offset/limit pages, `updated_since` on incremental reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from p88_pipeline.providers.base import (
    Event,
    FilterRejectedError,
    MalformedResponseError,
    Participant,
    ParticipantPage,
    ProviderError,
)
from p88_pipeline.providers.fields import compact_json, text_or_none
from p88_pipeline.providers.http import ApiSession
from p88_pipeline.providers.paging import PageSize, by_offset, parse_or_reject
from p88_pipeline.providers.spec import AccountSettings
from p88_pipeline.providers.timeparse import iso_utc, parse_local, zone

PROVIDER = "restful"
PAGE_SIZE = 50


def parse_event(raw: Any) -> Event:
    if not isinstance(raw, dict) or raw.get("id") is None:
        raise MalformedResponseError(f"events: an event without id: {raw!r:.80}")
    tz = zone(raw.get("timezone"), zone("UTC", None))
    return Event(
        provider=PROVIDER,
        event_id=str(raw["id"]),
        race_id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        start_time=parse_local(raw.get("starts_at"), tz),
        end_time=parse_local(raw.get("ends_at"), tz),
        timezone=str(raw.get("timezone") or "UTC"),
        race_name=str(raw.get("name") or ""),
        raw=raw,
    )


def parse_registration(raw: Any, event_id: str) -> Participant:
    rid = text_or_none(raw.get("id"))
    modified = parse_local(raw.get("updated_at"), UTC)
    if rid is None or modified is None:
        raise ValueError("missing id or updated_at")
    deleted = parse_local(raw.get("deleted_at"), UTC)
    return Participant(
        provider=PROVIDER,
        event_id=event_id,
        participant_id=rid,
        modified_at=modified,
        first_name=text_or_none(raw.get("first_name")),
        last_name=text_or_none(raw.get("last_name")),
        email=text_or_none(raw.get("email")),
        bib=text_or_none(raw.get("bib")),
        registered_at=parse_local(raw.get("registered_at"), UTC),
        removed_at=deleted,
        removed_reason="deleted" if deleted else None,
        raw=compact_json(raw),
    )


class RestfulClient:
    provider = PROVIDER

    def __init__(self, session: ApiSession, base_url: str, token: str, page_size: int) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self._headers = {"Authorization": f"Bearer {token}"}
        session.add_secret(token)

    @classmethod
    def from_account(
        cls, session: ApiSession, account: AccountSettings, creds: Mapping[str, str]
    ) -> RestfulClient:
        return cls(session, account.base_url, creds["api_token"], account.page_size or PAGE_SIZE)

    @property
    def calls(self) -> int:
        return self.session.calls

    def server_time(self) -> datetime | None:
        return self.session.last_server_time

    def _list(self, path: str, key: str, params: dict[str, Any], filtered: bool) -> list:
        try:
            body = self.session.request_json(
                "GET", f"{self.base_url}{path}", params=params, headers=self._headers
            )
        except ProviderError as exc:
            if filtered and exc.code == 400:
                raise FilterRejectedError(str(exc), code=400, partner=exc.partner) from None
            raise
        rows = body.get(key) if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise MalformedResponseError(f"{path}: no {key!r} list in {body!r:.80}")
        return rows

    def list_events(self) -> Iterator[Event]:
        def fetch(offset: int, limit: int) -> list:
            return self._list("/events", "events", {"offset": offset, "limit": limit}, False)

        for rows in by_offset(fetch, PageSize(self.page_size)):
            yield from (parse_event(raw) for raw in rows)

    def iter_participant_pages(
        self, events: Sequence[Event], modified_after: datetime | None
    ) -> Iterator[ParticipantPage]:
        since = {} if modified_after is None else {"updated_since": iso_utc(modified_after)}
        for event in events:
            path = f"/events/{event.event_id}/registrations"

            def fetch(offset: int, limit: int, path: str = path) -> list:
                params = {"offset": offset, "limit": limit, **since}
                return self._list(path, "registrations", params, bool(since))

            for rows in by_offset(fetch, PageSize(self.page_size)):
                good, rejected = parse_or_reject(
                    rows,
                    lambda raw, e=event.event_id: parse_registration(raw, e),
                    provider=PROVIDER,
                    event_id=event.event_id,
                    id_of=lambda raw: text_or_none(raw.get("id")),
                )
                yield ParticipantPage(participants=good, rejected=rejected)

    def iter_removals(
        self, events: Sequence[Event], modified_after: datetime
    ) -> Iterator[ParticipantPage]:
        """Deletions carry `deleted_at` inside the registrations list."""
        yield from ()
