"""What every provider's HTTP client is besides its endpoints: one paced, counted session at one
base URL, the credentials and options its account gives, and the page caps it learns there. The
engine, the doctor and the bench read `calls`, `caps` and `server_time()` from any client, and
every client is built the same way, so all of that is written once, here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from p88_pipeline.providers.http import ApiSession
from p88_pipeline.providers.paging import PageCaps

OptionsT = TypeVar("OptionsT")


class SessionClient(Generic[OptionsT]):
    """A subclass names its documented page caps and default options, and takes its
    credentials in `configure` (where it also hands them to the session to mask)."""

    documented_caps: ClassVar[Mapping[str, int | None]]
    default_options: ClassVar[object]

    def __init__(
        self,
        session: ApiSession,
        base_url: str,
        creds: Mapping[str, str],
        options: OptionsT | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.caps = PageCaps(self.documented_caps)
        self.options: OptionsT = options if options is not None else self.default_options  # type: ignore[assignment]
        self.configure(creds)

    def configure(self, creds: Mapping[str, str]) -> None:
        raise NotImplementedError

    @property
    def calls(self) -> int:
        return self.session.calls

    def server_time(self) -> datetime | None:
        """The server's clock at its last answer (its Date header), when it sent one."""
        return self.session.last_server_time
