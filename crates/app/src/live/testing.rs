//! Test fakes for the live market: a read side holding rows in memory, a clock that moves only
//! when told (or when slept on), and a metrics recorder that keeps what it is given.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use domain::ports::Clock;
use domain::*;
use uuid::Uuid;

use crate::ports::reads::*;

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// Time that moves only when told. A sleep of [`ManualClock::FOREVER`] or more never ends (a
/// timer that never fires); a shorter one only lets the other tasks run.
pub struct ManualClock {
    pub(super) now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub const FOREVER: Duration = Duration::from_secs(3_600);

    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self { now: Mutex::new(start) })
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += chrono::Duration::from_std(by).unwrap();
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }

    async fn sleep(&self, duration: Duration) {
        if duration >= Self::FOREVER {
            std::future::pending::<()>().await;
        }
        YieldOnce(false).await;
    }
}

/// Pending once (waking itself), then ready: lets the other tasks run.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The activity reads, on rows kept in memory; counts the statistics read.
#[derive(Default)]
pub struct FakeReads {
    pub events: Mutex<Vec<MarketEvent>>,
    pub ledger: Mutex<Vec<LedgerEntry>>,
    /// Each read of a collection's statistics gets this many sales in 24 h, then one more.
    pub stats_reads: AtomicUsize,
    /// The `now` of the last statistics read.
    pub stats_at: Mutex<Option<DateTime<Utc>>>,
}

#[async_trait]
impl ActivityReads for FakeReads {
    async fn activity(&self, _: &ActivityFilter, _: PageRequest) -> Result<Page<MarketEvent>, RepoError> {
        unimplemented!("the live market does not read the feed")
    }

    async fn events_after(&self, after: Uuid, scope: &StreamScope, limit: u32) -> Result<Vec<MarketEvent>, RepoError> {
        let mut out: Vec<MarketEvent> =
            self.events.lock().unwrap().iter().filter(|e| e.id.0 > after && scope.admits(e)).cloned().collect();
        out.sort_by_key(|e| e.id.0);
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn ledger_after(&self, after: Uuid, users: &[UserId], limit: u32) -> Result<Vec<LedgerEntry>, RepoError> {
        let mut out: Vec<LedgerEntry> = self
            .ledger
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.id.0 > after && e.user_id.is_some_and(|u| users.contains(&u)))
            .cloned()
            .collect();
        out.sort_by_key(|e| e.id.0);
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn collections(&self, _: Option<&str>, _: u32) -> Result<Vec<String>, RepoError> {
        unimplemented!("the live market does not list collections")
    }

    async fn collection_stats(&self, name: &str, now: DateTime<Utc>) -> Result<Option<CollectionStats>, RepoError> {
        let n = self.stats_reads.fetch_add(1, Ordering::SeqCst) as u64 + 1;
        *self.stats_at.lock().unwrap() = Some(now);
        Ok((name != "none").then(|| CollectionStats {
            name: name.to_string(),
            listed: 0,
            floor: None,
            owners: 0,
            sales_24h: n,
            volume_24h: Money::ZERO,
            sales_7d: n,
            volume_7d: Money::ZERO,
            last_sale: None,
        }))
    }

    async fn collection_history(&self, _: &str, _: Interval, _: DateTime<Utc>) -> Result<Vec<PricePoint>, RepoError> {
        unimplemented!("the live market does not read charts")
    }
}

/// An id of `at` (UUIDv7-like), the `n`-th of that millisecond.
pub fn id_at(at: DateTime<Utc>, n: u128) -> Uuid {
    Uuid::from_u128(id_floor(at).as_u128() + n)
}

/// A public `listed` event of collection `c`.
pub fn listed(id: Uuid, c: &str) -> MarketEvent {
    MarketEvent {
        id: MarketEventId(id),
        kind: EventKind::Listed,
        collection: Some(c.into()),
        nft_id: None,
        auction_id: None,
        price: None,
        recipient: None,
        created_at: start(),
    }
}

/// A private `offer_received` event for `to`.
pub fn offer_to(id: Uuid, to: UserId) -> MarketEvent {
    MarketEvent { kind: EventKind::OfferReceived, recipient: Some(to), ..listed(id, "c") }
}

/// A ledger entry of `user` in operation `op`.
pub fn entry(id: Uuid, op: Uuid, user: UserId) -> LedgerEntry {
    LedgerEntry {
        id: LedgerEntryId(id),
        operation_id: OperationId(op),
        operation: Operation::Deposit,
        user_id: Some(user),
        account: Account::Available,
        amount: rust_decimal::Decimal::ONE,
        reference: "r".into(),
        created_at: start(),
    }
}

/// A metrics recorder keeping counters and gauges by name.
#[derive(Default)]
pub struct Recorded {
    values: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl Recorded {
    fn value(&self, name: &str) -> Arc<AtomicU64> {
        self.values.lock().unwrap().entry(name.to_string()).or_default().clone()
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.value(name).load(Ordering::SeqCst)
    }

    pub fn gauge(&self, name: &str) -> f64 {
        f64::from_bits(self.value(name).load(Ordering::SeqCst))
    }
}

impl metrics::Recorder for Recorded {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(self.value(key.name()))
    }

    fn register_gauge(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::from_arc(self.value(key.name()))
    }

    fn register_histogram(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}
