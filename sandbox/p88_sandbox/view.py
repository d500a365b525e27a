"""What a provider's fake API may ask of the sandbox world.

The fakes live in their provider's package and the world lays itself out from the registry that
lists those packages, so a fake must not import `world.py`: it types the world as this Protocol.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from p88_sandbox.fakes.provider import WorldShape
from p88_sandbox.generate import EventState, Partner


@dataclass(frozen=True)
class Registration:
    """One registration resolved from seed + overlays: what the APIs render."""

    pid: int
    event: EventState
    fields: dict[str, Any]
    registered_at: datetime
    modified_at: datetime
    removal: dict[str, Any] | None


class Clock(Protocol):
    def now(self) -> datetime: ...


class WorldView(Protocol):
    """The world as fakes and the change model see it (`world.World` is the one implementation)."""

    seed: int
    version: int
    advances: int
    shapes: dict[str, WorldShape]
    partners: list[Partner]
    lock: threading.RLock
    clock: Clock
    next_id: dict[str, int]

    def event_state(self, provider: str, event_id: int | str) -> EventState: ...

    def event_states(self, provider: str, partner_slug: str | None = None) -> list[EventState]: ...

    def race_events(self, provider: str, race_id: int) -> list[EventState]: ...

    def registration(self, event: EventState, pid: int) -> Registration: ...

    def active_ids(self, event: EventState) -> list[int]: ...

    def modified_at(self, event: EventState, pid: int) -> datetime: ...

    def partner_for(self, provider: str, secrets: dict[str, str | None]) -> Partner | None: ...

    def modify_participant(
        self,
        provider: str,
        event_id: int | str,
        participant_id: int | str,
        at: datetime | None = None,
        **fields: Any,
    ) -> None: ...

    def add_participant(
        self, provider: str, event_id: int | str, at: datetime | None = None, **fields: Any
    ) -> str: ...

    def remove_participant(
        self,
        provider: str,
        event_id: int | str,
        participant_id: int | str,
        reason: str = "cleared",
        at: datetime | None = None,
    ) -> str | None: ...
