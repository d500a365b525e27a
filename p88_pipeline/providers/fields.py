"""Tolerant readers for provider field values, shared by every client."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson


def text_or_none(value: Any) -> str | None:
    """Stripped text; empty means absent."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def int_or_none(value: Any) -> int | None:
    """An int from 42, "42" or "42.0"; anything else is absent, not an error."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 in JSON is infinity
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return None


def parse_money(value: Any) -> Decimal | None:
    """Money as "$1,055.00", "55.5" or 55.5 -> Decimal; a non-amount rejects the record."""
    text = text_or_none(value)
    if text is None:
        return None
    try:
        return Decimal(text.replace("$", "").replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not a money amount: {text!r}") from None


def compact_json(value: Any) -> str:
    """Compact JSON text of a payload. A record is kept as its text once read: a page of parsed
    dicts takes several times the memory of its text, and the text is all the warehouse stores.
    orjson (this runs for every record); the standard library for what orjson refuses, such as
    integers beyond 64 bits, which must not be rounded."""
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=str)
