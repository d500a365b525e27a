"""Haku, as far as anyone knows it: client-credentials tokens, events, participants.

Low-confidence details (list wrapping, page cap, whether `updated_since` works, timestamp style)
are SandboxConfig settings. Tokens expire on the simulated clock, so advancing a night expires them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from p88_pipeline.providers.haku.records import PROVIDER
from p88_sandbox.fakes.haku.records import RecordShape, record
from p88_sandbox.generate import EventState
from p88_sandbox.view import WorldView
from p88_sandbox.wire import Request, Response, haku_time, int_param, json_response

PARTICIPANTS_PATH = re.compile(r"^/haku/api/events/([^/]+)/participants/?$")
DETAIL_PATH = re.compile(r"^/haku/api/events/([^/]+)/registrations/([^/]+)/?$")
EVENTS_PATH = re.compile(r"^/haku/api/events/?$")
TOKEN_PATH = "/haku/auth/oauth2/token"


@dataclass
class HakuSettings:
    """What nobody knows for sure about Haku (PROVIDERS.md), as knobs."""

    max_per_page: int = 100
    default_per_page: int = 25
    wrap_lists: bool = False  # {"data": [...]} instead of a bare list
    updated_since: bool = False  # honour the filter parameter (the real API may not)
    updated_since_param: str = "updated_since"
    token_expires_in: int = 3600  # seconds of SIMULATED time
    timestamp_style: str = "plain"  # plain 'YYYY-mm-dd HH:MM:SS' UTC | iso_z | iso
    silent_cap: int | None = None  # every list endpoint returns at most N rows, saying nothing
    pagination_links: bool = False  # a `Link` header: rel="next" while more rows follow
    rows_without_updated_at: bool = False  # list rows lack updated_at/cancelled_at (detail has)


def problem(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message, "status": status}, status, headers=headers)


class HakuApi:
    provider = PROVIDER
    prefixes = ("/haku/api/", TOKEN_PATH)

    def __init__(self, world: WorldView, config: HakuSettings) -> None:
        self.world = world
        self.config = config
        self.records = RecordShape()
        self._tokens: dict[str, tuple[str, datetime]] = {}
        self._issued = 0

    def account(self, server_url: str) -> dict[str, str]:
        """partners.yaml settings of an account on this fake."""
        return {"base_url": f"{server_url}/haku/api", "token_url": f"{server_url}{TOKEN_PATH}"}

    def open_call(self, request: Request) -> tuple[str | None, Response] | None:
        """The token endpoint: answered before authentication, outside the call quota."""
        if request.path != TOKEN_PATH:
            return None
        if request.method != "POST":
            return None, json_response({"error": "method not allowed"}, 405)
        return self.token(request)

    def error_in_array(self, code: int) -> Response:
        return json_response([{"error": {"error_code": code, "error_msg": "error"}}])

    def bad_request(self) -> Response:
        return problem(400, "Bad Request")

    # ---------------------------------------------------------------- auth
    def token(self, request: Request) -> tuple[str | None, Response]:
        """POST /oauth2/token: Basic client_id:client_secret, grant_type=client_credentials."""
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return None, json_response({"error": "unsupported_grant_type"}, 400)
        client_id, secret = _basic(request.headers.get("authorization", ""))
        if client_id is None:  # some clients post the credentials in the form
            client_id, secret = form.get("client_id"), form.get("client_secret")
        partner = self.world.partner_for(
            PROVIDER, {"client_id": client_id, "client_secret": secret}
        )
        if partner is None:
            return None, json_response({"error": "invalid_client"}, 401)
        self._issued += 1
        raw = f"{self.world.seed}:{partner.slug}:{self._issued}".encode()
        token = hashlib.sha256(raw).hexdigest()
        expires = self.config.token_expires_in
        self._tokens[token] = (partner.slug, self.world.clock.now() + timedelta(seconds=expires))
        return partner.slug, json_response(
            {"access_token": token, "expires_in": expires, "token_type": "access_token"}
        )

    def authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        token = request.headers.get("authorization", "").strip()
        entry = self._tokens.get(token)
        if entry is None:
            return None, problem(401, "Unauthorized")
        slug, expires = entry
        if self.world.clock.now() >= expires:
            return None, problem(401, "Token expired")
        return slug, None

    def throttled(self, retry_after: int) -> Response:
        return problem(429, "Too Many Requests", {"Retry-After": str(retry_after)})

    # ---------------------------------------------------------------- routes
    def handle(self, request: Request, partner_slug: str) -> Response:
        try:
            if EVENTS_PATH.match(request.path):
                return self.wrap(*self.events(request.params, partner_slug))
            detail = DETAIL_PATH.match(request.path)
            if detail is not None:
                return self.detail(partner_slug, detail.group(1), detail.group(2))
            found = PARTICIPANTS_PATH.match(request.path)
            if found is None:
                return problem(404, "Not Found")
            try:
                event = self.world.event_state(PROVIDER, found.group(1))
            except KeyError:
                return problem(404, "Event not found")
            if event.partner_slug != partner_slug:
                return problem(404, "Event not found")
            with self.world.lock:
                return self.wrap(*self.participants(event, request.params))
        except ValueError as exc:
            return problem(400, str(exc))

    def wrap(self, items: list[dict[str, Any]], more: bool = False) -> Response:
        headers = {}
        if self.config.pagination_links:
            headers["Link"] = '<?page=next>; rel="next"' if more else '<?page=1>; rel="first"'
        return json_response({"data": items} if self.config.wrap_lists else items, headers=headers)

    def paging(self, params: dict[str, str]) -> tuple[int, int]:
        page = int_param(params, "page", 1) or 1
        per_page = int_param(params, "per_page", self.config.default_per_page) or 1
        if page < 1 or per_page < 1:
            raise ValueError("page and per_page must be positive")
        cap = min(self.config.max_per_page, self.config.silent_cap or self.config.max_per_page)
        return page, min(per_page, cap)

    def detail(self, partner_slug: str, event_id: str, number: str) -> Response:
        """GET /events/{id}/registrations/{number}: one registration with every field."""
        try:
            event = self.world.event_state(PROVIDER, event_id)
            if event.partner_slug != partner_slug:
                raise KeyError(event_id)
            with self.world.lock:
                reg = self.world.registration(event, int(number))
        except (KeyError, ValueError):
            return problem(404, "Registration not found")
        return json_response(record(reg, self.config.timestamp_style))

    def events(
        self, params: dict[str, str], partner_slug: str
    ) -> tuple[list[dict[str, Any]], bool]:
        page, per_page = self.paging(params)
        now = self.world.clock.now()
        show_inactive = params.get("show_inactive", "false").lower() in ("true", "1", "t")
        rows = [self.event(e, now) for e in self.world.event_states(PROVIDER, partner_slug)]
        if not show_inactive:
            rows = [r for r in rows if r["status"] == "active"]
        column = params.get("sort_column", "event_date")
        if column not in ("event_date", "id", "name"):
            column = "event_date"
        descending = params.get("sort_direction", "asc").lower() == "desc"
        keyed = sorted(
            rows,
            key=lambda r: (r["_sort"] if column == "event_date" else r[column], r["id"]),
            reverse=descending,
        )
        for r in keyed:
            r.pop("_sort")
        return keyed[(page - 1) * per_page : page * per_page], len(keyed) > page * per_page

    def event(self, e: EventState, now: datetime) -> dict[str, Any]:
        zone = ZoneInfo(e.timezone)
        style = self.config.timestamp_style
        return {
            "id": e.event_id,
            "name": e.name,
            "_sort": e.start,
            "event_date": e.start.astimezone(zone).isoformat(),
            "event_end_date": None if e.end is None else e.end.astimezone(zone).isoformat(),
            "status": "active" if e.start > now - timedelta(days=30) else "inactive",
            "location_city": e.city,
            "location_state": e.state,
            "timezone": e.timezone,
            "registration_open": e.registration_opens <= now < e.start,
            "created_at": haku_time(e.created, style),
        }

    def _by_update(self, event: EventState, ids: list[int], descending: bool) -> list[int]:
        """Sorted by updated_at, cached until the world changes: a client pages through one
        event with many calls, and re-sorting thousands of records per call is quadratic."""
        cache: dict[tuple, list[int]] = self.__dict__.setdefault("_order_cache", {})
        key = (*_order_key(self.world, event, descending), hash(tuple(ids)))
        if key not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[key] = sorted(
                ids, key=lambda i: (self.world.modified_at(event, i), i), reverse=descending
            )
        return list(cache[key])

    def participants(
        self, event: EventState, params: dict[str, str]
    ) -> tuple[list[dict[str, Any]], bool]:
        page, per_page = self.paging(params)
        ids = event.all_ids()
        raw_since = params.get(self.config.updated_since_param)
        if self.config.updated_since and raw_since:
            since = parse_time(raw_since)
            ids = [i for i in ids if self.world.modified_at(event, i) >= since]
        column = params.get("sort_column", "id")
        descending = params.get("sort_direction", "asc").lower() == "desc"
        if column == "updated_at":
            ids = self._by_update(event, ids, descending)
        elif column == "registered_at":
            regs = {i: self.world.registration(event, i).registered_at for i in ids}
            ids.sort(key=lambda i: (regs[i], i), reverse=descending)
        else:
            ids.sort(reverse=descending)
        chunk = ids[(page - 1) * per_page : page * per_page]
        style = self.config.timestamp_style
        rows = [record(self.world.registration(event, i), style) for i in chunk]
        if self.config.rows_without_updated_at:  # the old integration's reading of list rows
            for row in rows:
                row.pop("updated_at", None)
                row.pop("cancelled_at", None)
        return rows, len(ids) > page * per_page


def _order_key(world: Any, event: EventState, descending: bool) -> tuple:
    return (event.provider, event.event_id, descending, world.version)


def parse_time(raw: str) -> datetime:
    """ISO 8601 (with Z, offset or none = UTC), 'YYYY-mm-dd HH:MM:SS' or a bare date."""
    text = raw.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"updated_since is not a timestamp: {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _basic(header: str) -> tuple[str | None, str | None]:
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
