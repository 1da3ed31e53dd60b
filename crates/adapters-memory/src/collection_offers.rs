//! Collection offers.

use app::ports::reads::{book_page, BookCursor, BookFilter, CollectionOfferReads, Page, PageRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::CollectionOfferRepo;
use domain::*;

use crate::{due, page_of, MemoryStore, MemoryUow};

/// The book's order: highest price, then oldest, then id.
fn book_key(o: &CollectionOffer) -> (std::cmp::Reverse<Money>, DateTime<Utc>, uuid::Uuid) {
    (std::cmp::Reverse(o.price), o.created_at, o.id.0)
}

#[async_trait]
impl CollectionOfferRepo for MemoryUow {
    async fn lock(&mut self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, RepoError> {
        Ok(self.state.collection_offers.get(&id.0).cloned())
    }

    async fn count_open(&mut self, user: UserId, now: DateTime<Utc>) -> Result<u32, RepoError> {
        Ok(self.state.collection_offers.values().filter(|o| o.user_id == user && o.is_live(now)).count() as u32)
    }

    async fn best_for(
        &mut self,
        nft: &Nft,
        not_by: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<CollectionOffer>, RepoError> {
        Ok(self
            .state
            .collection_offers
            .values()
            .filter(|o| o.is_live(now) && o.user_id != not_by && o.criteria.matches(nft))
            .min_by_key(|o| book_key(o))
            .cloned())
    }

    async fn insert(&mut self, offer: &CollectionOffer) -> Result<(), RepoError> {
        if !self.state.users.contains_key(&offer.user_id.0) {
            return Err(self.fail(RepoError::Other(format!("user {} has no account", offer.user_id))));
        }
        self.state.collection_offers.insert(offer.id.0, offer.clone());
        Ok(())
    }

    async fn update(&mut self, offer: &CollectionOffer) -> Result<(), RepoError> {
        match self.state.collection_offers.get_mut(&offer.id.0) {
            Some(row) => *row = offer.clone(),
            None => return Err(self.fail(RepoError::Other(format!("collection offer {} does not exist", offer.id)))),
        }
        Ok(())
    }
}

#[async_trait]
impl CollectionOfferReads for MemoryStore {
    async fn collection_offer_book(
        &self,
        filter: &BookFilter,
        after: Option<&BookCursor>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Page<CollectionOffer>, RepoError> {
        let s = self.snapshot();
        let mut items: Vec<CollectionOffer> = s
            .collection_offers
            .values()
            .filter(|o| o.is_live(now) && filter.keeps(o) && after.is_none_or(|c| c.precedes(o)))
            .cloned()
            .collect();
        items.sort_by_key(book_key);
        items.truncate(limit as usize + 1);
        Ok(book_page(items, limit))
    }

    async fn collection_offers_of(&self, user: UserId, page: PageRequest) -> Result<Page<CollectionOffer>, RepoError> {
        Ok(page_of(&self.snapshot().collection_offers, page, |o| o.user_id == user, |o| o.id.0))
    }

    async fn collection_offer(&self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, RepoError> {
        Ok(self.snapshot().collection_offers.get(&id.0).cloned())
    }

    async fn due_collection_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<CollectionOfferId>, RepoError> {
        Ok(due(
            &self.snapshot().collection_offers,
            limit,
            |o| o.status == CollectionOfferStatus::Open && o.expires_at <= now,
            CollectionOfferId,
        ))
    }
}
