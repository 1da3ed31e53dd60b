-- Discovery at scale (issue 19, ADR 016): indexes chosen from plans measured on QUALITY.md's B5
-- market (1,000,000 NFTs). A buy unlists the NFT it moves and its update is never HOT (the owner
-- changes), so it writes an entry into every index whose predicate the new row meets: an index
-- over *listed* NFTs (`WHERE price IS NOT NULL`) costs a buy nothing, an index over all NFTs costs
-- every buy one entry. Hence: listed-only orders and attribute floors on partial indexes; over all
-- NFTs, one `(collection, key, id)` index per order (the whole market in that order is the merge of
-- each collection's first page — nfts.rs).

-- Listed NFTs are available (the domain clears the price on every other status); said here, so
-- queries of listed NFTs need not ask for the status and read their partial indexes alone.
ALTER TABLE nfts ADD CONSTRAINT nfts_listed_is_available CHECK (price IS NULL OR status = 'available');

-- The newest-first key (the later of registration and last listing) as a column, so a scan of
-- its indexes can give it without reading the rows (the merge of every collection's first page).
ALTER TABLE nfts ADD COLUMN newest_at TIMESTAMPTZ GENERATED ALWAYS AS (GREATEST(created_at, listed_at)) STORED;
DROP INDEX nfts_listed_newest_idx;
CREATE INDEX nfts_listed_newest_idx ON nfts (newest_at, id) WHERE price IS NOT NULL;
DROP INDEX nfts_collection_newest_idx;
CREATE INDEX nfts_collection_newest_idx ON nfts (collection, newest_at, id);

-- Listed: by price in a collection (also the collection's floor and count listed) and overall;
-- by number and by rarity overall (the newest first already has nfts_listed_newest_idx).
DROP INDEX nfts_listed_by_collection_idx;
CREATE INDEX nfts_listed_collection_price_idx ON nfts (collection, price, id) WHERE price IS NOT NULL;
CREATE INDEX nfts_listed_price_idx ON nfts (price, id) WHERE price IS NOT NULL;
CREATE INDEX nfts_listed_number_idx ON nfts ((COALESCE(number, 4294967296)), id) WHERE price IS NOT NULL;
CREATE INDEX nfts_listed_rarity_idx ON nfts
    ((COALESCE(model_rarity, 1001)), (COALESCE(backdrop_rarity, 1001)), (COALESCE(symbol_rarity, 1001)), id)
    WHERE price IS NOT NULL;
-- Listed, per attribute value: a filter panel's floor and count listed, a portfolio's floor by
-- model, a model's listings by price.
CREATE INDEX nfts_listed_model_idx ON nfts (collection, model, price) WHERE price IS NOT NULL;
CREATE INDEX nfts_listed_backdrop_idx ON nfts (collection, backdrop, price) WHERE price IS NOT NULL;
CREATE INDEX nfts_listed_symbol_idx ON nfts (collection, symbol, price) WHERE price IS NOT NULL;
-- Backdrops and symbols are shared by every collection (Telegram's search filters by them alone):
-- listed NFTs by backdrop or symbol and price. Without these, two rare backdrops with a price range
-- walked the newest-first index of every listing for the few that match (1.5 s under load).
CREATE INDEX nfts_listed_backdrop_any_idx ON nfts (backdrop, price) WHERE price IS NOT NULL;
CREATE INDEX nfts_listed_symbol_any_idx ON nfts (symbol, price) WHERE price IS NOT NULL;

-- All NFTs of a collection by number and by rarity (two entries more per buy, measured: ADR 016).
CREATE INDEX nfts_collection_number_idx ON nfts (collection, (COALESCE(number, 4294967296)), id);
CREATE INDEX nfts_collection_rarity_idx ON nfts
    (collection, (COALESCE(model_rarity, 1001)), (COALESCE(backdrop_rarity, 1001)), (COALESCE(symbol_rarity, 1001)), id);

-- How many NFTs in custody carry each attribute value, kept by the database as rows come, go or
-- leave custody (a buy or a listing changes none of that: the trigger's WHEN skips them). A
-- panel reads it with its listed counts and floors from the partial indexes above, instead of
-- counting a collection's NFTs on every request.
CREATE TABLE nft_attribute_counts (
    collection        TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('model', 'backdrop', 'symbol')),
    name              TEXT NOT NULL,
    rarity_per_mille  SMALLINT NOT NULL,
    count             BIGINT NOT NULL CHECK (count >= 0),
    PRIMARY KEY (collection, kind, name)
);

CREATE FUNCTION nft_attribute_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status <> 'withdrawn' THEN
        UPDATE nft_attribute_counts SET count = count - 1
         WHERE collection = OLD.collection
           AND ((kind = 'model' AND name = OLD.model) OR (kind = 'backdrop' AND name = OLD.backdrop)
                OR (kind = 'symbol' AND name = OLD.symbol));
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status <> 'withdrawn' THEN
        INSERT INTO nft_attribute_counts AS a (collection, kind, name, rarity_per_mille, count)
        SELECT NEW.collection, v.kind, v.name, v.rarity, 1
          FROM (VALUES ('model', NEW.model, NEW.model_rarity), ('backdrop', NEW.backdrop, NEW.backdrop_rarity),
                       ('symbol', NEW.symbol, NEW.symbol_rarity)) v(kind, name, rarity)
         WHERE v.name IS NOT NULL
        ON CONFLICT (collection, kind, name) DO UPDATE
           SET count = a.count + 1, rarity_per_mille = LEAST(a.rarity_per_mille, EXCLUDED.rarity_per_mille);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER nfts_attribute_counts_insert AFTER INSERT OR DELETE ON nfts
    FOR EACH ROW EXECUTE FUNCTION nft_attribute_counts_track();
CREATE TRIGGER nfts_attribute_counts_update AFTER UPDATE ON nfts
    FOR EACH ROW WHEN ((OLD.status = 'withdrawn') IS DISTINCT FROM (NEW.status = 'withdrawn')
                       OR OLD.collection IS DISTINCT FROM NEW.collection
                       OR OLD.model IS DISTINCT FROM NEW.model
                       OR OLD.backdrop IS DISTINCT FROM NEW.backdrop
                       OR OLD.symbol IS DISTINCT FROM NEW.symbol)
    EXECUTE FUNCTION nft_attribute_counts_track();

INSERT INTO nft_attribute_counts (collection, kind, name, rarity_per_mille, count)
SELECT collection, 'model', model, min(model_rarity), count(*) FROM nfts
 WHERE status <> 'withdrawn' AND model IS NOT NULL GROUP BY collection, model
UNION ALL
SELECT collection, 'backdrop', backdrop, min(backdrop_rarity), count(*) FROM nfts
 WHERE status <> 'withdrawn' AND backdrop IS NOT NULL GROUP BY collection, backdrop
UNION ALL
SELECT collection, 'symbol', symbol, min(symbol_rarity), count(*) FROM nfts
 WHERE status <> 'withdrawn' AND symbol IS NOT NULL GROUP BY collection, symbol;
