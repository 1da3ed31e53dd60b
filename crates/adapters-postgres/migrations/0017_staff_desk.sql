-- The operator console (SPEC §8): withdrawals by status (the stuck ones first of all) and the count
-- of unmatched deposits still waiting for staff.
CREATE INDEX withdrawals_status_idx ON withdrawals (status, id);
CREATE INDEX unmatched_deposits_open_idx ON unmatched_deposits (id) WHERE assigned_to IS NULL;
