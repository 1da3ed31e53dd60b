//! Users and their balances; their ledger as they read it.

use app::ports::reads::{Page, PageRequest, UserReads};
use app::ports::UserSignup;
use async_trait::async_trait;
use domain::ports::AccountRepo;
use domain::*;
use uuid::Uuid;

use crate::{MemoryStore, MemoryUow};

#[async_trait]
impl AccountRepo for MemoryUow {
    async fn get(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self.state.users.get(&id.0).cloned())
    }

    async fn lock(&mut self, ids: &[UserId]) -> Result<Vec<User>, RepoError> {
        let mut ids: Vec<_> = ids.to_vec();
        ids.sort();
        ids.dedup();
        Ok(ids.iter().filter_map(|id| self.state.users.get(&id.0).cloned()).collect())
    }

    async fn ensure_locked(&mut self, id: UserId, username: Option<String>) -> Result<User, RepoError> {
        let user = self.state.users.entry(id.0).or_insert_with(|| User::new(id, None));
        if username.is_some() {
            user.username = username;
        }
        Ok(user.clone())
    }

    async fn save(&mut self, user: &User) -> Result<(), RepoError> {
        if !self.state.users.contains_key(&user.id.0) {
            return Err(self.fail(RepoError::Other(format!("user {} does not exist", user.id))));
        }
        self.state.users.insert(user.id.0, user.clone());
        Ok(())
    }
}

#[async_trait]
impl UserSignup for MemoryStore {
    async fn ensure_user(&self, id: UserId, username: Option<String>) -> Result<User, RepoError> {
        if let Some(u) = self.snapshot().users.get(&id.0) {
            if username.is_none() || u.username == username {
                return Ok(u.clone());
            }
        }
        let mut uow = self.begin("ensure_user").await;
        let user = uow.ensure_locked(id, username).await?;
        uow.publish();
        Ok(user)
    }
}

#[async_trait]
impl UserReads for MemoryStore {
    async fn user(&self, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self.snapshot().users.get(&id.0).cloned())
    }

    async fn ledger(&self, user: UserId, page: PageRequest) -> Result<Page<LedgerEntry>, RepoError> {
        let s = self.snapshot();
        let upper = page.after.unwrap_or(Uuid::max());
        let items: Vec<LedgerEntry> = s
            .ledger_by_user
            .range((user.0, Uuid::nil())..(user.0, upper))
            .rev()
            .take(page.limit as usize + 1)
            .filter_map(|((_, id), _)| s.ledger.get(id).cloned())
            .collect();
        Ok(Page::from_overfetch(items, page.limit, |e| e.id.0))
    }
}
