-- Collection offers (issue 20, SPEC §3): standing bids for any gift matching the criteria. What
-- is left (price × (quantity − filled)) is held from the offerer while open.
CREATE TABLE collection_offers (
    id          UUID PRIMARY KEY,
    user_id     BIGINT NOT NULL CONSTRAINT collection_offers_user_id_fkey REFERENCES users (id),
    collection  TEXT NOT NULL,
    model       TEXT,
    backdrop    TEXT,
    symbol      TEXT,
    price       NUMERIC(38, 9) NOT NULL CHECK (price > 0),
    quantity    INT NOT NULL CHECK (quantity BETWEEN 1 AND 50),
    filled      INT NOT NULL CHECK (filled BETWEEN 0 AND quantity),
    status      TEXT NOT NULL CHECK (status IN ('open', 'filled', 'cancelled', 'expired')),
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT collection_offers_filled_at_quantity CHECK ((status = 'filled') = (filled = quantity))
);
-- The order book and an NFT's best bid: open offers of a collection, best price first, then oldest.
CREATE INDEX collection_offers_book_idx ON collection_offers (collection, price DESC, created_at, id) WHERE status = 'open';
-- A user's offers (newest first) and their count of open ones.
CREATE INDEX collection_offers_user_idx ON collection_offers (user_id, id);
CREATE INDEX collection_offers_expiry_idx ON collection_offers (expires_at) WHERE status = 'open';
