//! Channel listings and sales.

use app::ports::reads::{AwaitingTransfer, ChannelFilter, ChannelReads, Page, PageRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::ChannelSaleRepo;
use domain::*;

use crate::{page_of, MemoryStore, MemoryUow};

fn live(s: &ChannelSale) -> bool {
    matches!(s.status, ChannelSaleStatus::Listed | ChannelSaleStatus::AwaitingTransfer)
}

#[async_trait]
impl ChannelSaleRepo for MemoryUow {
    async fn lock(&mut self, id: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError> {
        Ok(self.state.channel_sales.get(&id.0).cloned())
    }

    async fn insert(&mut self, sale: &ChannelSale) -> Result<(), RepoError> {
        if live(sale) && self.state.channel_sales.values().any(|s| s.chat_id == sale.chat_id && live(s)) {
            return Err(self.fail(RepoError::Duplicate(Constraint::OneLiveSalePerChannel)));
        }
        if !self.state.users.contains_key(&sale.seller_id.0) {
            return Err(self.fail(RepoError::MissingReference(Constraint::ChannelSeller)));
        }
        self.state.channel_sales.insert(sale.id.0, sale.clone());
        Ok(())
    }

    async fn update(&mut self, sale: &ChannelSale) -> Result<(), RepoError> {
        match self.state.channel_sales.get_mut(&sale.id.0) {
            Some(row) => *row = sale.clone(),
            None => return Err(self.fail(RepoError::Other(format!("channel sale {} does not exist", sale.id)))),
        }
        Ok(())
    }
}

#[async_trait]
impl ChannelReads for MemoryStore {
    async fn channel_sales(&self, f: &ChannelFilter, page: PageRequest) -> Result<Page<ChannelSale>, RepoError> {
        let keep = |s: &ChannelSale| s.visible_to(f.viewer) && f.status.is_none_or(|st| s.status == st);
        Ok(page_of(&self.snapshot().channel_sales, page, keep, |s| s.id.0))
    }

    async fn channel_sale(&self, id: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError> {
        Ok(self.snapshot().channel_sales.get(&id.0).cloned())
    }

    async fn channel_sales_in(
        &self,
        status: ChannelSaleStatus,
        page: PageRequest,
    ) -> Result<Page<ChannelSale>, RepoError> {
        Ok(page_of(&self.snapshot().channel_sales, page, |s| s.status == status, |s| s.id.0))
    }

    async fn awaiting_channel_sales(&self, limit: u32) -> Result<Vec<AwaitingTransfer>, RepoError> {
        let s = self.snapshot();
        let mut awaiting: Vec<&ChannelSale> =
            s.channel_sales.values().filter(|c| c.status == ChannelSaleStatus::AwaitingTransfer).collect();
        awaiting.sort_by_key(|c| (c.transfer_by, c.id));
        Ok(awaiting
            .into_iter()
            .take(limit as usize)
            .map(|c| AwaitingTransfer { id: c.id, transfer_by: c.transfer_by.unwrap_or(DateTime::<Utc>::MAX_UTC) })
            .collect())
    }
}
