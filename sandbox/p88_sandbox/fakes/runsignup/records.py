"""How the RunSignUp fake renders registrations, and how record faults find and spoil them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from p88_sandbox.view import Registration
from p88_sandbox.wire import Request, eastern_full, money, rsu_datetime, tf, unix


class RecordShape:
    """Participants pages are a list of event blocks, keyset-paged by integer registration_id."""

    id_key = "registration_id"
    page_size_param = "results_per_page"
    keyset = True
    first_page_only = False
    removal_reason = "cleared"
    escape_slashes = True
    problems = (
        "impossible date of birth",
        "impossible registration date",
        "missing modification time",
    )

    def blocks(self, body: Any, request: Request) -> list[tuple[str, list]]:
        """Each event block's records: a removed-participants page nests them in its event."""
        if not isinstance(body, list):
            return []
        removals = request.path.rstrip("/").endswith("/removed-participants")
        found = []
        for b in body:
            if not isinstance(b, dict):
                continue
            event = b.get("event") if isinstance(b.get("event"), dict) else {}
            rows = event.get("participants") if removals else b.get("participants")
            if isinstance(rows, list):
                found.append((str(event.get("event_id")), rows))
        return found

    def events_of(self, request: Request) -> list[str]:
        return [e for e in request.params.get("event_id", "").split(",") if e.strip()]

    def accepts(self, fields: Mapping[str, Any]) -> bool:
        return True  # separate name fields: every odd name round-trips

    def render_odd(self, record: dict) -> None:
        """Render-only oddities (the truth does not change): ids and ages as strings."""
        record["registration_id"] = str(record["registration_id"])
        record["event_id"] = str(record["event_id"])
        if isinstance(record.get("age"), int):
            record["age"] = str(record["age"])

    def spoil(self, record: dict, problem: str) -> None:
        if problem == "impossible date of birth":
            record.setdefault("user", {})["dob"] = "1990-02-30"
        elif problem == "impossible registration date":
            record["registration_date"] = "2/30/2024 10:00"
        elif problem == "missing modification time":
            record.pop("last_modified", None)

    def id_value(self, pid: int) -> int | str:
        return pid


def participant_record(reg: Registration, nb: bool = True) -> dict[str, Any]:
    """`nb`: the client sent supports_nb=T; without it a non-binary X is not sent."""
    f = reg.fields
    fee, processing = f["fee_cents"], f["processing_cents"]
    record: dict[str, Any] = {
        "registration_id": reg.pid,
        "event_id": reg.event.event_id,
        "user": {
            "user_id": f["user_id"],
            "first_name": f["first_name"],
            "middle_name": f["middle_name"] or None,
            "last_name": f["last_name"],
            "email": f["email"],
            "address": {
                "street": f["street"],
                "city": f["city"],
                "state": f["state"],
                "zipcode": f["zipcode"],
                "country_code": "US",
            },
            "dob": f["dob"],
            "gender": f["gender"] if nb or f["gender"] != "X" else None,
            "phone": f["phone"],
            "profile_image_url": None,
        },
        "bib_num": f["bib"],
        "chip_num": f["chip"],
        "age": f["age"],
        "registration_date": rsu_datetime(reg.registered_at),
        "last_modified": unix(reg.modified_at),
        "team_id": f["team_id"],
        "team_name": f["team_name"],
        "team_type_id": None,
        "race_fee": money(fee),
        "processing_fee": money(processing),
        "amount_paid": money(fee + processing),
        "imported": tf(f["imported"]),
    }
    if reg.pid % 3 == 0:
        record["question_responses"] = [
            {
                "question_id": 9001,
                "question_text": "T-shirt size",
                "response": ("S", "M", "L", "XL")[reg.pid % 4],
            }
        ]
    return record


def removed_record(reg: Registration) -> dict[str, Any]:
    f = reg.fields
    removal = reg.removal or {}
    removed_at = removal.get("removed_at", reg.modified_at)
    record: dict[str, Any] = {
        "registration_id": reg.pid,
        "event_id": reg.event.event_id,
        "user": {
            "user_id": f["user_id"],
            "first_name": f["first_name"],
            "last_name": f["last_name"],
            "email": f["email"],
        },
        "registration_date": eastern_full(reg.registered_at),
        "removed_reason": removal.get("reason", "removed"),
        "last_modified": eastern_full(removed_at),
        "last_modified_ts": unix(removed_at),
    }
    if removal.get("new_registration_id") is not None:
        record["new_registration_id"] = removal["new_registration_id"]
    return record
