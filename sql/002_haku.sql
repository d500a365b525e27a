-- haku_participants: the old Haku table's name and columns, as a view over the shared participants
-- table, for operators and reports used to it. Read-only: the pipeline writes participants only.
-- Idempotent (CREATE OR REPLACE).

CREATE OR REPLACE VIEW haku_participants AS
SELECT
    p.participant_id AS registration_number,
    NULLIF(concat_ws(' ', p.first_name, p.last_name), '') AS person_full_name,
    p.email,
    p.age,
    p.gender,
    (p.removed_at IS NOT NULL) AS is_cancelled,
    p.removed_at AS cancelled_at,
    p.registered_at,
    p.modified_at AS updated_at,
    p.team AS team_name,
    p.amount_paid AS transaction_amount,
    p.timing_partner_id,
    p.event_id
FROM participants p
WHERE p.provider = 'haku';
