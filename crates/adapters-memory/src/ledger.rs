//! The append-only money ledger.

use async_trait::async_trait;
use domain::ports::LedgerRepo;
use domain::*;

use crate::MemoryUow;

#[async_trait]
impl LedgerRepo for MemoryUow {
    async fn append(&mut self, entries: &[LedgerEntry]) -> Result<(), RepoError> {
        for e in entries {
            if let Some(user) = e.user_id {
                self.state.ledger_by_user.insert((user.0, e.id.0), ());
            }
            self.state.ledger.insert(e.id.0, e.clone());
        }
        Ok(())
    }
}
