-- A relay claims outbox rows for a lease; others skip them until it runs out.
ALTER TABLE outbox ADD COLUMN locked_until TIMESTAMPTZ;

-- Idempotency keys, claimed in the transaction of the operation they guard; the response is
-- stored after commit. Reaped after 24 hours.
CREATE TABLE idempotency_keys (
    owner            TEXT NOT NULL,
    route            TEXT NOT NULL,
    key              TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    response_status  INT,
    response_body    BYTEA,
    created_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (owner, route, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
