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

/// Which open collection offers the order book shows: those a gift of `collection` with these
/// attributes could fill (an offer naming no model is there for every model, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookFilter {
    pub collection: Option<String>,
    pub model: Option<String>,
    pub backdrop: Option<String>,
    pub symbol: Option<String>,
}

impl BookFilter {
    /// The rule both stores apply.
    pub fn keeps(&self, o: &CollectionOffer) -> bool {
        let fits = |want: &Option<String>, offer: &Option<String>| match (want, offer) {
            (Some(w), Some(o)) => w == o,
            _ => true,
        };
        self.collection.as_ref().is_none_or(|c| *c == o.criteria.collection)
            && fits(&self.model, &o.criteria.model)
            && fits(&self.backdrop, &o.criteria.backdrop)
            && fits(&self.symbol, &o.criteria.symbol)
    }
}

/// Where a page of the order book (best price first, then oldest) ends: the last offer's price,
/// creation time and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookCursor {
    pub price: Money,
    pub created_at: DateTime<Utc>,
    pub id: uuid::Uuid,
}

impl BookCursor {
    pub fn of(o: &CollectionOffer) -> Self {
        Self { price: o.price, created_at: o.created_at, id: o.id.0 }
    }

    /// `b{price}_{micros}_{id}`.
    pub fn encode(&self) -> String {
        format!("b{}_{}_{}", self.price, self.created_at.timestamp_micros(), self.id.simple())
    }

    pub fn decode(s: &str) -> Option<Self> {
        let mut parts = s.strip_prefix('b')?.split('_');
        let price = Money::parse(parts.next()?).ok()?;
        let micros: i64 = parts.next()?.parse().ok()?;
        let hex = parts.next()?;
        if parts.next().is_some() || hex.len() != 32 || hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        Some(Self { price, created_at: DateTime::from_timestamp_micros(micros)?, id: uuid::Uuid::try_parse(hex).ok()? })
    }

    /// Whether `o` comes after the cursor in the book's order.
    pub fn precedes(&self, o: &CollectionOffer) -> bool {
        (std::cmp::Reverse(self.price), self.created_at, self.id) < (std::cmp::Reverse(o.price), o.created_at, o.id.0)
    }
}

/// A page of the order book from up to `limit + 1` offers in its order.
pub fn book_page(mut items: Vec<CollectionOffer>, limit: u32) -> Page<CollectionOffer> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more { items.last().map(|o| BookCursor::of(o).encode()) } else { None };
    Page { items, next_cursor }
}

#[async_trait]
pub trait CollectionOfferReads: Send + Sync {
    /// The order book: live open offers the filter keeps, best price first, then oldest.
    async fn collection_offer_book(
        &self,
        filter: &BookFilter,
        after: Option<&BookCursor>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Page<CollectionOffer>, RepoError>;
    /// One user's collection offers, any status, newest first.
    async fn collection_offers_of(&self, user: UserId, page: PageRequest) -> Result<Page<CollectionOffer>, RepoError>;
    /// One; `None` when it does not exist.
    async fn collection_offer(&self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, RepoError>;
    /// Open ones past expiry, oldest expiry first (the expiry job's work).
    async fn due_collection_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<CollectionOfferId>, RepoError>;
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
