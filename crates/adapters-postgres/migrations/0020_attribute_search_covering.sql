-- A search by backdrop or symbol across collections by price (issue 19, ADR 016) reads its matches
-- off these indexes alone — the price and the id in each entry — takes the best page of ids, and
-- only then reads those rows, instead of reading every match's row to sort them. (Newest first,
-- such a search merges each value's newest listings instead: migration 0023.) Listed NFTs only: a
-- buy writes neither.
DROP INDEX nfts_listed_backdrop_any_idx;
CREATE INDEX nfts_listed_backdrop_any_idx ON nfts (backdrop, price) INCLUDE (id) WHERE price IS NOT NULL;
DROP INDEX nfts_listed_symbol_any_idx;
CREATE INDEX nfts_listed_symbol_any_idx ON nfts (symbol, price) INCLUDE (id) WHERE price IS NOT NULL;
