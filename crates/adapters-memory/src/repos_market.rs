//! Auctions, presales and withdrawals on the Unit of Work's copy of the state.

use async_trait::async_trait;
use domain::ports::*;
use domain::*;

use crate::MemoryUow;

#[async_trait]
impl AuctionRepo for MemoryUow {
    async fn lock(&mut self, id: AuctionId) -> Result<Option<Auction>, RepoError> {
        Ok(self.state.auctions.get(&id.0).cloned())
    }

    async fn insert(&mut self, a: &Auction) -> Result<(), RepoError> {
        let active = |x: &Auction| x.nft_id == a.nft_id && x.status == AuctionStatus::Active;
        if a.status == AuctionStatus::Active && self.state.auctions.values().any(active) {
            return Err(RepoError::Duplicate("auctions_one_active_per_nft".into()));
        }
        self.state.auctions.insert(a.id.0, a.clone());
        Ok(())
    }

    async fn update(&mut self, a: &Auction) -> Result<(), RepoError> {
        match self.state.auctions.get_mut(&a.id.0) {
            Some(row) => *row = a.clone(),
            None => return Err(RepoError::Other(format!("auction {} does not exist", a.id))),
        }
        Ok(())
    }

    async fn insert_bid(&mut self, b: &Bid) -> Result<(), RepoError> {
        self.state.bids.insert(b.id.0, b.clone());
        Ok(())
    }
}

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
            None => return Err(RepoError::Other(format!("presale {} does not exist", p.id))),
        }
        Ok(())
    }
}

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
            None => return Err(RepoError::Other(format!("withdrawal {} does not exist", w.id))),
        }
        Ok(())
    }
}
