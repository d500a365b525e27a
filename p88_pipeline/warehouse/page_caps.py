"""page_caps: per provider account and list endpoint, what its server is known to return."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from p88_pipeline.providers.paging import Cap


def load_page_caps(conn: sa.Connection, provider: str, partner_id: str) -> dict[str, Cap]:
    rows = conn.execute(
        sa.text(
            "SELECT endpoint, cap, largest_page FROM page_caps "
            "WHERE provider = :provider AND timing_partner_id = :partner"
        ),
        {"provider": provider, "partner": partner_id},
    )
    return {r.endpoint: Cap(r.cap, r.largest_page) for r in rows}


def save_page_caps(
    conn: sa.Connection, provider: str, partner_id: str, caps: Mapping[str, Cap]
) -> None:
    """A learned cap replaces the old one (servers change); the largest page only grows."""
    for endpoint, cap in caps.items():
        conn.execute(
            sa.text(
                "INSERT INTO page_caps (provider, timing_partner_id, endpoint, cap, largest_page) "
                "VALUES (:provider, :partner, :endpoint, :cap, :largest) "
                "ON CONFLICT (provider, timing_partner_id, endpoint) DO UPDATE SET "
                "cap = coalesce(excluded.cap, page_caps.cap), "
                "largest_page = greatest(excluded.largest_page, page_caps.largest_page), "
                "updated_at = now()"
            ),
            {
                "provider": provider,
                "partner": partner_id,
                "endpoint": endpoint,
                "cap": cap.cap,
                "largest": cap.largest,
            },
        )
