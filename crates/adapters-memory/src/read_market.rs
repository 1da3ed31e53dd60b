//! Reads of auctions, offers, presales and withdrawals; the jobs' due-work queries.

use app::jobs::DueWork;
use app::queries::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::*;
use imbl::OrdMap;
use uuid::Uuid;

use crate::MemoryStore;

/// Newest first (ids are time-ordered), after the cursor, filtered, one page.
pub(crate) fn page_of<T: Clone>(
    map: &OrdMap<Uuid, T>,
    page: PageRequest,
    keep: impl Fn(&T) -> bool,
    id: impl Fn(&T) -> Uuid,
) -> Page<T> {
    let upper = page.after.unwrap_or(Uuid::max());
    let items: Vec<T> =
        map.range(..upper).rev().map(|(_, v)| v).filter(|v| keep(v)).take(page.limit as usize + 1).cloned().collect();
    Page::from_overfetch(items, page.limit, id)
}

impl MemoryStore {
    pub(crate) fn auctions_page(&self, f: &AuctionFilter, page: PageRequest) -> Page<Auction> {
        let s = self.snapshot();
        page_of(
            &s.auctions,
            page,
            |a| f.status.is_none_or(|st| a.status == st) && f.nft.is_none_or(|n| a.nft_id == n),
            |a| a.id.0,
        )
    }

    pub(crate) fn auction_with_bids(&self, id: AuctionId) -> Option<(Auction, Vec<Bid>)> {
        let s = self.snapshot();
        let auction = s.auctions.get(&id.0)?.clone();
        let mut bids: Vec<Bid> = s.bids.values().filter(|b| b.auction_id == id).cloned().collect();
        bids.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.id.cmp(&b.id)));
        Some((auction, bids))
    }

    pub(crate) fn offers_page(&self, f: &OfferFilter, page: PageRequest) -> Page<Offer> {
        let s = self.snapshot();
        let keep = |o: &Offer| match f {
            OfferFilter::Nft(n) => o.nft_id == *n,
            OfferFilter::Involving(u) => {
                o.offerer_id == *u || s.nfts.get(&o.nft_id.0).is_some_and(|n| n.owner_id == *u)
            }
        };
        page_of(&s.offers, page, keep, |o| o.id.0)
    }

    pub(crate) fn presales_page(&self, f: &PresaleFilter, page: PageRequest) -> Page<Presale> {
        let s = self.snapshot();
        page_of(
            &s.presales,
            page,
            |p| f.status.is_none_or(|st| p.status == st) && f.seller.is_none_or(|u| p.seller_id == u),
            |p| p.id.0,
        )
    }

    pub(crate) fn withdrawals_page(&self, user: UserId, page: PageRequest) -> Page<Withdrawal> {
        page_of(&self.snapshot().withdrawals, page, |w| w.user_id == user, |w| w.id.0)
    }
}

fn due<T, I>(map: &OrdMap<Uuid, T>, limit: u32, is_due: impl Fn(&T) -> bool, id: impl Fn(Uuid) -> I) -> Vec<I> {
    map.iter().filter(|(_, v)| is_due(v)).take(limit as usize).map(|(k, _)| id(*k)).collect()
}

#[async_trait]
impl DueWork for MemoryStore {
    async fn due_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OfferId>, RepoError> {
        Ok(due(&self.snapshot().offers, limit, |o| o.status == OfferStatus::Open && o.expires_at <= now, OfferId))
    }

    async fn due_auctions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AuctionId>, RepoError> {
        Ok(due(&self.snapshot().auctions, limit, |a| a.is_due(now), AuctionId))
    }

    async fn due_presales(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PresaleId>, RepoError> {
        Ok(due(&self.snapshot().presales, limit, |p| p.is_overdue(now), PresaleId))
    }
}
