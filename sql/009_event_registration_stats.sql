-- Race-week report: one row per future event and report day (the as-of date in UTC), so growth
-- is queryable day over day. A later run on the same day replaces that day's row. Idempotent.

CREATE TABLE IF NOT EXISTS event_registration_stats (
    provider text NOT NULL,
    timing_partner_id text NOT NULL,
    event_id text NOT NULL,
    report_date date NOT NULL,
    event_name text NOT NULL,
    start_time timestamptz,
    timezone text NOT NULL,
    days_to_start integer,
    active integer NOT NULL,
    new_24h integer NOT NULL,
    modified_24h integer NOT NULL,
    removed_24h integer NOT NULL,
    without_bib integer NOT NULL,
    gender_f integer NOT NULL,
    gender_m integer NOT NULL,
    gender_x integer NOT NULL,
    gender_unknown integer NOT NULL,
    age_groups jsonb NOT NULL,
    as_of timestamptz NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_registration_stats_key
        PRIMARY KEY (provider, timing_partner_id, event_id, report_date)
);
CREATE INDEX IF NOT EXISTS event_registration_stats_partner_day
    ON event_registration_stats (timing_partner_id, report_date);
