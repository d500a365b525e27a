"""Session-level advisory locks: one writer per partner and provider, whoever starts the sync."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def try_advisory_lock(engine: sa.Engine, key: str) -> Iterator[bool]:
    """Yields whether the lock on `key` was taken; it is released on exit.

    Autocommit: a session lock held by a connection that is not "idle in transaction" (which
    idle_in_transaction_session_timeout would end, silently releasing the lock).
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = bool(
            conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}).scalar()
        )
        try:
            yield got
        finally:
            if got:
                conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
