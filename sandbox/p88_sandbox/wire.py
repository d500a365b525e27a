"""What travels over the wire: request/response values and the providers' text formats.

Both fake APIs are plain functions from a `Request` to a `Response`; the HTTP server owns sockets,
faults and quotas. Formats live here so each odd convention (Eastern times, "T"/"F", "$55.00",
escaped slashes) has exactly one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    error_code: int | None = None


def json_response(
    payload: Any,
    status: int = 200,
    *,
    escape_slashes: bool = False,
    error_code: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    text = json.dumps(payload, separators=(",", ":"))
    if escape_slashes:  # PHP's json_encode does this; '/' only ever occurs inside strings
        text = text.replace("/", "\\/")
    return Response(status, text.encode(), "application/json", dict(headers or {}), error_code)


def text_response(
    status: int, text: str, content_type: str = "text/plain", headers: dict[str, str] | None = None
) -> Response:
    return Response(status, text.encode(), content_type, dict(headers or {}))


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def rsu_datetime(moment: datetime, zone: ZoneInfo = EASTERN) -> str:
    """RunSignUp's `M/D/YYYY HH:MM` in the given zone (Eastern unless it is an event time)."""
    local = moment.astimezone(zone)
    return f"{local.month}/{local.day}/{local.year} {local:%H:%M}"


def rsu_date(day: date) -> str:
    """RunSignUp's race dates: `MM/DD/YYYY`."""
    return f"{day:%m/%d/%Y}"


def eastern_full(moment: datetime) -> str:
    """Removed-participants dates: `YYYY-mm-dd HH:MM:SS`, Eastern."""
    return f"{moment.astimezone(EASTERN):%Y-%m-%d %H:%M:%S}"


def money(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


def tf(flag: bool) -> str:
    return "T" if flag else "F"


def haku_time(moment: datetime | None, style: str = "plain") -> str | None:
    """Haku timestamps: `plain` 'YYYY-mm-dd HH:MM:SS' UTC, `iso_z` with Z, `iso` with +00:00."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC).replace(microsecond=0)
    if style == "iso_z":
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "iso":
        return utc.isoformat()
    return utc.strftime("%Y-%m-%d %H:%M:%S")


def int_param(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    """An integer query parameter; ValueError names the parameter."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
