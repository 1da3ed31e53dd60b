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

/// A collection at a glance, the figures a list of collections shows (the console's market
/// page): its statistics without those that count the whole collection or a week of sales.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionGlance {
    pub name: String,
    pub listed: u64,
    pub floor: Option<Money>,
    pub sales_24h: u64,
    pub volume_24h: Money,
    pub last_sale: Option<(Money, DateTime<Utc>)>,
}

impl From<CollectionStats> for CollectionGlance {
    fn from(s: CollectionStats) -> Self {
        let CollectionStats { name, listed, floor, sales_24h, volume_24h, last_sale, .. } = s;
        Self { name, listed, floor, sales_24h, volume_24h, last_sale }
    }
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
    /// The collections `names` at a glance at `now`, in that order, those never registered nor
    /// sold left out: what [`collection_stats`](Self::collection_stats) says of them, less
    /// owners and the week. A store that counts them faster than whole statistics says so here.
    async fn collection_glances(
        &self,
        names: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<CollectionGlance>, RepoError> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(stats) = self.collection_stats(name, now).await? {
                out.push(stats.into());
            }
        }
        Ok(out)
    }
    /// Sales per interval since `since`, oldest first (intervals without sales left out).
    async fn collection_history(
        &self,
        name: &str,
        interval: Interval,
        since: DateTime<Utc>,
    ) -> Result<Vec<PricePoint>, RepoError>;
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn nft(n: u128) -> NftId {
        NftId(uuid::Uuid::from_u128(n))
    }

    fn auction(n: u128) -> AuctionId {
        AuctionId(uuid::Uuid::from_u128(n))
    }

    /// A public event of collection `c`, NFT 1 and auction 2.
    fn public(c: &str) -> MarketEvent {
        MarketEvent {
            id: MarketEventId(uuid::Uuid::from_u128(9)),
            kind: EventKind::Listed,
            collection: Some(c.into()),
            nft_id: Some(nft(1)),
            auction_id: Some(auction(2)),
            price: None,
            recipient: None,
            created_at: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        }
    }

    fn private(to: i64) -> MarketEvent {
        MarketEvent { recipient: Some(UserId(to)), collection: Some("elsewhere".into()), ..public("pepe") }
    }

    fn stream(user: i64, collection: Option<&str>) -> StreamScope {
        StreamScope::Stream {
            user: UserId(user),
            collection: collection.map(String::from),
            nft_id: None,
            auction_id: None,
        }
    }

    #[test]
    fn no_filter_matches_every_public_event() {
        assert!(public_event_matches(None, None, None, &public("pepe")));
        assert!(public_event_matches(None, None, None, &MarketEvent { collection: None, ..public("pepe") }));
    }

    #[test]
    fn each_filter_must_match_on_its_own() {
        let e = public("pepe");
        assert!(public_event_matches(Some("pepe"), Some(nft(1)), Some(auction(2)), &e));
        assert!(!public_event_matches(Some("frog"), None, None, &e));
        assert!(!public_event_matches(Some("frog"), Some(nft(1)), Some(auction(2)), &e), "the collection");
        assert!(!public_event_matches(Some("pepe"), Some(nft(3)), Some(auction(2)), &e), "the NFT");
        assert!(!public_event_matches(Some("pepe"), Some(nft(1)), Some(auction(3)), &e), "the auction");
        assert!(public_event_matches(None, Some(nft(1)), None, &e));
        assert!(public_event_matches(None, None, Some(auction(2)), &e));
        let bare = MarketEvent { collection: None, nft_id: None, auction_id: None, ..e };
        assert!(!public_event_matches(Some("pepe"), None, None, &bare), "an event without one does not match it");
        assert!(!public_event_matches(None, Some(nft(1)), None, &bare));
        assert!(!public_event_matches(None, None, Some(auction(2)), &bare));
    }

    #[test]
    fn the_whole_scope_admits_everything() {
        assert!(StreamScope::All.admits(&public("pepe")));
        assert!(StreamScope::All.admits(&private(1)));
    }

    #[test]
    fn a_stream_admits_its_user_s_private_events_whatever_its_filters_and_no_one_else_s() {
        assert!(stream(1, Some("pepe")).admits(&private(1)));
        assert!(!stream(2, None).admits(&private(1)));
    }

    #[test]
    fn a_stream_admits_the_public_events_its_filters_match() {
        assert!(stream(1, Some("pepe")).admits(&public("pepe")));
        assert!(!stream(1, Some("frog")).admits(&public("pepe")));
        assert!(stream(1, None).admits(&public("pepe")));
    }

    #[test]
    fn the_id_floor_of_a_time_is_the_smallest_uuid_v7_of_its_millisecond() {
        let at = Utc.timestamp_millis_opt(1_764_000_000_123).unwrap();
        let floor = id_floor(at);
        assert_eq!(floor.get_version_num(), 7);
        assert_eq!(&floor.as_bytes()[..6], &1_764_000_000_123u64.to_be_bytes()[2..]);
        assert_eq!(floor.as_u128() & !(0xffff_ffff_ffff_u128 << 80), 0x7000_8000_0000_0000_0000, "nothing else set");
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, 1_764_000_000, 123_000_000);
        let made_then = uuid::Uuid::new_v7(ts);
        assert!(floor <= made_then && made_then < id_floor(at + chrono::Duration::milliseconds(1)));
        let before_1970 = Utc.with_ymd_and_hms(1960, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(id_floor(before_1970), id_floor(DateTime::<Utc>::UNIX_EPOCH), "clamped to the epoch");
    }
}
