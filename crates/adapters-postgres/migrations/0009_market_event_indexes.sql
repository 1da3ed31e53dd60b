-- 0008 landed with five indexes on market_events; a buy writes one event, and every index entry is
-- written inside it. Keep three, each earning its write: the primary key (the whole feed, newest
-- first; the stream's reads by id), the collection's public events with what statistics and
-- charts need included (they read this index alone), and an NFT's public events.
DROP INDEX IF EXISTS market_events_public_idx;
DROP INDEX IF EXISTS market_events_recipient_idx;
DROP INDEX IF EXISTS market_events_sales_idx;
DROP INDEX IF EXISTS market_events_collection_idx;
CREATE INDEX market_events_collection_idx ON market_events (collection, id) INCLUDE (kind, price, created_at)
    WHERE recipient IS NULL;
