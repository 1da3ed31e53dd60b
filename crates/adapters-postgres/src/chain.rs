//! Deposit memos, the deposit watcher's cursor, unmatched deposits and the wallet's journal.

use app::ports::reads::{DepositReads, Page, PageRequest};
use app::ports::{TransferState, WalletJournal, WalletTransfer};
use async_trait::async_trait;
use domain::ports::{ChainRepo, UnmatchedDepositRepo};
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::error::map_err;
use crate::rows::{bad, money};
use crate::{PgStore, PgUow};

#[async_trait]
impl ChainRepo for PgUow {
    async fn memo_of(&mut self, user: UserId) -> Result<Option<String>, RepoError> {
        sqlx::query_scalar("SELECT memo FROM deposit_memos WHERE user_id = $1")
            .bind(user.0)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(self.fail())
    }

    async fn insert_memo(&mut self, user: UserId, memo: &str) -> Result<(), RepoError> {
        sqlx::query("INSERT INTO deposit_memos (user_id, memo) VALUES ($1, $2)")
            .bind(user.0)
            .bind(memo)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }

    async fn user_by_memo(&mut self, memo: &str) -> Result<Option<UserId>, RepoError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT user_id FROM deposit_memos WHERE memo = $1")
            .bind(memo)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(id.map(UserId))
    }

    /// One statement creates the row if needed and locks it.
    async fn lock_cursor(&mut self, account: &str) -> Result<Option<ChainCursor>, RepoError> {
        let row = sqlx::query(
            "INSERT INTO chain_cursors (account) VALUES ($1) \
             ON CONFLICT (account) DO UPDATE SET account = EXCLUDED.account RETURNING lt, hash",
        )
        .bind(account)
        .fetch_one(self.conn().await?)
        .await
        .map_err(self.fail())?;
        let lt: Option<i64> = row.try_get("lt").map_err(|e| bad("cursor", e))?;
        let hash: Option<String> = row.try_get("hash").map_err(|e| bad("cursor", e))?;
        Ok(match (lt, hash) {
            (Some(lt), Some(hash)) => Some(ChainCursor { lt: lt as u64, hash }),
            _ => None,
        })
    }

    async fn save_cursor(&mut self, account: &str, cursor: &ChainCursor) -> Result<(), RepoError> {
        let lt = i64::try_from(cursor.lt).map_err(|_| RepoError::InvalidData("logical time out of range".into()))?;
        sqlx::query("UPDATE chain_cursors SET lt = $2, hash = $3, updated_at = now() WHERE account = $1")
            .bind(account)
            .bind(lt)
            .bind(&cursor.hash)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }
}

const UNMATCHED_COLUMNS: &str = "id, tx_hash, sender, amount, comment, received_at, assigned_to, assigned_at";

fn unmatched_row(r: &PgRow) -> Result<UnmatchedDeposit, RepoError> {
    let e = |e| bad("unmatched deposit", e);
    let assigned_to: Option<i64> = r.try_get("assigned_to").map_err(e)?;
    Ok(UnmatchedDeposit {
        id: UnmatchedDepositId(r.try_get("id").map_err(e)?),
        tx_hash: r.try_get("tx_hash").map_err(e)?,
        sender: r.try_get("sender").map_err(e)?,
        amount: money(r.try_get("amount").map_err(e)?)?,
        comment: r.try_get("comment").map_err(e)?,
        received_at: r.try_get("received_at").map_err(e)?,
        assigned_to: assigned_to.map(UserId),
        assigned_at: r.try_get("assigned_at").map_err(e)?,
    })
}

#[async_trait]
impl UnmatchedDepositRepo for PgUow {
    async fn insert(&mut self, d: &UnmatchedDeposit) -> Result<bool, RepoError> {
        let done = sqlx::query(&format!(
            "INSERT INTO unmatched_deposits ({UNMATCHED_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tx_hash) DO NOTHING"
        ))
        .bind(d.id.0)
        .bind(&d.tx_hash)
        .bind(&d.sender)
        .bind(d.amount.as_decimal())
        .bind(&d.comment)
        .bind(d.received_at)
        .bind(d.assigned_to.map(|u| u.0))
        .bind(d.assigned_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(done.rows_affected() == 1)
    }

    async fn lock(&mut self, id: UnmatchedDepositId) -> Result<Option<UnmatchedDeposit>, RepoError> {
        self.one(
            &format!("SELECT {UNMATCHED_COLUMNS} FROM unmatched_deposits WHERE id = $1 FOR UPDATE"),
            id.0,
            unmatched_row,
        )
        .await
    }

    async fn update(&mut self, d: &UnmatchedDeposit) -> Result<(), RepoError> {
        sqlx::query("UPDATE unmatched_deposits SET assigned_to = $2, assigned_at = $3 WHERE id = $1")
            .bind(d.id.0)
            .bind(d.assigned_to.map(|u| u.0))
            .bind(d.assigned_at)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl DepositReads for PgStore {
    async fn unmatched_deposits(&self, page: PageRequest) -> Result<Page<UnmatchedDeposit>, RepoError> {
        self.page(
            sqlx::query(&format!(
                "SELECT {UNMATCHED_COLUMNS} FROM unmatched_deposits WHERE ($1::uuid IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
            ))
            .bind(page.after)
            .bind(i64::from(page.limit) + 1),
            page.limit,
            unmatched_row,
            |u| u.id.0,
        )
        .await
    }
}

const TRANSFER_COLUMNS: &str =
    "msg_hash, withdrawal_id, wallet, seqno, destination, amount, valid_until, boc, state, tx_hash, created_at";

fn transfer_row(r: &PgRow) -> Result<WalletTransfer, RepoError> {
    let e = |e| bad("wallet transfer", e);
    let state: String = r.try_get("state").map_err(e)?;
    let seqno: i64 = r.try_get("seqno").map_err(e)?;
    Ok(WalletTransfer {
        msg_hash: r.try_get("msg_hash").map_err(e)?,
        withdrawal_id: WithdrawalId(r.try_get("withdrawal_id").map_err(e)?),
        wallet: r.try_get("wallet").map_err(e)?,
        seqno: u32::try_from(seqno).map_err(|_| bad("wallet transfer seqno", seqno))?,
        destination: r.try_get("destination").map_err(e)?,
        amount: money(r.try_get("amount").map_err(e)?)?,
        valid_until: r.try_get("valid_until").map_err(e)?,
        boc: r.try_get("boc").map_err(e)?,
        state: TransferState::parse(&state).ok_or_else(|| bad("wallet transfer state", &state))?,
        tx_hash: r.try_get("tx_hash").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

#[async_trait]
impl WalletJournal for PgStore {
    async fn transfer_of(&self, withdrawal: WithdrawalId) -> Result<Option<WalletTransfer>, RepoError> {
        let row = sqlx::query(&format!(
            "SELECT {TRANSFER_COLUMNS} FROM wallet_transfers WHERE withdrawal_id = $1 \
             ORDER BY (state <> 'expired') DESC, created_at DESC LIMIT 1"
        ))
        .bind(withdrawal.0)
        .fetch_optional(self.pool())
        .await
        .map_err(map_err)?;
        row.as_ref().map(transfer_row).transpose()
    }

    async fn in_flight(&self, wallet: &str) -> Result<Option<WalletTransfer>, RepoError> {
        let row = sqlx::query(&format!(
            "SELECT {TRANSFER_COLUMNS} FROM wallet_transfers WHERE wallet = $1 AND state = 'in_flight'"
        ))
        .bind(wallet)
        .fetch_optional(self.pool())
        .await
        .map_err(map_err)?;
        row.as_ref().map(transfer_row).transpose()
    }

    async fn record(&self, t: &WalletTransfer) -> Result<(), RepoError> {
        sqlx::query(&format!(
            "INSERT INTO wallet_transfers ({TRANSFER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&t.msg_hash)
        .bind(t.withdrawal_id.0)
        .bind(&t.wallet)
        .bind(i64::from(t.seqno))
        .bind(&t.destination)
        .bind(t.amount.as_decimal())
        .bind(t.valid_until)
        .bind(&t.boc)
        .bind(t.state.as_str())
        .bind(&t.tx_hash)
        .bind(t.created_at)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn settle<'a>(
        &self,
        msg_hash: &str,
        state: TransferState,
        tx_hash: Option<&'a str>,
    ) -> Result<(), RepoError> {
        sqlx::query("UPDATE wallet_transfers SET state = $2, tx_hash = $3 WHERE msg_hash = $1 AND state = 'in_flight'")
            .bind(msg_hash)
            .bind(state.as_str())
            .bind(tx_hash)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
