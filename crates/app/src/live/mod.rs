//! The live market's application services: the event stream's fan-out ([`Hub`]) and the
//! collection statistics kept for a moment ([`StatsCache`]).
//!
//! One hub per instance reads what committed — market events and ledger entries (a user's
//! balance moved) — from the store, and hands each to the subscribers it concerns. The store is
//! the source of truth, so every instance sees what any instance committed; a [`Wake`] (PostgreSQL
//! `LISTEN/NOTIFY`, or the embedded store's commit signal) makes it read at once, a timer reads
//! anyway. A subscriber has a small buffer; one that does not keep up is dropped, never waited
//! for. Connections are bounded per user and in total. The hub reads only while someone listens.
//!
//! Nothing here knows the runtime: time comes from the injected [`Clock`](domain::ports::Clock),
//! and the hub's reader is a future ([`Hub::run`]) whoever builds the hub spawns
//! ([`Hub::spawn_with`]). The streaming itself (server-sent events) is the HTTP adapter's.

mod hub;
mod stats;

#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{AuctionId, MarketEvent, NftId, UserId};
use uuid::Uuid;

use crate::ports::reads::{public_event_matches, StreamScope};

pub use hub::{Hub, Reader, Subscription};
pub use stats::StatsCache;

/// Bounds and pace of the stream.
#[derive(Clone, Copy, Debug)]
pub struct LiveSettings {
    /// Open streams per instance, and per user.
    pub max_connections: usize,
    pub max_per_user: usize,
    /// Events a subscriber may be behind before it is dropped.
    pub buffer: usize,
    /// Read at least this often (wake-ups make it sooner).
    pub poll: Duration,
    /// How far back a sweep reads again, for Units of Work that committed after a later one.
    pub overlap: chrono::Duration,
    /// How often a sweep runs; other reads take only what is newer than anything seen.
    pub sweep_every: Duration,
    /// Reads are at least this far apart: a busy market wakes the hub with every commit, and one
    /// read then takes all that came meanwhile.
    pub gap: Duration,
    /// Most events replayed for `Last-Event-ID`.
    pub replay_limit: u32,
    /// A comment this often keeps an idle stream open through proxies (the streaming layer's).
    pub keep_alive: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            max_connections: 1_000,
            max_per_user: 5,
            buffer: 256,
            poll: Duration::from_millis(500),
            overlap: chrono::Duration::seconds(2),
            sweep_every: Duration::from_secs(1),
            gap: Duration::from_millis(20),
            replay_limit: 1_000,
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// What one stream asked for (public events); a user's private ones reach all their streams.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamFilter {
    pub collection: Option<String>,
    pub nft_id: Option<NftId>,
    pub auction_id: Option<AuctionId>,
}

impl StreamFilter {
    /// What `user`'s stream with this filter reads from the store.
    pub fn scope(&self, user: UserId) -> StreamScope {
        StreamScope::Stream {
            user,
            collection: self.collection.clone(),
            nft_id: self.nft_id,
            auction_id: self.auction_id,
        }
    }

    fn admits(&self, e: &MarketEvent) -> bool {
        public_event_matches(self.collection.as_deref(), self.nft_id, self.auction_id, e)
    }
}

/// One item of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveEvent {
    Market(MarketEvent),
    /// The user's balance moved (a ledger entry of theirs committed): read `/api/me`.
    Balance {
        id: Uuid,
        user: UserId,
        operation: String,
        at: DateTime<Utc>,
    },
}

impl LiveEvent {
    pub fn id(&self) -> Uuid {
        match self {
            LiveEvent::Market(e) => e.id.0,
            LiveEvent::Balance { id, .. } => *id,
        }
    }

    /// Whether `user`'s stream with `filter` gets it.
    pub fn for_stream(&self, user: UserId, filter: &StreamFilter) -> bool {
        match self {
            LiveEvent::Market(e) => match e.recipient {
                Some(r) => r == user,
                None => filter.admits(e),
            },
            LiveEvent::Balance { user: u, .. } => *u == user,
        }
    }
}

/// Why a stream cannot open.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    TooManyForUser,
    TooMany,
}

/// What makes the hub read at once: the store's adapters (a local commit, another instance's
/// notice) signal it. Cheap to clone; every clone signals the same hub. Like a broadcast
/// doorbell, a signal wakes whoever waits at that moment and is not kept for later (the hub's
/// timer reads anyway).
#[derive(Clone, Default)]
pub struct Wake(Arc<event_listener::Event>);

impl Wake {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes everyone waiting now.
    pub fn wake(&self) {
        self.0.notify(usize::MAX);
    }

    /// Resolves at the next [`Wake::wake`] after this call.
    pub fn woken(&self) -> impl std::future::Future<Output = ()> + Send + Unpin + 'static {
        self.0.listen()
    }
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wake")
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::testing::*;
    use super::*;

    fn filter(collection: &str) -> StreamFilter {
        StreamFilter { collection: Some(collection.into()), ..Default::default() }
    }

    fn balance(of: i64) -> LiveEvent {
        LiveEvent::Balance { id: Uuid::from_u128(5), user: UserId(of), operation: "deposit".into(), at: start() }
    }

    #[test]
    fn a_filter_reads_its_user_s_stream_with_its_criteria() {
        let f = StreamFilter {
            collection: Some("pepe".into()),
            nft_id: Some(NftId(Uuid::from_u128(1))),
            auction_id: Some(AuctionId(Uuid::from_u128(2))),
        };
        assert_eq!(
            f.scope(UserId(3)),
            StreamScope::Stream {
                user: UserId(3),
                collection: Some("pepe".into()),
                nft_id: Some(NftId(Uuid::from_u128(1))),
                auction_id: Some(AuctionId(Uuid::from_u128(2))),
            }
        );
    }

    #[test]
    fn a_live_event_has_the_id_of_its_row() {
        assert_eq!(LiveEvent::Market(listed(Uuid::from_u128(4), "c")).id(), Uuid::from_u128(4));
        assert_eq!(balance(1).id(), Uuid::from_u128(5));
    }

    #[test]
    fn a_public_event_reaches_the_streams_whose_filter_admits_it() {
        let e = LiveEvent::Market(listed(Uuid::from_u128(1), "pepe"));
        assert!(e.for_stream(UserId(1), &filter("pepe")));
        assert!(e.for_stream(UserId(2), &StreamFilter::default()));
        assert!(!e.for_stream(UserId(1), &filter("frog")));
    }

    #[test]
    fn a_private_event_or_a_balance_reaches_only_its_user_whatever_the_filter() {
        let offer = LiveEvent::Market(offer_to(Uuid::from_u128(1), UserId(1)));
        assert!(offer.for_stream(UserId(1), &filter("frog")));
        assert!(!offer.for_stream(UserId(2), &StreamFilter::default()));
        assert!(balance(1).for_stream(UserId(1), &filter("frog")));
        assert!(!balance(1).for_stream(UserId(2), &StreamFilter::default()));
    }

    #[test]
    fn a_wake_wakes_who_waits_then_and_every_clone_rings_the_same_bell() {
        let wake = Wake::new();
        let mut waiting = wake.woken();
        assert!((&mut waiting).now_or_never().is_none(), "not before a wake");
        wake.clone().wake();
        assert!(waiting.now_or_never().is_some());
        let (a, b) = (wake.woken(), wake.woken());
        wake.wake();
        assert!(a.now_or_never().is_some() && b.now_or_never().is_some(), "everyone waiting");
        assert_eq!(format!("{wake:?}"), "Wake");
    }
}
