"""Haku client: OAuth2 client-credentials tokens, page/per_page paging, newest-first early stop.

Known only from one production integration's code (PROVIDERS.md), so everything uncertain is a
partner option: `token_url`, `updated_since_param` (a server-side filter, if the server has one),
`timezone` (of zone-less timestamps, default UTC). Haku has no removed-participants list: a
cancellation is a flag on the registration, so removals arrive with the participants.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from p88_pipeline.providers.base import (
    AuthError,
    Event,
    FilterRejectedError,
    InaccessibleError,
    Participant,
    ParticipantPage,
    ProviderConfigError,
    ProviderError,
    RejectedRecord,
    UntimedRecordsError,
)
from p88_pipeline.providers.haku.records import (
    PROVIDER,
    UTC_ZONE,
    error_in_body,
    newest_first,
    parse_event,
    parse_participant,
    registration_id,
    unwrap_list,
)
from p88_pipeline.providers.haku.tokens import Tokens
from p88_pipeline.providers.http import Answer, ApiSession, RetryableBody
from p88_pipeline.providers.paging import (
    PageSize,
    by_page_number,
    more_from_headers,
    parse_or_reject,
)
from p88_pipeline.providers.session_client import SessionClient
from p88_pipeline.providers.spec import AccountSettings
from p88_pipeline.providers.timeparse import iso_utc, zone

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.hakuapp.com"
DEFAULT_TOKEN_URL = "https://prod-auth.hakuapp.com/oauth2/token"
DEFAULT_PAGE_SIZE = 100
FILTER_STATUSES = (400, 422)  # what a server that does not know the filter might answer
# Nothing documents Haku's maxima (the old code's "25" contradicts its later 100 and 500): every
# list endpoint's cap is learned per account, and a short page is not trusted until then.
DOCUMENTED_CAPS: dict[str, int | None] = {"events": None, "participants": None}
GRACE = timedelta(days=1)  # the sync's default; sync_events sets the run's
PAST_MARGIN = timedelta(days=1)  # the events list stops a day past the sync's own cutoff


def _check_page(body: Any) -> None:
    """Errors inside a 200 are retried, then fail the event: never read as an empty page."""
    error = error_in_body(body)
    if error is not None:
        raise RetryableBody(f"Haku error in a 200 body: {str(error)[:200]}")


@dataclass(frozen=True)
class HakuOptions:
    """How a Haku account is read (partners.yaml `page_size` and options): where its tokens
    come from, the modification filter's name if the account confirmed one, its zone."""

    token_url: str = DEFAULT_TOKEN_URL
    page_size: int = DEFAULT_PAGE_SIZE
    updated_since_param: str | None = None
    timezone: str = "UTC"


class HakuClient(SessionClient[HakuOptions]):
    provider = PROVIDER
    documented_caps = DOCUMENTED_CAPS
    default_options = HakuOptions()

    def configure(self, creds: Mapping[str, str]) -> None:
        """`creds`: the account's `client_id` and `client_secret` (values, from the environment)."""
        session, options = self.session, self.options
        self.token_url = options.token_url
        self.page_size = max(1, options.page_size)
        self.updated_since_param = options.updated_since_param or None
        self.grace = GRACE
        self._listed_from: datetime | None = None
        self.timezone = options.timezone if zone(options.timezone, None) else "UTC"
        self.tz = zone(self.timezone, UTC_ZONE)
        self.tokens = Tokens(session, options.token_url, creds["client_id"], creds["client_secret"])

    @classmethod
    def from_account(
        cls,
        session: ApiSession,
        account: AccountSettings,
        creds: Mapping[str, str],
    ) -> HakuClient:
        """Build from partners.yaml: the token URL is required unless base_url is production."""
        options = account.options
        token_url = options.get("token_url")
        if not token_url:
            if account.base_url.rstrip("/") != DEFAULT_API_URL:
                raise ProviderConfigError(
                    f"partner {session.partner}: provider haku: token_url is required when "
                    f"base_url is not {DEFAULT_API_URL}"
                )
            token_url = DEFAULT_TOKEN_URL
        return cls(
            session,
            account.base_url,
            creds,
            HakuOptions(
                token_url=str(token_url),
                page_size=account.page_size or DEFAULT_PAGE_SIZE,
                updated_since_param=options.get("updated_since_param"),
                timezone=str(options.get("timezone") or "UTC"),
            ),
        )

    def parse_rows(
        self, rows: Sequence[Any], event_id: str, read_at: datetime
    ) -> tuple[list[Participant], list[RejectedRecord]]:
        """One page's records as participants, and those refused whole (quarantined, never
        dropped): the same reading for a sync and for `p88 doctor`'s probe."""
        return parse_or_reject(
            rows,
            lambda raw: parse_participant(raw, event_id, self.tz, read_at),
            provider=PROVIDER,
            event_id=event_id,
            id_of=registration_id,
        )

    # ------------------------------------------------------------------ calls
    def _get(
        self,
        path: str,
        params: dict[str, Any],
        *,
        filtered: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Any:
        token = self.tokens.get()
        try:
            return self.session.request_json(
                "GET",
                f"{self.base_url}{path}",
                params=params,
                headers={"Authorization": token, "Accept": "application/json"},
                answer=Answer(
                    check_body=_check_page,
                    on_unauthorized=lambda: self.tokens.renew_after(token),
                    headers=headers,
                ),
            )
        except FilterRejectedError:
            raise
        except ProviderError as exc:
            if exc.code in (403, 404) and path.startswith("/events/"):  # this event refuses us
                raise InaccessibleError(str(exc), code=exc.code, partner=exc.partner) from None
            if isinstance(exc, AuthError):
                raise
            if filtered and exc.code in FILTER_STATUSES:
                raise FilterRejectedError(str(exc), code=exc.code, partner=exc.partner) from None
            raise

    def events_page(self, page: int, per_page: int) -> tuple[list, bool | None]:
        headers: dict[str, str] = {}
        body = self._get(
            "/events",
            {
                "page": page,
                "per_page": per_page,
                "sort_column": "event_date",
                "sort_direction": "desc",
                "show_inactive": "true",
            },
            headers=headers,
        )
        return unwrap_list(body, f"events page {page}"), more_from_headers(headers)

    def list_events(self) -> Iterator[Event]:
        """Newest first (event_date desc): once a page ends before the cutoff (the server's now
        minus the grace and a day), every later page is older and the read stops there, with
        no page read to prove an end. Trusted only while the order is seen to hold; the list is
        then complete from its oldest event on (`listed_from`, for event retirement)."""
        self._listed_from = None
        size = PageSize(self.page_size, "events", self.caps)
        previous: datetime | None = None
        ordered = True
        for rows in by_page_number(self.events_page, size):
            events = [parse_event(raw, self.timezone) for raw in rows]
            yield from events
            starts = [e.start_time for e in events]
            seen = [*([previous] if previous else []), *starts]
            ordered = ordered and None not in starts and newest_first(seen)
            if not ordered:  # out of order (or undated): every page is read
                continue
            previous = starts[-1] if starts else previous
            now = self.session.last_server_time or datetime.now(UTC)
            if previous is not None and previous < now - self.grace - PAST_MARGIN:
                self._listed_from = previous + timedelta(microseconds=1)
                return

    def listed_from(self) -> datetime | None:
        """None when the last list was read to its end; else from when it is complete."""
        return self._listed_from

    def iter_participant_pages(
        self, events: Sequence[Event], modified_after: datetime | None
    ) -> Iterator[ParticipantPage]:
        for event in events:
            yield from self._event_pages(event.event_id, modified_after)

    def participants_page(
        self, event_id: str, page: int, per_page: int, since: datetime | None = None
    ) -> tuple[list, bool | None]:
        """One page of an event's registrations, newest first; `since` goes to the server's
        filter (`updated_since_param`, which must be set). Rows, and what metadata says."""
        params: dict[str, Any] = {"sort_column": "updated_at", "sort_direction": "desc"}
        if since is not None:
            params[str(self.updated_since_param)] = iso_utc(since)
        headers: dict[str, str] = {}
        body = self._get(
            f"/events/{event_id}/participants",
            {**params, "per_page": per_page, "page": page},
            filtered=since is not None,
            headers=headers,
        )
        rows = unwrap_list(body, f"event {event_id} participants page {page}")
        return rows, more_from_headers(headers)

    def registration(self, event_id: str, number: str) -> Any:
        """GET /events/{id}/registrations/{number}: one registration in full (the old
        integration read updated_at and cancelled_at only here)."""
        return self._get(f"/events/{event_id}/registrations/{number}", {})

    def _event_pages(
        self, event_id: str, modified_after: datetime | None
    ) -> Iterator[ParticipantPage]:
        """Pages of one event, newest first; with a cutoff, stop at the first older record.

        A record equal to the cutoff is kept. The early stop (the quirk: closing the pager) is
        trusted only while the server's order is seen to be newest first; otherwise every page
        is read and filtered here.
        """
        cutoff = modified_after.astimezone(UTC).replace(microsecond=0) if modified_after else None
        filtered = cutoff is not None and self.updated_since_param is not None
        since = cutoff if filtered else None

        def fetch(page: int, per_page: int) -> tuple[list, bool | None]:
            return self.participants_page(event_id, page, per_page, since)

        ordered, previous = True, None
        read_at = self.session.last_server_time or datetime.now(UTC)
        size = PageSize(self.page_size, "participants", self.caps)
        for rows in by_page_number(fetch, size):
            good, rejected = self.parse_rows(rows, event_id, read_at)
            if cutoff is not None and any(p.modified_at is None for p in good):
                raise UntimedRecordsError(
                    f"haku partner {self.session.partner} event {event_id}: records without "
                    "updated_at in an incremental read",
                    partner=self.session.partner,
                )
            page, reached_older = ParticipantPage(rejected=rejected), False
            stamps = [p.modified_at for p in good]
            seen = [previous, *stamps] if previous else stamps
            if cutoff is not None and ordered and not newest_first(seen):
                ordered = False
                log.warning(
                    "haku partner %s event %s: participants not sorted newest first; "
                    "reading every page",
                    self.session.partner,
                    event_id,
                )
            previous = stamps[-1] if stamps else previous
            for participant in good:
                if cutoff is not None and participant.modified_at < cutoff:
                    reached_older = True
                    continue
                page.participants.append(participant)
            yield page
            if reached_older and ordered:
                return

    def iter_removals(
        self, events: Sequence[Event], modified_after: datetime
    ) -> Iterator[ParticipantPage]:
        """Nothing to read: Haku cancellations come inside the participant records."""
        yield from ()
