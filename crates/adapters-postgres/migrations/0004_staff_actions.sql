-- The audit trail of staff interventions (e.g. resolving a stuck withdrawal). Append-only.
CREATE TABLE staff_actions (
    id          UUID PRIMARY KEY,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_actions_subject_idx ON staff_actions (subject, created_at);
