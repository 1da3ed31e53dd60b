-- The last index over all NFTs a buy wrote for discovery's sake, `(collection, newest_at, id)`,
-- moves to nft_keys too (issue 19, ADR 016, fifth pass): every order over all NFTs — newest first,
-- by number, by rarity; one collection, several merged, the whole market — reads nft_keys, and a
-- buy's update of nfts writes the id, the gift id and the owner only. Listings of a collection
-- newest first keep an index on nfts, over listed NFTs only (a buy, which unlists, writes none).
-- A collection's owners are counted off nft_keys' collection index, each NFT's row by id; whether
-- a collection has NFTs is asked of nft_collections (0021).
DROP INDEX nfts_collection_newest_idx;
CREATE INDEX nft_keys_collection_newest_idx ON nft_keys (collection, newest_at, id);
CREATE INDEX nfts_listed_collection_newest_idx ON nfts (collection, newest_at, id) WHERE price IS NOT NULL;
