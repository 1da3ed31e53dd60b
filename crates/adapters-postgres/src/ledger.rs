//! The append-only money ledger.

use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::map_err;
use crate::rows::bad;
use crate::PgUow;

#[async_trait]
impl LedgerRepo for PgUow {
    /// One statement for all entries (UNNEST), whatever their number.
    async fn append(&mut self, entries: &[LedgerEntry]) -> Result<(), RepoError> {
        if entries.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = entries.iter().map(|e| e.id.0).collect();
        let ops: Vec<Uuid> = entries.iter().map(|e| e.operation_id.0).collect();
        let kinds: Vec<&str> = entries.iter().map(|e| e.operation.as_str()).collect();
        let users: Vec<Option<i64>> = entries.iter().map(|e| e.user_id.map(|u| u.0)).collect();
        let accounts: Vec<&str> = entries.iter().map(|e| e.account.as_str()).collect();
        let amounts: Vec<Decimal> = entries.iter().map(|e| e.amount).collect();
        let refs: Vec<&str> = entries.iter().map(|e| e.reference.as_str()).collect();
        let at: Vec<chrono::DateTime<chrono::Utc>> = entries.iter().map(|e| e.created_at).collect();
        sqlx::query(
            "INSERT INTO ledger_entries (id, operation_id, operation, user_id, account, amount, reference, created_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::numeric[], $7::text[], $8::timestamptz[])",
        )
        .bind(ids)
        .bind(ops)
        .bind(kinds)
        .bind(users)
        .bind(accounts)
        .bind(amounts)
        .bind(refs)
        .bind(at)
        .execute(self.conn())
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

pub(crate) fn ledger_entry_row(r: &PgRow) -> Result<LedgerEntry, RepoError> {
    let e = |e| bad("ledger entry", e);
    let account: String = r.try_get("account").map_err(e)?;
    let operation: String = r.try_get("operation").map_err(e)?;
    let user_id: Option<i64> = r.try_get("user_id").map_err(e)?;
    Ok(LedgerEntry {
        id: LedgerEntryId(r.try_get("id").map_err(e)?),
        operation_id: OperationId(r.try_get("operation_id").map_err(e)?),
        operation: Operation::parse(&operation).ok_or_else(|| bad("operation", &operation))?,
        user_id: user_id.map(UserId),
        account: Account::parse(&account).ok_or_else(|| bad("account", &account))?,
        amount: r.try_get("amount").map_err(e)?,
        reference: r.try_get("reference").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
