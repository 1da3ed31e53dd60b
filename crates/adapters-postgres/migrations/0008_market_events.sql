-- Market events (issue 12): the activity feed, collection statistics and the live stream read
-- them. Ids are time-ordered (UUIDv7): the feed pages by id, statistics range over ids by time.
CREATE TABLE market_events (
    id          UUID PRIMARY KEY,
    kind        TEXT NOT NULL,
    collection  TEXT,
    nft_id      UUID,
    auction_id  UUID,
    price       NUMERIC(38, 9),
    recipient   BIGINT,            -- NULL: public; else only this user sees it
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX market_events_public_idx ON market_events (id) WHERE recipient IS NULL;
CREATE INDEX market_events_collection_idx ON market_events (collection, id) WHERE recipient IS NULL;
CREATE INDEX market_events_nft_idx ON market_events (nft_id, id) WHERE recipient IS NULL;
CREATE INDEX market_events_recipient_idx ON market_events (recipient, id) WHERE recipient IS NOT NULL;
-- Sales by collection and time, prices included: statistics and charts read the index alone.
CREATE INDEX market_events_sales_idx ON market_events (collection, id) INCLUDE (price, created_at)
    WHERE recipient IS NULL AND price IS NOT NULL AND kind IN ('sold', 'offer_accepted', 'auction_settled');
-- The floor and the number listed, per collection.
CREATE INDEX nfts_listed_by_collection_idx ON nfts (collection, price) WHERE price IS NOT NULL AND status = 'available';
