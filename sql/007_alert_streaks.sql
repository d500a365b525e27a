-- Alerts grouped by failure streak: every failed run is still recorded, but only the first of a
-- partner's streak ('failure') and the reminders ('reminder') are posted; repeats ('repeat') are
-- recorded only, and the first success after a streak is posted as 'recovered'.

ALTER TABLE sync_alerts ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'failure';
ALTER TABLE sync_alerts ADD COLUMN IF NOT EXISTS streak_started_at timestamptz;
UPDATE sync_alerts SET streak_started_at = created_at WHERE streak_started_at IS NULL;
ALTER TABLE sync_alerts ALTER COLUMN streak_started_at SET DEFAULT now();
ALTER TABLE sync_alerts ALTER COLUMN streak_started_at SET NOT NULL;
DO $$ BEGIN
    ALTER TABLE sync_alerts ADD CONSTRAINT sync_alerts_kind
        CHECK (kind IN ('failure', 'reminder', 'repeat', 'recovered'));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- The sensor's one query per run: a partner's latest posted alert.
CREATE INDEX IF NOT EXISTS sync_alerts_partner_latest ON sync_alerts (timing_partner, id DESC)
    WHERE kind <> 'repeat';
