-- The whole market newest first — the default page of `GET /api/nfts` — from one index instead of
-- the merge of every collection's first page (100 probes and 2,100 index entries per page at B5's
-- scale, the costliest of its discovery mix after the panels; ADR 016, fourth pass). It is over
-- all NFTs, so every buy writes one entry more (measured: docs/BENCHMARKS.md).
CREATE INDEX nfts_newest_idx ON nfts (newest_at, id);

-- Listings by backdrop or symbol newest first: per value, its newest listings with their price
-- beside them, so a search of a few values and a price range reads each value's newest entries
-- until the page is full (the merge in nfts.rs) instead of every entry in the price range.
-- Listed only: a buy writes neither.
CREATE INDEX nfts_listed_backdrop_newest_idx ON nfts (backdrop, newest_at, id) INCLUDE (price) WHERE price IS NOT NULL;
CREATE INDEX nfts_listed_symbol_newest_idx ON nfts (symbol, newest_at, id) INCLUDE (price) WHERE price IS NOT NULL;
