-- What prices a gift (SPEC §3 "What a gift is") and Telegram's handles for one held on the
-- business account (§5b). Existing rows keep NULL: registered without attributes. Indexes for
-- discovery come with it (measured), not here.
ALTER TABLE nfts
    ADD COLUMN number          BIGINT   CONSTRAINT nfts_number_positive CHECK (number > 0),
    ADD COLUMN model           TEXT,
    ADD COLUMN model_rarity    SMALLINT,
    ADD COLUMN backdrop        TEXT,
    ADD COLUMN backdrop_rarity SMALLINT,
    ADD COLUMN symbol          TEXT,
    ADD COLUMN symbol_rarity   SMALLINT,
    ADD COLUMN can_transfer_at TIMESTAMPTZ,
    ADD COLUMN owned_gift_id   TEXT,
    ADD COLUMN transfer_stars  BIGINT   CONSTRAINT nfts_transfer_stars_valid CHECK (transfer_stars >= 0),
    ADD CONSTRAINT nfts_attributes_valid CHECK (
        (model IS NULL) = (model_rarity IS NULL) AND (model_rarity BETWEEN 0 AND 1000) IS NOT FALSE
        AND (backdrop IS NULL) = (backdrop_rarity IS NULL) AND (backdrop_rarity BETWEEN 0 AND 1000) IS NOT FALSE
        AND (symbol IS NULL) = (symbol_rarity IS NULL) AND (symbol_rarity BETWEEN 0 AND 1000) IS NOT FALSE),
    ADD CONSTRAINT nfts_telegram_handles CHECK (owned_gift_id IS NOT NULL OR transfer_stars IS NULL);
