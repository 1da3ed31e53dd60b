-- Gifts the last complete reconciliation found missing from the business account (NFTs in
-- custody that Telegram does not list); replaced by each complete pass, reported by `audit`.
CREATE TABLE gift_custody_missing (
    gift_id  TEXT PRIMARY KEY,
    found_at TIMESTAMPTZ NOT NULL
);
