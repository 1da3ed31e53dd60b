-- The newest-first order is by the later of registration and last listing (0013): the indexes
-- that gave "newest" by id give it by that key now. Replaced one for one — no index more for a
-- buy to update. The rest of discovery's indexes come from measured plans (ADR 015).
DROP INDEX nfts_listed_idx;
CREATE INDEX nfts_listed_newest_idx ON nfts ((GREATEST(created_at, listed_at)), id) WHERE price IS NOT NULL;
DROP INDEX nfts_collection_idx;
CREATE INDEX nfts_collection_newest_idx ON nfts (collection, (GREATEST(created_at, listed_at)), id);
