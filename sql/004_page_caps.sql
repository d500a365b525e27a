-- What each provider account's server is known to do per list endpoint (issue 9: no silent
-- truncation). `cap`: the largest page it returned while more rows followed, when that was fewer
-- rows than asked (a silent cap); `largest_page`: the most rows it ever returned in one page. A
-- short page ends a read only below one of them, so learned facts are kept across runs.

CREATE TABLE IF NOT EXISTS page_caps (
    provider text NOT NULL,
    timing_partner_id text NOT NULL,
    endpoint text NOT NULL,
    cap integer,
    largest_page integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT page_caps_key UNIQUE (provider, timing_partner_id, endpoint)
);

ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS page_caps jsonb NOT NULL DEFAULT '{}';
