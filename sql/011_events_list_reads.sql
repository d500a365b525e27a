-- When each partner's events list was last read on each provider, on the run's own clock, and
-- what the read cost: a due run (rule 7) re-reads the list only when it is older than the
-- longest freshness target, and the sensor charges a read at this many calls. Idempotent.

CREATE TABLE IF NOT EXISTS events_list_reads (
    provider text NOT NULL,
    timing_partner_id text NOT NULL,
    read_at timestamptz NOT NULL,
    api_calls integer NOT NULL DEFAULT 0,
    CONSTRAINT events_list_reads_key UNIQUE (provider, timing_partner_id)
);
