-- How many NFTs are listed per attribute value (a filter panel's "listed"), kept without a lock
-- on the buy path (issue 19, ADR 016, third pass). Counting them per request cost O(listings of the
-- collection) — 12 ms for the biggest of B5, a third of the discovery mix's CPU. A counter row
-- per value would be locked by every sale of a gift with that value until commit, and sweeps and
-- fills lock several in NFT order: deadlocks. So a change to listed-ness appends a delta row
-- (inserts never wait on each other); a panel sums its collection's rows; `nft_listed_fold` folds
-- each value's rows into one (`folded`), one fold at a time (an advisory lock), in the background.
CREATE TABLE nft_listed_deltas (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('model', 'backdrop', 'symbol')),
    name        TEXT NOT NULL,
    delta       BIGINT NOT NULL,
    folded      BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX nft_listed_deltas_value_idx ON nft_listed_deltas (collection, kind, name) INCLUDE (delta);
CREATE INDEX nft_listed_deltas_unfolded_idx ON nft_listed_deltas (id) WHERE NOT folded;

INSERT INTO nft_listed_deltas (collection, kind, name, delta, folded)
SELECT collection, v.kind, v.name, count(*), true
  FROM nfts CROSS JOIN LATERAL (VALUES ('model', model), ('backdrop', backdrop), ('symbol', symbol)) v(kind, name)
 WHERE price IS NOT NULL AND v.name IS NOT NULL
 GROUP BY collection, v.kind, v.name;

-- −1 for each value of the row as it was listed, +1 for each of the row as it is listed.
CREATE FUNCTION nft_listed_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.price IS NOT NULL THEN
        INSERT INTO nft_listed_deltas (collection, kind, name, delta)
        SELECT OLD.collection, v.kind, v.name, -1
          FROM (VALUES ('model', OLD.model), ('backdrop', OLD.backdrop), ('symbol', OLD.symbol)) v(kind, name)
         WHERE v.name IS NOT NULL;
    END IF;
    IF NEW.price IS NOT NULL THEN
        INSERT INTO nft_listed_deltas (collection, kind, name, delta)
        SELECT NEW.collection, v.kind, v.name, 1
          FROM (VALUES ('model', NEW.model), ('backdrop', NEW.backdrop), ('symbol', NEW.symbol)) v(kind, name)
         WHERE v.name IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

-- Only rows with an attribute, and only when listed-ness (or, listed, an attribute) changes: a
-- repricing, and every change of a gift without attributes, fire nothing.
CREATE TRIGGER nfts_listed_insert AFTER INSERT ON nfts FOR EACH ROW
    WHEN (NEW.price IS NOT NULL AND (NEW.model IS NOT NULL OR NEW.backdrop IS NOT NULL OR NEW.symbol IS NOT NULL))
    EXECUTE FUNCTION nft_listed_track();
CREATE TRIGGER nfts_listed_update AFTER UPDATE ON nfts FOR EACH ROW
    WHEN (((OLD.price IS NULL) IS DISTINCT FROM (NEW.price IS NULL)
           OR (NEW.price IS NOT NULL AND (OLD.collection, OLD.model, OLD.backdrop, OLD.symbol)
                                         IS DISTINCT FROM (NEW.collection, NEW.model, NEW.backdrop, NEW.symbol)))
          AND (OLD.model IS NOT NULL OR OLD.backdrop IS NOT NULL OR OLD.symbol IS NOT NULL
               OR NEW.model IS NOT NULL OR NEW.backdrop IS NOT NULL OR NEW.symbol IS NOT NULL))
    EXECUTE FUNCTION nft_listed_track();

-- Folds the values of (at most) the oldest `batch` unfolded deltas: all rows of each such value
-- become one folded row with their sum (none when it is 0). Rows of transactions not committed
-- when it starts stay for the next fold. One fold at a time; another returns 0 at once.
-- Returns how many unfolded deltas it folded.
CREATE FUNCTION nft_listed_fold(batch integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    done bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('nft_listed_fold')) THEN
        RETURN 0;
    END IF;
    WITH picked AS (
        SELECT DISTINCT collection, kind, name
          FROM (SELECT collection, kind, name FROM nft_listed_deltas WHERE NOT folded ORDER BY id LIMIT batch) p),
    gone AS (
        DELETE FROM nft_listed_deltas d USING picked k
         WHERE d.collection = k.collection AND d.kind = k.kind AND d.name = k.name
        RETURNING d.collection, d.kind, d.name, d.delta, d.folded),
    kept AS (
        INSERT INTO nft_listed_deltas (collection, kind, name, delta, folded)
        SELECT collection, kind, name, sum(delta), true FROM gone GROUP BY collection, kind, name HAVING sum(delta) <> 0)
    SELECT count(*) FILTER (WHERE NOT folded) INTO done FROM gone;
    RETURN done;
END $$;
