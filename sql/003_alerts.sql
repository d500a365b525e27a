-- Run-failure alerts: what was posted to the webhook (secrets already masked), and whether it went.
-- One alert per Dagster run: the sensor inserts first, ON CONFLICT (run_id) DO NOTHING, so a
-- re-evaluated tick does not post twice.

CREATE TABLE IF NOT EXISTS sync_alerts (
    id bigserial PRIMARY KEY,
    run_id text NOT NULL,
    timing_partner text,
    job_name text NOT NULL,
    steps text[] NOT NULL DEFAULT '{}',
    message text NOT NULL,
    posted boolean NOT NULL DEFAULT false,
    post_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sync_alerts_run_key UNIQUE (run_id)
);
CREATE INDEX IF NOT EXISTS sync_alerts_created_at ON sync_alerts (created_at);
