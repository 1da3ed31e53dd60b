//! Reads of the market: NFTs, auctions, offers, presales, and the jobs' due lists.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::*;

use super::{AttributePanel, NftQuery, Page, PageRequest, Portfolio};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuctionFilter {
    pub status: Option<AuctionStatus>,
    pub nft: Option<NftId>,
}

/// Offers on one NFT, or offers a user made or received (on NFTs they own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferFilter {
    Nft(NftId),
    Involving(UserId),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresaleFilter {
    pub status: Option<PresaleStatus>,
    pub seller: Option<UserId>,
}

#[async_trait]
pub trait NftReads: Send + Sync {
    /// One page of NFTs matching the query's filter, in its sort, after its cursor; the next
    /// page's cursor is [`NftCursor::after`](super::NftCursor::after) the last item.
    async fn nfts(&self, query: &NftQuery) -> Result<Page<Nft>, RepoError>;
    /// The attribute values of a collection with count, listed and floor each
    /// ([`AttributePanel::of`](super::AttributePanel::of) defines them); `None` when no NFT was
    /// ever of the collection.
    async fn attribute_panel(&self, collection: &str) -> Result<Option<AttributePanel>, RepoError>;
    /// `owner`'s NFTs in custody valued at floor ([`Portfolio::of`](super::Portfolio::of)).
    async fn portfolio(&self, owner: UserId) -> Result<Portfolio, RepoError>;
    /// One NFT; `None` when it does not exist.
    async fn nft(&self, id: NftId) -> Result<Option<Nft>, RepoError>;
}

#[async_trait]
pub trait AuctionReads: Send + Sync {
    /// Auctions, newest first.
    async fn auctions(&self, filter: &AuctionFilter, page: PageRequest) -> Result<Page<Auction>, RepoError>;
    /// One auction with its bids, highest first.
    async fn auction(&self, id: AuctionId) -> Result<Option<(Auction, Vec<Bid>)>, RepoError>;
    /// Active auctions past their end (the settlement job's work).
    async fn due_auctions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AuctionId>, RepoError>;
}

#[async_trait]
pub trait OfferReads: Send + Sync {
    /// Offers, newest first.
    async fn offers(&self, filter: &OfferFilter, page: PageRequest) -> Result<Page<Offer>, RepoError>;
    /// One offer; `None` when it does not exist.
    async fn offer(&self, id: OfferId) -> Result<Option<Offer>, RepoError>;
    /// Open offers past expiry, oldest first (the expiry job's work).
    async fn due_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OfferId>, RepoError>;
}

#[async_trait]
pub trait PresaleReads: Send + Sync {
    /// Presales, newest first.
    async fn presales(&self, filter: &PresaleFilter, page: PageRequest) -> Result<Page<Presale>, RepoError>;
    /// One presale; `None` when it does not exist.
    async fn presale(&self, id: PresaleId) -> Result<Option<Presale>, RepoError>;
    /// Open or sold presales past `deliver_by` (the deadline job's work).
    async fn due_presales(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PresaleId>, RepoError>;
}
