//! Reads of the live market: the activity feed, the event stream, collection statistics.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::*;

use super::{Page, PageRequest};

/// Which public market events to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub collection: Option<String>,
    pub nft_id: Option<NftId>,
    pub kind: Option<EventKind>,
}

/// Which events a read of the live stream wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StreamScope {
    /// Every event, public and private (an instance's fan-out sorts them out).
    #[default]
    All,
    /// One stream's: the public events its filters admit, and its user's private ones.
    Stream { user: UserId, collection: Option<String>, nft_id: Option<NftId>, auction_id: Option<AuctionId> },
}

impl StreamScope {
    /// Whether `e` is in scope (the adapters' queries say the same).
    pub fn admits(&self, e: &MarketEvent) -> bool {
        match self {
            StreamScope::All => true,
            StreamScope::Stream { user, collection, nft_id, auction_id } => match e.recipient {
                Some(r) => r == *user,
                None => public_event_matches(collection.as_deref(), *nft_id, *auction_id, e),
            },
        }
    }
}

/// Whether a public event matches a stream's filters (each `None` admits all).
pub fn public_event_matches(
    collection: Option<&str>,
    nft_id: Option<NftId>,
    auction_id: Option<AuctionId>,
    e: &MarketEvent,
) -> bool {
    collection.is_none_or(|c| e.collection.as_deref() == Some(c))
        && nft_id.is_none_or(|n| e.nft_id == Some(n))
        && auction_id.is_none_or(|a| e.auction_id == Some(a))
}

/// A collection's market, now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionStats {
    pub name: String,
    /// NFTs listed for sale, and the lowest price among them.
    pub listed: u64,
    pub floor: Option<Money>,
    /// Distinct owners of its NFTs in custody.
    pub owners: u64,
    pub sales_24h: u64,
    pub volume_24h: Money,
    pub sales_7d: u64,
    pub volume_7d: Money,
    pub last_sale: Option<(Money, DateTime<Utc>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
}

/// Sales of one interval, for a price chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricePoint {
    pub at: DateTime<Utc>,
    pub min: Money,
    pub avg: Money,
    pub max: Money,
    pub volume: Money,
    pub sales: u64,
}

/// The smallest time-ordered id of `at` (ids are UUIDv7): a position in the event stream.
pub fn id_floor(at: DateTime<Utc>) -> uuid::Uuid {
    let ms = at.timestamp_millis().max(0) as u64;
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70;
    b[8] = 0x80;
    uuid::Uuid::from_bytes(b)
}

#[async_trait]
pub trait ActivityReads: Send + Sync {
    /// Public market events, newest first.
    async fn activity(&self, filter: &ActivityFilter, page: PageRequest) -> Result<Page<MarketEvent>, RepoError>;
    /// Events with an id above `after` in `scope`, oldest first.
    async fn events_after(
        &self,
        after: uuid::Uuid,
        scope: &StreamScope,
        limit: u32,
    ) -> Result<Vec<MarketEvent>, RepoError>;
    /// Ledger entries of `users` with an id above `after`, oldest first (what moved their
    /// balances).
    async fn ledger_after(
        &self,
        after: uuid::Uuid,
        users: &[UserId],
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, RepoError>;
    /// The collections of the NFTs registered here (in custody or withdrawn since), by name (in
    /// the store's order of text), the first `limit` after `after`.
    async fn collections(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, RepoError>;
    /// A collection's market at `now`; `None` when none of it was ever registered nor sold.
    async fn collection_stats(&self, name: &str, now: DateTime<Utc>) -> Result<Option<CollectionStats>, RepoError>;
    /// Sales per interval since `since`, oldest first (intervals without sales left out).
    async fn collection_history(
        &self,
        name: &str,
        interval: Interval,
        since: DateTime<Utc>,
    ) -> Result<Vec<PricePoint>, RepoError>;
}
