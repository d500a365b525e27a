"""The test-only provider's fake, served by the sandbox like any registered provider's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from p88_pipeline_tests.providers.restful.client import PROVIDER
from p88_sandbox.view import WorldView
from p88_sandbox.wire import Request, Response, int_param, json_response

REGISTRATIONS = re.compile(r"^/restful/events/([^/]+)/registrations/?$")


@dataclass
class RestfulSettings:
    max_limit: int = 50


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


class RestfulApi:
    provider = PROVIDER
    prefixes = ("/restful/",)
    records = None  # no record faults for this one

    def __init__(self, world: WorldView, config: RestfulSettings) -> None:
        self.world = world
        self.config = config

    def account(self, server_url: str) -> dict[str, str]:
        return {"base_url": f"{server_url}/restful"}

    def open_call(self, request: Request) -> tuple[str | None, Response] | None:
        return None

    def authenticate(self, request: Request) -> tuple[str | None, Response | None]:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        partner = self.world.partner_for(PROVIDER, {"api_token": token})
        if partner is None:
            return None, json_response({"error": "unauthorized"}, 401)
        return partner.slug, None

    def throttled(self, retry_after: int) -> Response:
        return json_response({"error": "slow down"}, 429, headers={"Retry-After": "1"})

    def error_in_array(self, code: int) -> Response:
        return json_response({"error": code}, 500)

    def bad_request(self) -> Response:
        return json_response({"error": "bad request"}, 400)

    def handle(self, request: Request, slug: str) -> Response:
        try:
            offset = int_param(request.params, "offset", 0) or 0
            limit = min(int_param(request.params, "limit", 10) or 10, self.config.max_limit)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        if request.path.rstrip("/") == "/restful/events":
            events = self.world.event_states(PROVIDER, slug)[offset : offset + limit]
            return json_response({"events": [self.event(e) for e in events]})
        found = REGISTRATIONS.match(request.path)
        if found is None:
            return json_response({"error": "not found"}, 404)
        try:
            event = self.world.event_state(PROVIDER, found.group(1))
        except KeyError:
            return json_response({"error": "not found"}, 404)
        if event.partner_slug != slug:
            return json_response({"error": "not found"}, 404)
        with self.world.lock:
            ids = event.all_ids()
            since = request.params.get("updated_since")
            if since:
                cutoff = datetime.fromisoformat(since.replace("Z", "+00:00"))
                ids = [i for i in ids if self.world.modified_at(event, i) >= cutoff]
            rows = [self.registration(event, pid) for pid in ids[offset : offset + limit]]
        return json_response({"registrations": rows})

    def event(self, e: Any) -> dict[str, Any]:
        zone = ZoneInfo(e.timezone)
        return {
            "id": e.event_id,
            "name": e.race_name,
            "starts_at": e.start.astimezone(zone).isoformat(),
            "ends_at": None if e.end is None else e.end.astimezone(zone).isoformat(),
            "timezone": e.timezone,
        }

    def registration(self, event: Any, pid: int) -> dict[str, Any]:
        reg = self.world.registration(event, pid)
        f = reg.fields
        return {
            "id": reg.pid,
            "first_name": f["first_name"],
            "last_name": f["last_name"],
            "email": f["email"],
            "bib": f["bib"],
            "registered_at": iso(reg.registered_at),
            "updated_at": iso(reg.modified_at),
            "deleted_at": iso(reg.removal["removed_at"]) if reg.removal else None,
        }
