-- The gift rail (SPEC §5b). Telegram updates that carried a gift, noted once each (a webhook
-- retried, or replayed late, changes nothing).
CREATE TABLE telegram_updates (
    update_id   BIGINT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL
);

-- Gifts on the business account no NFT stands for (no sender, or from the blockchain): kept for
-- staff, never dropped. One unassigned row per gift.
CREATE TABLE unmatched_gifts (
    id              UUID PRIMARY KEY,
    gift_id         TEXT NOT NULL,
    collection      TEXT NOT NULL,
    number          BIGINT,
    model           TEXT,
    model_rarity    SMALLINT,
    backdrop        TEXT,
    backdrop_rarity SMALLINT,
    symbol          TEXT,
    symbol_rarity   SMALLINT,
    owned_gift_id   TEXT NOT NULL,
    transfer_stars  BIGINT,
    can_transfer_at TIMESTAMPTZ,
    from_blockchain BOOLEAN NOT NULL,
    sender_id       BIGINT,
    reason          TEXT NOT NULL CONSTRAINT unmatched_gifts_reason_valid
                    CHECK (reason IN ('unknown_sender', 'from_blockchain')),
    received_at     TIMESTAMPTZ NOT NULL,
    assigned_to     BIGINT CONSTRAINT unmatched_gifts_assigned_to_fkey REFERENCES users (id),
    assigned_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX unmatched_gifts_one_open_per_gift ON unmatched_gifts (gift_id) WHERE assigned_to IS NULL;

-- The reconciler compares the account's gifts with the NFTs that should be on it.
CREATE INDEX nfts_telegram_custody_idx ON nfts (gift_id) WHERE owned_gift_id IS NOT NULL;
