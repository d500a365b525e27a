"""Table, index and connection figures of a server, for capacity planning (docs/deploy.md)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

SIZES = sa.text(
    """
    SELECT c.relname AS table_name,
           c.reltuples::bigint AS rows_estimate,
           pg_table_size(c.oid) AS table_bytes,
           pg_indexes_size(c.oid) AS index_bytes,
           pg_total_relation_size(c.oid) AS total_bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname = current_schema()
    ORDER BY pg_total_relation_size(c.oid) DESC
    """
)
INDEXES = sa.text(
    """
    SELECT t.relname AS table_name, i.relname AS index_name,
           pg_relation_size(i.oid) AS index_bytes
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema()
    ORDER BY pg_relation_size(i.oid) DESC
    """
)


def warehouse_sizes(engine: sa.Engine) -> dict[str, Any]:
    """Per table (rows, table, index and total bytes) and per index, largest first; the exact
    participant count beside the planner's estimate."""
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        tables = [dict(r._mapping) for r in conn.execute(SIZES)]
        indexes = [dict(r._mapping) for r in conn.execute(INDEXES)]
        participants = conn.execute(sa.text("SELECT count(*) FROM participants")).scalar_one()
        database = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    return {
        "participants": participants,
        "database_bytes": database,
        "tables": tables,
        "indexes": indexes,
    }


CONNECTIONS = sa.text(
    """
    SELECT coalesce(datname, '') AS datname, count(*) AS connections
    FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
    GROUP BY datname
    """
)


def connections_by_database(conn: sa.Connection) -> dict[str, int]:
    """Client connections open on the server, per database (pg_stat_activity), not counting
    the one asking."""
    return {r.datname: int(r.connections) for r in conn.execute(CONNECTIONS)}


def max_connections(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SHOW max_connections")).scalar_one())


def pad_participants(engine: sa.Engine, target: int) -> int:
    """Capacity measurement only, on a throwaway database: copies of the stored participants
    under new event ids (`<event>~<n>`) until `target` rows, so table and index sizes are read
    at a row count the sandbox's listings do not reach. Returns the rows added."""
    added = 0
    with engine.begin() as conn:
        have = conn.execute(sa.text("SELECT count(*) FROM participants")).scalar_one()
        copy = 0
        while have < target:
            copy += 1
            conn.execute(sa.text("DROP TABLE IF EXISTS pad_copy"))
            conn.execute(
                sa.text(
                    "CREATE TEMP TABLE pad_copy AS SELECT * FROM participants "
                    "WHERE event_id NOT LIKE '%~%' LIMIT :need"
                ),
                {"need": target - have},
            )
            conn.execute(
                sa.text("UPDATE pad_copy SET event_id = event_id || '~' || :copy"), {"copy": copy}
            )
            rows = conn.execute(sa.text("INSERT INTO participants SELECT * FROM pad_copy")).rowcount
            if rows <= 0:
                break
            have += rows
            added += rows
    return added
