"""How the Haku fake renders registrations, and how record faults find and spoil them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from p88_sandbox.view import Registration
from p88_sandbox.wire import Request, haku_time

EVENT_IN_PATH = re.compile(r"/events/([^/]+)/participants/?$")


class RecordShape:
    """Participants pages are one bare (or wrapped) list per event, the event id in the path."""

    id_key = "registration_number"
    page_size_param = "per_page"
    keyset = False
    first_page_only = True  # a change moves a record to page 1: only odd-ify where it stays
    removal_reason = "cancelled"
    escape_slashes = False
    # A row without updated_at is still a registration (stored, its event compared whole).
    problems = ("impossible date of birth", "impossible registration date")

    def blocks(self, body: Any, request: Request) -> list[tuple[str, list]]:
        rows = body.get("data") if isinstance(body, dict) else body
        events = self.events_of(request)
        return [(events[0], rows)] if isinstance(rows, list) and events else []

    def events_of(self, request: Request) -> list[str]:
        found = EVENT_IN_PATH.search(request.path)
        return [found.group(1)] if found else []

    def accepts(self, fields: Mapping[str, Any]) -> bool:
        """Haku sends one `person_full_name`: a first name with whitespace cannot round-trip."""
        first, last = fields.get("first_name", "x"), fields.get("last_name", "x")
        return first.split() == [first] and " ".join(last.split()) == last

    def render_odd(self, record: dict) -> None:
        """Render-only oddities (the truth does not change): ids and bibs as numbers."""
        record["registration_number"] = int(record["registration_number"])
        bib = record.get("bib_number")
        if isinstance(bib, str) and bib.isdigit() and str(int(bib)) == bib:
            record["bib_number"] = int(bib)

    def spoil(self, record: dict, problem: str) -> None:
        if problem == "impossible date of birth":
            record["date_of_birth"] = "1990-02-30"
        elif problem == "impossible registration date":
            record["registered_at"] = "2024-02-30 10:00:00"

    def id_value(self, pid: int) -> int | str:
        return str(pid)


def record(reg: Registration, style: str) -> dict[str, Any]:
    f = reg.fields
    cancelled_at = None if reg.removal is None else reg.removal["removed_at"]
    return {
        "registration_number": str(reg.pid),
        "event_id": reg.event.event_id,
        "person_full_name": f"{f['first_name']} {f['last_name']}",
        "email": f["email"],
        "age": f["age"],
        "gender": f["gender"],
        "date_of_birth": f["dob"],
        "bib_number": None if f["bib"] is None else str(f["bib"]),
        "is_cancelled": reg.removal is not None,
        "cancelled_at": haku_time(cancelled_at, style),
        "registered_at": haku_time(reg.registered_at, style),
        "updated_at": haku_time(reg.modified_at, style),
        "team": None if f["team_name"] is None else {"name": f["team_name"]},
        "transaction_amount": round((f["fee_cents"] + f["processing_cents"]) / 100, 2),
    }
