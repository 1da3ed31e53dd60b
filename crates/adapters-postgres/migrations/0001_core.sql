-- Users and their custodial balances. Balances can never go negative, whatever the code does.
CREATE TABLE users (
    id          BIGINT PRIMARY KEY,
    username    TEXT,
    available   NUMERIC(38, 9) NOT NULL DEFAULT 0,
    held        NUMERIC(38, 9) NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_balance_nonneg CHECK (available >= 0 AND held >= 0)
);

CREATE TABLE nfts (
    id          UUID PRIMARY KEY,
    gift_id     TEXT NOT NULL CONSTRAINT nfts_gift_id_key UNIQUE,
    title       TEXT NOT NULL,
    collection  TEXT NOT NULL,
    owner_id    BIGINT NOT NULL CONSTRAINT nfts_owner_id_fkey REFERENCES users (id),
    price       NUMERIC(38, 9) CONSTRAINT nfts_price_positive CHECK (price IS NULL OR price > 0),
    status      TEXT NOT NULL CONSTRAINT nfts_status_valid
                CHECK (status IN ('available', 'on_auction', 'withdrawing', 'withdrawn')),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX nfts_owner_idx ON nfts (owner_id, id);
CREATE INDEX nfts_collection_idx ON nfts (collection, id);
CREATE INDEX nfts_listed_idx ON nfts (id) WHERE price IS NOT NULL;

-- An offer is bound to the NFT, not to its owner. One open offer per user and NFT.
CREATE TABLE offers (
    id          UUID PRIMARY KEY,
    nft_id      UUID NOT NULL REFERENCES nfts (id),
    offerer_id  BIGINT NOT NULL REFERENCES users (id),
    price       NUMERIC(38, 9) NOT NULL CHECK (price > 0),
    status      TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'refused', 'cancelled', 'expired')),
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX offers_one_open_per_user_nft ON offers (nft_id, offerer_id) WHERE status = 'open';
CREATE INDEX offers_offerer_idx ON offers (offerer_id, id);
CREATE INDEX offers_open_expiry_idx ON offers (expires_at) WHERE status = 'open';

-- Double-entry ledger: per operation_id the amounts sum to zero. Fees are entries here, not a
-- balance row, so sales never serialise on one hot row.
CREATE TABLE ledger_entries (
    id            UUID PRIMARY KEY,
    operation_id  UUID NOT NULL,
    operation     TEXT NOT NULL,
    user_id       BIGINT REFERENCES users (id),
    account       TEXT NOT NULL CHECK (account IN ('available', 'held', 'fees', 'pending_payouts', 'external')),
    amount        NUMERIC(38, 9) NOT NULL,
    reference     TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_user_idx ON ledger_entries (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX ledger_operation_idx ON ledger_entries (operation_id);

CREATE TABLE deposits (
    id          UUID PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    amount      NUMERIC(38, 9) NOT NULL CHECK (amount > 0),
    tx_hash     TEXT NOT NULL CONSTRAINT deposits_tx_hash_key UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

-- Side effects written in a unit of work, delivered after commit.
CREATE TABLE outbox (
    id               UUID PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    attempts         INT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at     TIMESTAMPTZ,
    failed_at        TIMESTAMPTZ,
    last_error       TEXT
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

-- Partner desk (seed 001).
CREATE TABLE managers (
    id                 UUID PRIMARY KEY,
    name               TEXT NOT NULL,
    telegram_username  TEXT,
    active             BOOLEAN NOT NULL DEFAULT true,
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE clients (
    id           UUID PRIMARY KEY,
    fio          TEXT NOT NULL,
    age          SMALLINT NOT NULL CHECK (age BETWEEN 18 AND 130),
    description  TEXT NOT NULL,
    mobile       TEXT NOT NULL,
    email        TEXT NOT NULL CONSTRAINT clients_email_key UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE manager_binds (
    client_id   UUID NOT NULL CONSTRAINT manager_binds_client_id_fkey REFERENCES clients (id),
    manager_id  UUID NOT NULL CONSTRAINT manager_binds_manager_id_fkey REFERENCES managers (id),
    priority    INT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT manager_binds_pkey PRIMARY KEY (client_id, manager_id)
);
CREATE INDEX manager_binds_manager_idx ON manager_binds (manager_id, priority, created_at);
