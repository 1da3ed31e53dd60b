//! Credited on-chain deposits.

use async_trait::async_trait;
use domain::ports::DepositRepo;
use domain::*;

use crate::MemoryUow;

#[async_trait]
impl DepositRepo for MemoryUow {
    async fn find_by_tx_hash(&mut self, tx_hash: &str) -> Result<Option<Deposit>, RepoError> {
        Ok(self.state.deposits.get(tx_hash).cloned())
    }

    async fn insert(&mut self, deposit: &Deposit) -> Result<(), RepoError> {
        if self.state.deposits.contains_key(&deposit.tx_hash) {
            return Err(self.fail(RepoError::Duplicate(Constraint::DepositTxHash)));
        }
        self.state.deposits.insert(deposit.tx_hash.clone(), deposit.clone());
        Ok(())
    }
}
