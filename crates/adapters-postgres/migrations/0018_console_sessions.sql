-- The operator console's sessions (SPEC §8, ADR 018), shared by every instance and kept across
-- restarts. A session is known by the SHA-256 of its id; the id itself (the cookie) is never
-- stored. A flash message waits for the next page: both of its columns or neither.
CREATE TABLE console_sessions (
    digest      BYTEA NOT NULL,
    actor       TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    flash_ok    BOOLEAN,
    flash_text  TEXT,
    CONSTRAINT console_sessions_pkey PRIMARY KEY (digest),
    CONSTRAINT console_sessions_digest_sha256 CHECK (octet_length(digest) = 32),
    CONSTRAINT console_sessions_flash_whole CHECK ((flash_ok IS NULL) = (flash_text IS NULL))
);
-- Each sign-in forgets a few expired sessions, found without a scan.
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
