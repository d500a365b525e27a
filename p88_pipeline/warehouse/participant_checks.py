"""The queries behind the asset checks on `<provider>/participants`: duplicate keys, participants
whose event is missing, future events whose watermark lags. Each returns a sample of offending
rows plus the total in every row (a window count), so one round trip answers a check."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from p88_pipeline.warehouse.events import future_condition

SAMPLE = 20

_PARTNER_FILTER = "(CAST(:partner AS text) IS NULL OR p.timing_partner_id = :partner)"

_DUPLICATES_SQL = sa.text(
    f"""
    SELECT p.timing_partner_id, p.event_id, p.participant_id, count(*) AS copies,
           count(*) OVER () AS duplicate_keys
    FROM participants p
    WHERE p.provider = :provider AND {_PARTNER_FILTER}
    GROUP BY p.timing_partner_id, p.event_id, p.participant_id
    HAVING count(*) > 1
    ORDER BY copies DESC LIMIT {SAMPLE}
    """
)

_ORPHANS_SQL = sa.text(
    f"""
    SELECT p.timing_partner_id, p.event_id, count(*) AS participants,
           sum(count(*)) OVER () AS orphans
    FROM participants p
    WHERE p.provider = :provider AND {_PARTNER_FILTER}
      AND NOT EXISTS (SELECT 1 FROM provider_events e WHERE e.provider = p.provider
                      AND e.timing_partner_id = p.timing_partner_id AND e.event_id = p.event_id)
    GROUP BY p.timing_partner_id, p.event_id
    ORDER BY participants DESC LIMIT {SAMPLE}
    """
)

# An event never synced counts from when we first saw it, so a just-discovered event is not
# flagged at once.
_LAGGING_SQL = sa.text(
    f"""
    SELECT e.timing_partner_id, e.event_id, w.watermark, e.first_seen_at,
           count(*) OVER () AS lagging
    FROM provider_events e
    JOIN unnest(CAST(:ids AS text[]), CAST(:max_age_s AS integer[])) AS t(id, max_age_s)
      ON t.id = e.timing_partner_id
    LEFT JOIN sync_watermarks w ON w.provider = e.provider
         AND w.timing_partner_id = e.timing_partner_id AND w.event_id = e.event_id
    WHERE e.provider = :provider
      AND {future_condition("e")}
      AND e.gone_at IS NULL AND e.inaccessible_at IS NULL  -- rule 9: not synced any more
      AND coalesce(w.watermark, e.first_seen_at) < :now - make_interval(secs => t.max_age_s)
    ORDER BY coalesce(w.watermark, e.first_seen_at) LIMIT {SAMPLE}
    """
)


def _rows(engine: sa.Engine, query: sa.TextClause, **params: object) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(query, params))


def duplicate_keys(engine: sa.Engine, provider: str, partner_id: str | None) -> list[sa.Row]:
    """Keys stored more than once (partner None: every partner); `duplicate_keys` is the total."""
    return _rows(engine, _DUPLICATES_SQL, provider=provider, partner=partner_id)


def orphan_participants(engine: sa.Engine, provider: str, partner_id: str | None) -> list[sa.Row]:
    """Events that have participants but no provider_events row; `orphans` is the total."""
    return _rows(engine, _ORPHANS_SQL, provider=provider, partner=partner_id)


def lagging_future_events(
    engine: sa.Engine,
    provider: str,
    now: datetime,
    cutoff: datetime,
    max_age_s: dict[str, int],
) -> list[sa.Row]:
    """Future events (start after `cutoff`) whose watermark is older than their partner's
    allowed age in seconds (partner id -> seconds); `lagging` is the total."""
    ids: Sequence[str] = list(max_age_s)
    return _rows(
        engine,
        _LAGGING_SQL,
        provider=provider,
        now=now,
        cutoff=cutoff,
        ids=list(ids),
        max_age_s=[max_age_s[i] for i in ids],
    )
