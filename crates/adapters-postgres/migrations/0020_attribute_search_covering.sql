-- A search by backdrop or symbol across collections (issue 19, ADR 016) reads its matches off
-- these indexes alone — with the newest-first key and the id beside each entry — takes the best
-- page of ids, and only then reads those rows. Without them, two rare backdrops with a price
-- range read every match's row (400 random heap pages, 22 ms) to sort them; now 1 ms. Listed
-- NFTs only: a buy writes neither.
DROP INDEX nfts_listed_backdrop_any_idx;
CREATE INDEX nfts_listed_backdrop_any_idx ON nfts (backdrop, price) INCLUDE (newest_at, id) WHERE price IS NOT NULL;
DROP INDEX nfts_listed_symbol_any_idx;
CREATE INDEX nfts_listed_symbol_any_idx ON nfts (symbol, price) INCLUDE (newest_at, id) WHERE price IS NOT NULL;
