//! Auctions and their bids.

use app::ports::reads::{AuctionFilter, AuctionReads, Page, PageRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::AuctionRepo;
use domain::*;

use crate::{due, page_of, MemoryStore, MemoryUow};

#[async_trait]
impl AuctionRepo for MemoryUow {
    async fn lock(&mut self, id: AuctionId) -> Result<Option<Auction>, RepoError> {
        Ok(self.state.auctions.get(&id.0).cloned())
    }

    async fn insert(&mut self, a: &Auction) -> Result<(), RepoError> {
        let active = |x: &Auction| x.nft_id == a.nft_id && x.status == AuctionStatus::Active;
        if a.status == AuctionStatus::Active && self.state.auctions.values().any(active) {
            return Err(self.fail(RepoError::Duplicate(Constraint::OneActiveAuctionPerNft)));
        }
        self.state.auctions.insert(a.id.0, a.clone());
        Ok(())
    }

    async fn update(&mut self, a: &Auction) -> Result<(), RepoError> {
        match self.state.auctions.get_mut(&a.id.0) {
            Some(row) => *row = a.clone(),
            None => return Err(self.fail(RepoError::Other(format!("auction {} does not exist", a.id)))),
        }
        Ok(())
    }

    async fn insert_bid(&mut self, b: &Bid) -> Result<(), RepoError> {
        self.state.bids.insert(b.id.0, b.clone());
        Ok(())
    }
}

#[async_trait]
impl AuctionReads for MemoryStore {
    async fn auctions(&self, f: &AuctionFilter, page: PageRequest) -> Result<Page<Auction>, RepoError> {
        let s = self.snapshot();
        let keep = |a: &Auction| f.status.is_none_or(|st| a.status == st) && f.nft.is_none_or(|n| a.nft_id == n);
        Ok(page_of(&s.auctions, page, keep, |a| a.id.0))
    }

    async fn auction(&self, id: AuctionId) -> Result<Option<(Auction, Vec<Bid>)>, RepoError> {
        let s = self.snapshot();
        let Some(auction) = s.auctions.get(&id.0).cloned() else { return Ok(None) };
        let mut bids: Vec<Bid> = s.bids.values().filter(|b| b.auction_id == id).cloned().collect();
        bids.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.id.cmp(&b.id)));
        Ok(Some((auction, bids)))
    }

    async fn due_auctions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AuctionId>, RepoError> {
        Ok(due(&self.snapshot().auctions, limit, |a| a.is_due(now), AuctionId))
    }
}
