-- TON rails (SPEC §5a): deposit memos, the deposit watcher's cursor, unmatched deposits and the
-- journal of the marketplace wallet's signed transfers.

CREATE TABLE deposit_memos (
    user_id     BIGINT PRIMARY KEY CONSTRAINT deposit_memos_user_id_fkey REFERENCES users (id),
    memo        TEXT NOT NULL CONSTRAINT deposit_memos_memo_key UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Where the watcher is in an account's history (the last transaction handled).
CREATE TABLE chain_cursors (
    account     TEXT PRIMARY KEY,
    lt          BIGINT,
    hash        TEXT,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE unmatched_deposits (
    id           UUID PRIMARY KEY,
    tx_hash      TEXT NOT NULL CONSTRAINT unmatched_deposits_tx_hash_key UNIQUE,
    sender       TEXT NOT NULL,
    amount       NUMERIC(38, 9) NOT NULL CHECK (amount > 0),
    comment      TEXT,
    received_at  TIMESTAMPTZ NOT NULL,
    assigned_to  BIGINT CONSTRAINT unmatched_deposits_assigned_to_fkey REFERENCES users (id),
    assigned_at  TIMESTAMPTZ
);

-- One signed external message of the wallet per row, recorded before it is sent.
CREATE TABLE wallet_transfers (
    msg_hash       TEXT PRIMARY KEY,
    withdrawal_id  UUID NOT NULL REFERENCES withdrawals (id),
    wallet         TEXT NOT NULL,
    seqno          BIGINT NOT NULL,
    destination    TEXT NOT NULL,
    amount         NUMERIC(38, 9) NOT NULL CHECK (amount > 0),
    valid_until    TIMESTAMPTZ NOT NULL,
    boc            TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('in_flight', 'landed', 'expired')),
    tx_hash        TEXT,
    created_at     TIMESTAMPTZ NOT NULL
);
-- One seqno in use per wallet; never two payouts of one withdrawal.
CREATE UNIQUE INDEX wallet_transfers_one_in_flight ON wallet_transfers (wallet) WHERE state = 'in_flight';
CREATE UNIQUE INDEX wallet_transfers_one_live_per_withdrawal ON wallet_transfers (withdrawal_id)
    WHERE state IN ('in_flight', 'landed');
