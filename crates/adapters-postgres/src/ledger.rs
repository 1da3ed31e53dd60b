//! The append-only money ledger.

use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::rows::bad;
use crate::PgUow;

#[async_trait]
impl LedgerRepo for PgUow {
    /// Deferred: sent with the Unit of Work's next statement or commit, in one statement with
    /// the other deferred writes.
    async fn append(&mut self, entries: &[LedgerEntry]) -> Result<(), RepoError> {
        self.defer().ledger(entries);
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
