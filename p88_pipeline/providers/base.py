"""Provider-neutral records and errors: what every platform client yields to the sync engine.

The engine never sees a provider's JSON shape, only these records, so adding a platform means
writing one client module and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class Event:
    """One event (a distance/start of a race) as the platform lists it.

    `start_time` is timezone-aware (converted from the race's own zone), so "is it in the future"
    is a plain comparison.
    """

    provider: str
    event_id: str
    race_id: str
    name: str
    start_time: datetime | None
    end_time: datetime | None
    timezone: str
    race_name: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)  # slots: a read holds thousands at once
class Participant:
    """One registration, normalized to the columns people query; `raw` keeps the original record
    as JSON text (`fields.json_text`): a read holds a page of these, not a page of dicts."""

    provider: str
    event_id: str
    participant_id: str
    modified_at: datetime | None  # None: the provider gave none (the event is then read whole)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    dob: str | None = None
    gender: str | None = None
    bib: str | None = None
    chip: str | None = None
    age: int | None = None
    registered_at: datetime | None = None
    team: str | None = None
    amount_paid: Decimal | None = None
    removed_at: datetime | None = None
    removed_reason: str | None = None
    raw: str = field(default="{}", compare=False)


@dataclass(frozen=True)
class Removal:
    """A registration the platform says is gone (cleared, transferred, cancelled...)."""

    provider: str
    event_id: str
    participant_id: str
    removed_at: datetime
    reason: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RejectedRecord:
    """A record the client could not turn into a Participant; quarantined, never silently lost.

    `participant_id`, when the record still carries one, marks the registration as present: a full
    sync must not soft-delete a registration only because the provider served it unreadable.
    """

    provider: str
    event_id: str
    reason: str
    raw: Any
    participant_id: str | None = None


@dataclass
class ParticipantPage:
    """One API page: good records, removals it carried, and records it rejected."""

    participants: list[Participant] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)


class ProviderConfigError(ValueError):
    """A partner's account settings cannot work for this provider (named in the message)."""


class ProviderError(Exception):
    """A provider answered with an error we cannot retry away."""

    def __init__(self, message: str, *, code: int | None = None, partner: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.partner = partner


class ThrottledError(ProviderError):
    """The provider throttled us (429, RunSignUp error 14) beyond our retry budget."""


class QuotaExhaustedError(ProviderError):
    """The partner's hourly call budget is spent; stop cleanly and resume next run."""


class AuthError(ProviderError):
    """Credentials were refused: never retried, never a reason to fall back to a full read."""


class InaccessibleError(ProviderError):
    """One race (or event) refuses this partner: permission denied, or not found. Not the
    credentials (those fail every call: AuthError); the partner's other races keep syncing."""


class FilterRejectedError(ProviderError):
    """The provider refused the incremental filter; a full read can fix this (full_fallback)."""


class UntimedRecordsError(ProviderError):
    """An incremental read met a record without a modification time: it cannot be filtered by
    time, so the event must be read whole and compared (full_compare)."""


class MalformedResponseError(ProviderError):
    """A page was not the JSON shape the provider documents (truncated, not JSON, wrong type)."""


class ProviderClient(Protocol):
    """What the sync engine needs from a platform.

    Participants are requested per *group* of events of one race, so platforms that accept several
    event ids in one call (RunSignUp) spend one call where others spend one per event.
    """

    provider: str
    calls: int

    def list_events(self) -> Iterator[Event]: ...

    def iter_participant_pages(
        self, events: Sequence[Event], modified_after: datetime | None
    ) -> Iterator[ParticipantPage]: ...

    def iter_removals(
        self, events: Sequence[Event], modified_after: datetime
    ) -> Iterator[ParticipantPage]: ...

    def server_time(self) -> datetime | None: ...
