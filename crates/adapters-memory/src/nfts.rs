//! NFTs in custody.

use app::ports::reads::{AttributePanel, NftQuery, NftReads, Page, Portfolio, SortKey};
use async_trait::async_trait;
use domain::ports::{AccountRepo, NftRepo, OfferRepo, SaleLocks, SaleRepo};
use domain::*;
use uuid::Uuid;

use crate::{MemoryStore, MemoryUow};

#[async_trait]
impl NftRepo for MemoryUow {
    async fn get(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        Ok(self.state.nfts.get(&id.0).cloned())
    }

    async fn lock(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        Ok(self.state.nfts.get(&id.0).cloned())
    }

    async fn lock_all(&mut self, ids: &[NftId]) -> Result<Vec<Nft>, RepoError> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        Ok(ids.iter().filter_map(|id| self.state.nfts.get(&id.0).cloned()).collect())
    }

    async fn insert(&mut self, nft: &Nft) -> Result<(), RepoError> {
        if self.state.gift_ids.contains_key(&nft.gift_id) || self.state.nfts.contains_key(&nft.id.0) {
            return Err(self.fail(RepoError::Duplicate(Constraint::GiftId)));
        }
        if !self.state.users.contains_key(&nft.owner_id.0) {
            return Err(self.fail(RepoError::MissingReference(Constraint::NftOwner)));
        }
        self.state.gift_ids.insert(nft.gift_id.clone(), nft.id.0);
        self.state.nfts.insert(nft.id.0, nft.clone());
        Ok(())
    }

    async fn update(&mut self, nft: &Nft) -> Result<(), RepoError> {
        if !self.state.users.contains_key(&nft.owner_id.0) {
            return Err(self.fail(RepoError::MissingReference(Constraint::NftOwner)));
        }
        match self.state.nfts.get_mut(&nft.id.0) {
            Some(row) => *row = nft.clone(),
            None => return Err(self.fail(RepoError::Other(format!("NFT {} does not exist", nft.id)))),
        }
        Ok(())
    }

    async fn lock_by_gift_id(&mut self, gift_id: &str) -> Result<Option<Nft>, RepoError> {
        Ok(self.state.gift_ids.get(gift_id).and_then(|id| self.state.nfts.get(id)).cloned())
    }

    async fn update_custody(&mut self, nft: &Nft) -> Result<(), RepoError> {
        NftRepo::update(self, nft).await
    }

    async fn cheapest_listed(
        &mut self,
        criteria: &OfferCriteria,
        max_price: Money,
        not_owner: UserId,
        limit: u32,
    ) -> Result<Vec<NftId>, RepoError> {
        let mut found: Vec<(Money, NftId)> = self
            .state
            .nfts
            .values()
            .filter(|n| n.owner_id != not_owner && criteria.matches(n))
            .filter_map(|n| n.price.filter(|p| *p <= max_price).map(|p| (p, n.id)))
            .collect();
        found.sort();
        Ok(found.into_iter().take(limit as usize).map(|(_, id)| id).collect())
    }
}

#[async_trait]
impl NftReads for MemoryStore {
    /// Every NFT is looked at: the in-memory store is for one machine's worth of NFTs.
    async fn nfts(&self, q: &NftQuery) -> Result<Page<Nft>, RepoError> {
        let s = self.snapshot();
        let mut found: Vec<(SortKey, Uuid, &Nft)> = s
            .nfts
            .values()
            .filter(|n| q.filter.matches(n))
            .filter_map(|n| Some((q.sort.key(n)?, n.id.0, n)))
            .filter(|(key, id, _)| q.after.is_none_or(|c| c.precedes(q.sort, *key, *id)))
            .collect();
        found.sort_by_key(|(key, id, _)| (*key, *id));
        if q.sort.descending() {
            found.reverse();
        }
        let items = found.into_iter().take(q.limit as usize + 1).map(|(_, _, n)| n.clone()).collect();
        Ok(Page::of_nfts(items, q.limit, q.sort))
    }

    async fn nft(&self, id: NftId) -> Result<Option<Nft>, RepoError> {
        Ok(self.snapshot().nfts.get(&id.0).cloned())
    }

    async fn attribute_panel(&self, collection: &str) -> Result<Option<AttributePanel>, RepoError> {
        Ok(AttributePanel::of(collection, self.snapshot().nfts.values()))
    }

    async fn portfolio(&self, owner: UserId) -> Result<Portfolio, RepoError> {
        let s = self.snapshot();
        let all: Vec<&Nft> = s.nfts.values().collect();
        Ok(Portfolio::of(owner, &all))
    }
}

#[async_trait]
impl SaleRepo for MemoryUow {
    /// Units of Work run one at a time here: the three lookups together are as good as one.
    async fn lock_sale(&mut self, nft: NftId, buyer: UserId) -> Result<Option<SaleLocks>, RepoError> {
        let Some(found) = NftRepo::lock(self, nft).await? else { return Ok(None) };
        let own_offer = OfferRepo::lock_open_by(self, nft, buyer).await?;
        let parties = AccountRepo::lock(self, &[buyer, found.owner_id]).await?;
        Ok(Some(SaleLocks { nft: found, own_offer, parties }))
    }
}
