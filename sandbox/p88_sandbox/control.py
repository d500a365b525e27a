"""Control endpoints for the `p88 sandbox` command: advance time, read the clock, list partners.

Not provider calls: they are never logged, throttled or faulted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from p88_sandbox.partners_file import render_partners_yaml
from p88_sandbox.wire import Request, Response, json_response


class Controlled(Protocol):
    """What the control endpoints need of the running server."""

    world: Any

    def account(self, provider: str) -> dict[str, str]: ...


def control(server: Controlled, request: Request) -> Response:
    """`p88 sandbox` endpoints: advance time, read the clock, list partners."""
    name = request.path.rstrip("/").rsplit("/", 1)[-1]
    if name == "advance" and request.method == "POST":
        try:
            days = float(request.params.get("days", "1"))
            hours = float(request.params.get("hours", "0"))
            rate = float(request.params.get("change_rate", "0.02"))
            changes = server.world.advance(timedelta(days=days, hours=hours), rate)
        except ValueError as exc:  # not a number, or a step backwards in time
            return json_response({"error": str(exc)}, 400)
        return json_response({"now": server.world.clock.now().isoformat(), "changes": changes})
    if name == "clock":
        return json_response(
            {
                "now": server.world.clock.now().isoformat(),
                "offset_seconds": server.world.clock.offset.total_seconds(),
            }
        )
    if name == "partners":
        partners = [
            {"id": p.id, "slug": p.slug, "name": p.name, "providers": p.providers}
            for p in server.world.partners
        ]
        return json_response(
            {"partners": partners, "partners_yaml": render_partners_yaml(server.world, server)}
        )
    return json_response({"error": f"unknown control endpoint {request.path}"}, 404)
