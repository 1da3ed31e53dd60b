-- The collections NFTs were ever registered in (issue 19, ADR 016): a small table the database
-- keeps as NFTs come, instead of a skip scan of the collection index (one probe per name) in
-- every read that walks the collections — the whole market newest first (each collection's
-- first page merged), the list of collections. Names stay once registered, as the NFTs do.
CREATE TABLE nft_collections (
    name TEXT PRIMARY KEY
);
INSERT INTO nft_collections (name) SELECT DISTINCT collection FROM nfts;

-- Once per statement for inserts (a bulk registration pays once); per row, and only when it
-- changes, for the collection of an NFT already here.
CREATE FUNCTION nft_collections_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO nft_collections (name) SELECT DISTINCT collection FROM registered ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER nfts_collections_insert AFTER INSERT ON nfts
    REFERENCING NEW TABLE AS registered FOR EACH STATEMENT EXECUTE FUNCTION nft_collections_inserted();

CREATE FUNCTION nft_collections_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO nft_collections (name) VALUES (NEW.collection) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER nfts_collections_update AFTER UPDATE OF collection ON nfts
    FOR EACH ROW WHEN (OLD.collection IS DISTINCT FROM NEW.collection) EXECUTE FUNCTION nft_collections_moved();
