//! Withdrawals to TON addresses.

use app::ports::reads::*;
use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::rows::{bad, money};
use crate::{PgStore, PgUow};

#[async_trait]
impl WithdrawalRepo for PgUow {
    async fn lock(&mut self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
        self.one(
            &format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE id = $1 FOR UPDATE"),
            id.0,
            withdrawal_row,
        )
        .await
    }

    async fn insert(&mut self, w: &Withdrawal) -> Result<(), RepoError> {
        sqlx::query(&format!("INSERT INTO withdrawals ({WITHDRAWAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(w.id.0)
            .bind(w.user_id.0)
            .bind(w.amount.as_decimal())
            .bind(&w.address)
            .bind(w.status.as_str())
            .bind(&w.tx_hash)
            .bind(w.created_at)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }

    async fn update(&mut self, w: &Withdrawal) -> Result<(), RepoError> {
        sqlx::query("UPDATE withdrawals SET status = $2, tx_hash = $3 WHERE id = $1")
            .bind(w.id.0)
            .bind(w.status.as_str())
            .bind(&w.tx_hash)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl WithdrawalReads for PgStore {
    async fn withdrawals(&self, user: UserId, page: PageRequest) -> Result<Page<Withdrawal>, RepoError> {
        self.page(
sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(user.0)
        .bind(page.after)
        .bind(i64::from(page.limit) + 1),
            page.limit, withdrawal_row, |w| w.id.0).await
    }

    async fn withdrawal(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
        self.one(&format!("SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE id = $1"), id.0, withdrawal_row).await
    }

    /// On `withdrawals_status_idx` (status, id).
    async fn withdrawals_in(&self, status: WithdrawalStatus, page: PageRequest) -> Result<Page<Withdrawal>, RepoError> {
        self.page(
            sqlx::query(&format!(
                "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE status = $1 AND ($2::uuid IS NULL OR id < $2) \
                 ORDER BY id DESC LIMIT $3"
            ))
            .bind(status.as_str())
            .bind(page.after)
            .bind(i64::from(page.limit) + 1),
            page.limit,
            withdrawal_row,
            |w| w.id.0,
        )
        .await
    }
}

pub(crate) const WITHDRAWAL_COLUMNS: &str = "id, user_id, amount, address, status, tx_hash, created_at";

pub(crate) fn withdrawal_row(r: &PgRow) -> Result<Withdrawal, RepoError> {
    let e = |e| bad("withdrawal", e);
    let status: String = r.try_get("status").map_err(e)?;
    Ok(Withdrawal {
        id: WithdrawalId(r.try_get("id").map_err(e)?),
        user_id: UserId(r.try_get("user_id").map_err(e)?),
        amount: money(r.try_get("amount").map_err(e)?)?,
        address: r.try_get("address").map_err(e)?,
        status: WithdrawalStatus::parse(&status).ok_or_else(|| bad("withdrawal status", &status))?,
        tx_hash: r.try_get("tx_hash").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
