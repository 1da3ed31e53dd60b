-- Auctions: at most one active auction per NFT.
CREATE TABLE auctions (
    id             UUID PRIMARY KEY,
    nft_id         UUID NOT NULL REFERENCES nfts (id),
    seller_id      BIGINT NOT NULL REFERENCES users (id),
    start_price    NUMERIC(38, 9) NOT NULL CHECK (start_price > 0),
    step_percent   INT NOT NULL CHECK (step_percent BETWEEN 1 AND 100),
    buy_now_price  NUMERIC(38, 9),
    ends_at        TIMESTAMPTZ NOT NULL,
    leader_id      BIGINT REFERENCES users (id),
    current_bid    NUMERIC(38, 9),
    bid_count      INT NOT NULL DEFAULT 0,
    status         TEXT NOT NULL CHECK (status IN ('active', 'settled', 'cancelled')),
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX auctions_one_active_per_nft ON auctions (nft_id) WHERE status = 'active';
CREATE INDEX auctions_due_idx ON auctions (ends_at) WHERE status = 'active';

CREATE TABLE bids (
    id          UUID PRIMARY KEY,
    auction_id  UUID NOT NULL REFERENCES auctions (id),
    bidder_id   BIGINT NOT NULL REFERENCES users (id),
    amount      NUMERIC(38, 9) NOT NULL CHECK (amount > 0),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX bids_auction_idx ON bids (auction_id, amount DESC);

CREATE TABLE presales (
    id           UUID PRIMARY KEY,
    seller_id    BIGINT NOT NULL REFERENCES users (id),
    title        TEXT NOT NULL,
    collection   TEXT NOT NULL,
    price        NUMERIC(38, 9) NOT NULL CHECK (price > 0),
    collateral   NUMERIC(38, 9) NOT NULL CHECK (collateral >= 0),
    deliver_by   TIMESTAMPTZ NOT NULL,
    buyer_id     BIGINT REFERENCES users (id),
    status       TEXT NOT NULL CHECK (status IN ('open', 'sold', 'delivered', 'expired', 'deleted')),
    nft_id       UUID REFERENCES nfts (id),
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX presales_due_idx ON presales (deliver_by) WHERE status IN ('open', 'sold');

CREATE TABLE withdrawals (
    id          UUID PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    amount      NUMERIC(38, 9) NOT NULL CHECK (amount > 0),
    address     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'stuck')),
    tx_hash     TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX withdrawals_user_idx ON withdrawals (user_id, id);
