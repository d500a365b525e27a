"""COPY helpers: turn Python rows into a CSV stream PostgreSQL loads in one round trip."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa


def csv_field(value: Any) -> str:
    """CSV with NULL as an unquoted empty field and every text quoted, so '' stays ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return '"' + text.replace("\x00", "").replace('"', '""') + '"'


def csv_buffer(rows: Iterable[Sequence[Any]]) -> io.StringIO:
    buffer = io.StringIO()
    buffer.writelines(",".join(map(csv_field, row)) + "\n" for row in rows)
    buffer.seek(0)
    return buffer


def copy_rows(
    conn: sa.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """COPY rows into `table` on this connection's transaction; returns rows copied."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", csv_buffer(rows)
        )
        return cursor.rowcount
    finally:
        cursor.close()
