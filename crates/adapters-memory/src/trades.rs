//! Trades between two users.

use app::ports::reads::{Page, PageRequest, TradeFilter, TradeReads};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::TradeRepo;
use domain::*;

use crate::{due, page_of, MemoryStore, MemoryUow};

#[async_trait]
impl TradeRepo for MemoryUow {
    async fn lock(&mut self, id: TradeId) -> Result<Option<Trade>, RepoError> {
        Ok(self.state.trades.get(&id.0).cloned())
    }

    async fn insert(&mut self, trade: &Trade) -> Result<(), RepoError> {
        for user in [trade.maker_id, trade.taker_id] {
            if !self.state.users.contains_key(&user.0) {
                return Err(self.fail(RepoError::MissingReference(Constraint::TradeParty)));
            }
        }
        self.state.trades.insert(trade.id.0, trade.clone());
        Ok(())
    }

    async fn update(&mut self, trade: &Trade) -> Result<(), RepoError> {
        match self.state.trades.get_mut(&trade.id.0) {
            Some(row) => *row = trade.clone(),
            None => return Err(self.fail(RepoError::Other(format!("trade {} does not exist", trade.id)))),
        }
        Ok(())
    }

    async fn count_live_by_maker(&mut self, maker: UserId, now: DateTime<Utc>) -> Result<u32, RepoError> {
        Ok(self.state.trades.values().filter(|t| t.maker_id == maker && t.is_live(now)).count() as u32)
    }
}

#[async_trait]
impl TradeReads for MemoryStore {
    async fn trades(&self, f: &TradeFilter, page: PageRequest) -> Result<Page<Trade>, RepoError> {
        let keep = |t: &Trade| {
            let role = match f.role {
                None => t.is_party(f.party),
                Some(TradeParty::Maker) => t.maker_id == f.party,
                Some(TradeParty::Taker) => t.taker_id == f.party,
            };
            role && f.status.is_none_or(|s| t.status == s)
        };
        Ok(page_of(&self.snapshot().trades, page, keep, |t| t.id.0))
    }

    async fn trade(&self, id: TradeId) -> Result<Option<Trade>, RepoError> {
        Ok(self.snapshot().trades.get(&id.0).cloned())
    }

    async fn due_trades(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<TradeId>, RepoError> {
        Ok(due(&self.snapshot().trades, limit, |t| t.status == TradeStatus::Open && t.expires_at <= now, TradeId))
    }
}
