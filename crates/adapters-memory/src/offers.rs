//! Offers on NFTs.

use app::ports::reads::{OfferFilter, OfferReads, Page, PageRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::OfferRepo;
use domain::*;

use crate::{due, page_of, MemoryStore, MemoryUow};

#[async_trait]
impl OfferRepo for MemoryUow {
    async fn get(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        Ok(self.state.offers.get(&id.0).cloned())
    }

    async fn lock(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        Ok(self.state.offers.get(&id.0).cloned())
    }

    async fn lock_open_by(&mut self, nft: NftId, offerer: UserId) -> Result<Option<Offer>, RepoError> {
        Ok(self
            .state
            .offers
            .values()
            .find(|o| o.nft_id == nft && o.offerer_id == offerer && o.status == OfferStatus::Open)
            .cloned())
    }

    async fn lock_open_for_nft(&mut self, nft: NftId) -> Result<Vec<Offer>, RepoError> {
        Ok(self.state.offers.values().filter(|o| o.nft_id == nft && o.status == OfferStatus::Open).cloned().collect())
    }

    async fn lock_open_by_on(&mut self, offerer: UserId, nfts: &[NftId]) -> Result<Vec<Offer>, RepoError> {
        Ok(self
            .state
            .offers
            .values()
            .filter(|o| o.offerer_id == offerer && o.status == OfferStatus::Open && nfts.contains(&o.nft_id))
            .cloned()
            .collect())
    }

    async fn insert(&mut self, offer: &Offer) -> Result<(), RepoError> {
        if offer.status == OfferStatus::Open && self.lock_open_by(offer.nft_id, offer.offerer_id).await?.is_some() {
            return Err(self.fail(RepoError::Duplicate(Constraint::OneOpenOfferPerUserAndNft)));
        }
        self.state.offers.insert(offer.id.0, offer.clone());
        Ok(())
    }

    async fn update(&mut self, offer: &Offer) -> Result<(), RepoError> {
        match self.state.offers.get_mut(&offer.id.0) {
            Some(row) => *row = offer.clone(),
            None => return Err(self.fail(RepoError::Other(format!("offer {} does not exist", offer.id)))),
        }
        Ok(())
    }
}

#[async_trait]
impl OfferReads for MemoryStore {
    async fn offers(&self, f: &OfferFilter, page: PageRequest) -> Result<Page<Offer>, RepoError> {
        let s = self.snapshot();
        let keep = |o: &Offer| match f {
            OfferFilter::Nft(n) => o.nft_id == *n,
            OfferFilter::Involving(u) => {
                o.offerer_id == *u || s.nfts.get(&o.nft_id.0).is_some_and(|n| n.owner_id == *u)
            }
        };
        Ok(page_of(&s.offers, page, keep, |o| o.id.0))
    }

    async fn offer(&self, id: OfferId) -> Result<Option<Offer>, RepoError> {
        Ok(self.snapshot().offers.get(&id.0).cloned())
    }

    async fn due_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OfferId>, RepoError> {
        Ok(due(&self.snapshot().offers, limit, |o| o.status == OfferStatus::Open && o.expires_at <= now, OfferId))
    }
}
