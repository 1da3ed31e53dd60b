//! Credited on-chain deposits.

use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::rows::{bad, money};
use crate::PgUow;

#[async_trait]
impl DepositRepo for PgUow {
    async fn find_by_tx_hash(&mut self, tx_hash: &str) -> Result<Option<Deposit>, RepoError> {
        let row = sqlx::query("SELECT id, user_id, amount, tx_hash, created_at FROM deposits WHERE tx_hash = $1")
            .bind(tx_hash)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(self.fail())?;
        row.as_ref().map(deposit_row).transpose()
    }

    async fn insert(&mut self, d: &Deposit) -> Result<(), RepoError> {
        sqlx::query("INSERT INTO deposits (id, user_id, amount, tx_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(d.id.0)
            .bind(d.user_id.0)
            .bind(d.amount.as_decimal())
            .bind(&d.tx_hash)
            .bind(d.created_at)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }
}

pub(crate) fn deposit_row(r: &PgRow) -> Result<Deposit, RepoError> {
    let e = |e| bad("deposit", e);
    Ok(Deposit {
        id: DepositId(r.try_get("id").map_err(e)?),
        user_id: UserId(r.try_get("user_id").map_err(e)?),
        amount: money(r.try_get("amount").map_err(e)?)?,
        tx_hash: r.try_get("tx_hash").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
