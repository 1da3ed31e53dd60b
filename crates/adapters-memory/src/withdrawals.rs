//! Withdrawals to TON addresses.

use app::ports::reads::{Page, PageRequest, WithdrawalReads};
use async_trait::async_trait;
use domain::ports::WithdrawalRepo;
use domain::*;

use crate::{page_of, MemoryStore, MemoryUow};

#[async_trait]
impl WithdrawalRepo for MemoryUow {
    async fn lock(&mut self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
        Ok(self.state.withdrawals.get(&id.0).cloned())
    }

    async fn insert(&mut self, w: &Withdrawal) -> Result<(), RepoError> {
        self.state.withdrawals.insert(w.id.0, w.clone());
        Ok(())
    }

    async fn update(&mut self, w: &Withdrawal) -> Result<(), RepoError> {
        match self.state.withdrawals.get_mut(&w.id.0) {
            Some(row) => *row = w.clone(),
            None => return Err(self.fail(RepoError::Other(format!("withdrawal {} does not exist", w.id)))),
        }
        Ok(())
    }
}

#[async_trait]
impl WithdrawalReads for MemoryStore {
    async fn withdrawals(&self, user: UserId, page: PageRequest) -> Result<Page<Withdrawal>, RepoError> {
        Ok(page_of(&self.snapshot().withdrawals, page, |w| w.user_id == user, |w| w.id.0))
    }

    async fn withdrawal(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
        Ok(self.snapshot().withdrawals.get(&id.0).cloned())
    }

    async fn withdrawals_in(&self, status: WithdrawalStatus, page: PageRequest) -> Result<Page<Withdrawal>, RepoError> {
        Ok(page_of(&self.snapshot().withdrawals, page, |w| w.status == status, |w| w.id.0))
    }
}
