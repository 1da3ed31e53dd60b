-- NFTs offered in an open trade are `in_trade`.
ALTER TABLE nfts DROP CONSTRAINT nfts_status_valid;
ALTER TABLE nfts ADD CONSTRAINT nfts_status_valid
    CHECK (status IN ('available', 'on_auction', 'withdrawing', 'withdrawn', 'in_trade'));

-- Trades: a swap of NFTs and TON between two users. The maker's `give` amount is held while open.
CREATE TABLE trades (
    id            UUID PRIMARY KEY,
    maker_id      BIGINT NOT NULL CONSTRAINT trades_maker_id_fkey REFERENCES users (id),
    taker_id      BIGINT NOT NULL CONSTRAINT trades_taker_id_fkey REFERENCES users (id),
    give_nft_ids  UUID[] NOT NULL,
    give_amount   NUMERIC(38, 9) CHECK (give_amount IS NULL OR give_amount > 0),
    want_nft_ids  UUID[] NOT NULL,
    want_amount   NUMERIC(38, 9) CHECK (want_amount IS NULL OR want_amount > 0),
    status        TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'cancelled', 'expired')),
    expires_at    TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT trades_two_parties CHECK (maker_id <> taker_id)
);
CREATE INDEX trades_maker_idx ON trades (maker_id, id);
CREATE INDEX trades_taker_idx ON trades (taker_id, id);
CREATE INDEX trades_open_maker_idx ON trades (maker_id, expires_at) WHERE status = 'open';
CREATE INDEX trades_open_expiry_idx ON trades (expires_at) WHERE status = 'open';

-- Channel sales: one live listing or sale per channel; the buyer's price is held while awaiting
-- the transfer.
CREATE TABLE channel_sales (
    id           UUID PRIMARY KEY,
    seller_id    BIGINT NOT NULL CONSTRAINT channel_sales_seller_id_fkey REFERENCES users (id),
    chat_id      BIGINT NOT NULL,
    title        TEXT NOT NULL,
    username     TEXT,
    description  TEXT,
    price        NUMERIC(38, 9) NOT NULL CHECK (price > 0),
    buyer_id     BIGINT REFERENCES users (id),
    status       TEXT NOT NULL CHECK (status IN ('listed', 'awaiting_transfer', 'completed', 'refunded', 'deleted')),
    transfer_by  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX channel_sales_one_live_per_chat ON channel_sales (chat_id)
    WHERE status IN ('listed', 'awaiting_transfer');
CREATE INDEX channel_sales_awaiting_idx ON channel_sales (transfer_by) WHERE status = 'awaiting_transfer';
CREATE INDEX channel_sales_listed_idx ON channel_sales (id) WHERE status = 'listed';
CREATE INDEX channel_sales_seller_idx ON channel_sales (seller_id, id);
CREATE INDEX channel_sales_buyer_idx ON channel_sales (buyer_id, id) WHERE buyer_id IS NOT NULL;
