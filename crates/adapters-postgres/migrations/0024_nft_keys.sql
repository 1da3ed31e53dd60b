-- What a buy does not change, in a table a buy does not write (issue 19, ADR 016, fifth pass).
-- A buy moves the owner, so its update of `nfts` is never HOT: it writes an entry into every
-- index over all NFTs. This issue's three such indexes — all NFTs of a collection by number and by
-- rarity (0015), the whole market newest first (0023) — cost buys about 7 % (BENCHMARKS.md). They
-- move here: a row per NFT with the keys of those orders and the attributes a search filters them
-- by, kept by the database as NFTs come and as their keys change (a listing moves newest_at; a
-- buy, which keeps listed_at, changes none of it and fires nothing). On `nfts` a buy writes the
-- indexes it wrote before this issue: id, gift id, owner, collection newest first.
CREATE TABLE nft_keys (
    id              UUID PRIMARY KEY REFERENCES nfts (id) ON DELETE CASCADE,
    collection      TEXT NOT NULL,
    number          BIGINT,
    model           TEXT,
    model_rarity    SMALLINT,
    backdrop        TEXT,
    backdrop_rarity SMALLINT,
    symbol          TEXT,
    symbol_rarity   SMALLINT,
    newest_at       TIMESTAMPTZ NOT NULL
);

INSERT INTO nft_keys (id, collection, number, model, model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity, newest_at)
SELECT id, collection, number, model, model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity, newest_at FROM nfts;

-- The orders, as `nfts`' were (the same expressions, so the queries' keys and cursors are the same).
DROP INDEX nfts_collection_number_idx;
DROP INDEX nfts_collection_rarity_idx;
DROP INDEX nfts_newest_idx;
CREATE INDEX nft_keys_collection_number_idx ON nft_keys (collection, (COALESCE(number, 4294967296)), id);
CREATE INDEX nft_keys_collection_rarity_idx ON nft_keys
    (collection, (COALESCE(model_rarity, 1001)), (COALESCE(backdrop_rarity, 1001)), (COALESCE(symbol_rarity, 1001)), id);
CREATE INDEX nft_keys_newest_idx ON nft_keys (newest_at, id);

-- Inserts once per statement (a bulk registration writes its keys in one statement).
CREATE FUNCTION nft_keys_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO nft_keys (id, collection, number, model, model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity, newest_at)
    SELECT id, collection, number, model, model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity, newest_at
      FROM registered;
    RETURN NULL;
END $$;
CREATE TRIGGER nfts_keys_insert AFTER INSERT ON nfts
    REFERENCING NEW TABLE AS registered FOR EACH STATEMENT EXECUTE FUNCTION nft_keys_inserted();

-- Per row, and only when a key or an attribute changes (a listing, the gift rail's attributes).
CREATE FUNCTION nft_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE nft_keys SET collection = NEW.collection, number = NEW.number, model = NEW.model,
           model_rarity = NEW.model_rarity, backdrop = NEW.backdrop, backdrop_rarity = NEW.backdrop_rarity,
           symbol = NEW.symbol, symbol_rarity = NEW.symbol_rarity, newest_at = NEW.newest_at
     WHERE id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER nfts_keys_update AFTER UPDATE ON nfts FOR EACH ROW
    WHEN ((OLD.collection, OLD.number, OLD.model, OLD.model_rarity, OLD.backdrop, OLD.backdrop_rarity,
           OLD.symbol, OLD.symbol_rarity, OLD.created_at, OLD.listed_at)
          IS DISTINCT FROM
          (NEW.collection, NEW.number, NEW.model, NEW.model_rarity, NEW.backdrop, NEW.backdrop_rarity,
           NEW.symbol, NEW.symbol_rarity, NEW.created_at, NEW.listed_at))
    EXECUTE FUNCTION nft_keys_changed();
