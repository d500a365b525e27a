-- Core tables. Idempotent: safe to apply again. Every natural key has the UNIQUE constraint its
-- ON CONFLICT upsert targets (the old Haku branch stored nothing because one was missing).

CREATE TABLE IF NOT EXISTS timing_partners (
    timing_partner_id text PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    name text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    providers text[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS provider_events (
    provider text NOT NULL,
    timing_partner_id text NOT NULL REFERENCES timing_partners (timing_partner_id),
    event_id text NOT NULL,
    race_id text NOT NULL,
    name text NOT NULL,
    race_name text NOT NULL DEFAULT '',
    start_time timestamptz,
    end_time timestamptz,
    timezone text NOT NULL,
    raw jsonb NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT provider_events_key UNIQUE (provider, timing_partner_id, event_id)
);

-- The natural key is the primary key: one index to maintain per row loaded, and it is the
-- ON CONFLICT target of the upsert.
CREATE TABLE IF NOT EXISTS participants (
    provider text NOT NULL,
    timing_partner_id text NOT NULL,
    event_id text NOT NULL,
    participant_id text NOT NULL,
    first_name text,
    last_name text,
    email text,
    dob date,
    gender text,
    bib text,
    chip text,
    age integer,
    registered_at timestamptz,
    modified_at timestamptz NOT NULL,
    team text,
    amount_paid numeric(12, 2),
    removed_at timestamptz,
    removed_reason text,
    raw jsonb NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT participants_key PRIMARY KEY (provider, timing_partner_id, event_id, participant_id)
);

CREATE TABLE IF NOT EXISTS sync_watermarks (
    provider text NOT NULL,
    timing_partner_id text NOT NULL,
    event_id text NOT NULL,
    watermark timestamptz NOT NULL,
    last_sync_type text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sync_watermarks_key UNIQUE (provider, timing_partner_id, event_id)
);

CREATE TABLE IF NOT EXISTS sync_runs (
    id bigserial PRIMARY KEY,
    run_id text NOT NULL,
    provider text NOT NULL,
    timing_partner_id text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running',
    events_total integer NOT NULL DEFAULT 0,
    events_future integer NOT NULL DEFAULT 0,
    events_synced integer NOT NULL DEFAULT 0,
    sync_types jsonb NOT NULL DEFAULT '{}',
    participants_upserted integer NOT NULL DEFAULT 0,
    participants_removed integer NOT NULL DEFAULT 0,
    participants_rejected integer NOT NULL DEFAULT 0,
    api_calls integer NOT NULL DEFAULT 0,
    duration_s double precision NOT NULL DEFAULT 0,
    errors jsonb NOT NULL DEFAULT '[]',
    CONSTRAINT sync_runs_key UNIQUE (run_id, provider, timing_partner_id)
);

CREATE TABLE IF NOT EXISTS rejected_records (
    id bigserial PRIMARY KEY,
    provider text NOT NULL,
    timing_partner_id text NOT NULL,
    event_id text NOT NULL,
    reason text NOT NULL,
    raw text NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now()
);
