//! Presales.

use app::ports::reads::{Page, PageRequest, PresaleFilter, PresaleReads};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::PresaleRepo;
use domain::*;

use crate::{due, page_of, MemoryStore, MemoryUow};

#[async_trait]
impl PresaleRepo for MemoryUow {
    async fn lock(&mut self, id: PresaleId) -> Result<Option<Presale>, RepoError> {
        Ok(self.state.presales.get(&id.0).cloned())
    }

    async fn insert(&mut self, p: &Presale) -> Result<(), RepoError> {
        self.state.presales.insert(p.id.0, p.clone());
        Ok(())
    }

    async fn update(&mut self, p: &Presale) -> Result<(), RepoError> {
        match self.state.presales.get_mut(&p.id.0) {
            Some(row) => *row = p.clone(),
            None => return Err(self.fail(RepoError::Other(format!("presale {} does not exist", p.id)))),
        }
        Ok(())
    }
}

#[async_trait]
impl PresaleReads for MemoryStore {
    async fn presales(&self, f: &PresaleFilter, page: PageRequest) -> Result<Page<Presale>, RepoError> {
        let s = self.snapshot();
        let keep = |p: &Presale| f.status.is_none_or(|st| p.status == st) && f.seller.is_none_or(|u| p.seller_id == u);
        Ok(page_of(&s.presales, page, keep, |p| p.id.0))
    }

    async fn presale(&self, id: PresaleId) -> Result<Option<Presale>, RepoError> {
        Ok(self.snapshot().presales.get(&id.0).cloned())
    }

    async fn due_presales(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PresaleId>, RepoError> {
        Ok(due(&self.snapshot().presales, limit, |p| p.is_overdue(now), PresaleId))
    }
}
