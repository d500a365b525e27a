-- Rule 8: a registration the provider serves without a modification time is stored (NULL), and
-- its event is read whole and compared (sync_watermarks.last_sync_type = 'full_compare').
-- Rule 9: events have a lifecycle. gone_at: missing from the partner's last complete events list
-- (history kept, no longer synced; cleared when the list shows it again). inaccessible_at: the
-- provider refused the race to this partner (permission denied, not found); skipped until the
-- events list offers it again after an absence, or a forced full sync retries it.
-- Idempotent.

ALTER TABLE participants ALTER COLUMN modified_at DROP NOT NULL;

ALTER TABLE provider_events ADD COLUMN IF NOT EXISTS gone_at timestamptz;
ALTER TABLE provider_events ADD COLUMN IF NOT EXISTS inaccessible_at timestamptz;
ALTER TABLE provider_events ADD COLUMN IF NOT EXISTS inaccessible_reason text;
