//! The live event stream's fan-out: one hub per instance reads what committed — market events
//! and ledger entries (a user's balance moved) — from the store, and hands each to the
//! subscribers it concerns. The store is the source of truth, so every instance sees what any
//! instance committed; a wake-up (PostgreSQL `LISTEN/NOTIFY`, or the embedded store's commit
//! signal) makes it read at once, a timer reads anyway.
//!
//! A subscriber has a small buffer; one that does not keep up is dropped, never waited for.
//! Connections are bounded per user and in total. The hub reads only while someone listens.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use app::ports::reads::{id_floor, ReadModel, StreamScope};
use chrono::{DateTime, Utc};
use domain::{AuctionId, MarketEvent, NftId, UserId};
use tokio::sync::{mpsc, Notify};
use uuid::Uuid;

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
    /// A comment this often keeps an idle stream open through proxies.
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
        app::ports::reads::public_event_matches(self.collection.as_deref(), self.nft_id, self.auction_id, e)
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

struct Subscriber {
    user: UserId,
    filter: StreamFilter,
    tx: mpsc::Sender<LiveEvent>,
}

/// Why a stream cannot open.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    TooManyForUser,
    TooMany,
}

pub struct Hub {
    reads: Arc<dyn ReadModel>,
    wake: Arc<Notify>,
    settings: LiveSettings,
    subscribers: Mutex<HashMap<u64, Subscriber>>,
    per_user: Mutex<HashMap<UserId, usize>>,
    open: AtomicUsize,
    next_id: AtomicU64,
    started: OnceLock<()>,
    /// Run once, when the first stream opens (say, start listening for other instances).
    on_start: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

/// Keeps a stream's place; dropping it (the client went away) frees it.
pub struct Subscription {
    hub: Arc<Hub>,
    id: u64,
    user: UserId,
    pub events: mpsc::Receiver<LiveEvent>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.subscribers.lock().expect("poisoned").remove(&self.id);
        let mut per_user = self.hub.per_user.lock().expect("poisoned");
        if let Some(n) = per_user.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                per_user.remove(&self.user);
            }
        }
        let open = self.hub.open.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("sse_clients").set(open as f64);
    }
}

impl Hub {
    pub fn new(reads: Arc<dyn ReadModel>, wake: Arc<Notify>, settings: LiveSettings) -> Self {
        Self {
            reads,
            wake,
            settings,
            subscribers: Mutex::default(),
            per_user: Mutex::default(),
            open: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            started: OnceLock::new(),
            on_start: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &LiveSettings {
        &self.settings
    }

    /// Something to run when the first stream opens.
    pub fn on_start(self, start: impl FnOnce() + Send + 'static) -> Self {
        *self.on_start.lock().expect("poisoned") = Some(Box::new(start));
        self
    }

    /// Opens a stream for `user`, within the bounds; starts the hub's reader on first use.
    pub fn subscribe(self: &Arc<Self>, user: UserId, filter: StreamFilter) -> Result<Subscription, Refused> {
        {
            let mut per_user = self.per_user.lock().expect("poisoned");
            let mine = per_user.entry(user).or_default();
            if *mine >= self.settings.max_per_user {
                return Err(Refused::TooManyForUser);
            }
            if self.open.fetch_add(1, Ordering::SeqCst) >= self.settings.max_connections {
                self.open.fetch_sub(1, Ordering::SeqCst);
                return Err(Refused::TooMany);
            }
            *mine += 1;
        }
        let (tx, rx) = mpsc::channel(self.settings.buffer);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.subscribers.lock().expect("poisoned").insert(id, Subscriber { user, filter, tx });
        metrics::gauge!("sse_clients").set(self.open.load(Ordering::SeqCst) as f64);
        if self.started.set(()).is_ok() {
            if let Some(start) = self.on_start.lock().expect("poisoned").take() {
                start();
            }
            let hub = self.clone();
            tokio::spawn(async move { hub.run().await });
        }
        Ok(Subscription { hub: self.clone(), id, user, events: rx })
    }

    /// What `user`'s stream with `filter` missed after `last` (its `Last-Event-ID`), oldest first.
    pub async fn replay(
        &self,
        user: UserId,
        filter: &StreamFilter,
        last: Uuid,
    ) -> Result<Vec<LiveEvent>, domain::RepoError> {
        let limit = self.settings.replay_limit;
        // The store filters: the first `limit` of this stream's own, however many others came.
        let mut out: Vec<LiveEvent> = self
            .reads
            .events_after(last, &filter.scope(user), limit)
            .await?
            .into_iter()
            .map(LiveEvent::Market)
            .collect();
        out.extend(balance_events(self.reads.ledger_after(last, &[user], limit).await?));
        out.sort_by_key(LiveEvent::id);
        out.truncate(limit as usize);
        Ok(out)
    }

    /// Hands `event` to every stream it concerns; drops the streams that cannot take it.
    pub fn fan_out(&self, event: &LiveEvent) {
        let mut gone = Vec::new();
        {
            let subs = self.subscribers.lock().expect("poisoned");
            for (id, s) in subs.iter() {
                if !event.for_stream(s.user, &s.filter) {
                    continue;
                }
                match s.tx.try_send(event.clone()) {
                    Ok(()) => metrics::counter!("sse_events_fanned_out_total").increment(1),
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        metrics::counter!("sse_dropped_slow_clients_total").increment(1);
                        tracing::info!(user = %s.user, "a stream fell behind: dropped");
                        gone.push(*id);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => gone.push(*id),
                }
            }
        }
        if !gone.is_empty() {
            // The sender goes; the client's stream ends, and its Subscription frees its place.
            let mut subs = self.subscribers.lock().expect("poisoned");
            for id in gone {
                subs.remove(&id);
            }
        }
    }

    fn listening(&self) -> bool {
        !self.subscribers.lock().expect("poisoned").is_empty()
    }

    /// Reads what committed since the last read (and, once every `sweep_every`, the last
    /// `overlap` again, without handing anything out twice) and fans it out, for as long as the
    /// process runs.
    async fn run(self: Arc<Self>) {
        let floor = || id_floor(Utc::now() - self.settings.overlap);
        // The highest id read from each table: most reads take only what is above it.
        let (mut events_high, mut ledger_high) = (floor(), floor());
        let mut swept = std::time::Instant::now();
        let mut seen: VecDeque<(DateTime<Utc>, Uuid)> = VecDeque::new();
        let mut seen_ids: HashSet<Uuid> = HashSet::new();
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.poll) => {}
            }
            if !self.listening() {
                (events_high, ledger_high) = (floor(), floor());
                continue;
            }
            tokio::time::sleep(self.settings.gap).await;
            let read_at = Utc::now();
            // Units of Work commit out of id order: now and then a sweep reads the last
            // `overlap` again, for one that committed after a later id was read.
            let sweep = swept.elapsed() >= self.settings.sweep_every;
            let (events_from, ledger_from) = match sweep {
                true => (events_high.min(floor()), ledger_high.min(floor())),
                false => (events_high, ledger_high),
            };
            let users: Vec<UserId> = self.per_user.lock().expect("poisoned").keys().copied().collect();
            let events = self.read_pages(events_from, |after| {
                let reads = self.reads.clone();
                async move { reads.events_after(after, &StreamScope::All, READ_PAGE).await }
            });
            let ledger = self.read_pages(ledger_from, |after| {
                let (reads, users) = (self.reads.clone(), users.clone());
                async move { reads.ledger_after(after, &users, READ_PAGE).await }
            });
            let (events, ledger) = match tokio::join!(events, ledger) {
                (Ok(e), Ok(l)) => (e, l),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "live stream: cannot read what committed");
                    continue;
                }
            };
            if sweep {
                swept = std::time::Instant::now();
            }
            events_high = events.iter().map(|e| e.id.0).fold(events_high, std::cmp::max);
            ledger_high = ledger.iter().map(|e| e.id.0).fold(ledger_high, std::cmp::max);
            let mut fresh: Vec<LiveEvent> = events.into_iter().map(LiveEvent::Market).collect();
            fresh.extend(balance_events(ledger));
            fresh.sort_by_key(LiveEvent::id);
            for e in fresh {
                if seen_ids.insert(e.id()) {
                    seen.push_back((read_at, e.id()));
                    self.fan_out(&e);
                }
            }
            let horizon = read_at - self.settings.overlap * 2;
            while seen.front().is_some_and(|(at, _)| *at < horizon) {
                let (_, id) = seen.pop_front().expect("checked");
                seen_ids.remove(&id);
            }
        }
    }

    /// Reads page after page from `from` until a page is not full (at most `READ_PAGES`).
    async fn read_pages<T: HasId, F, Fut>(&self, from: Uuid, read: F) -> Result<Vec<T>, domain::RepoError>
    where
        F: Fn(Uuid) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, domain::RepoError>>,
    {
        let mut out = Vec::new();
        let mut after = from;
        for _ in 0..READ_PAGES {
            let page = read(after).await?;
            let full = page.len() == READ_PAGE as usize;
            if let Some(last) = page.last() {
                after = last.row_id();
            }
            out.extend(page);
            if !full {
                break;
            }
        }
        Ok(out)
    }
}

/// Rows per read of the hub, and pages per pass (more waits for the next pass).
const READ_PAGE: u32 = 2_000;
const READ_PAGES: usize = 10;

/// A row the hub reads, by its (time-ordered) id.
trait HasId {
    fn row_id(&self) -> Uuid;
}

impl HasId for MarketEvent {
    fn row_id(&self) -> Uuid {
        self.id.0
    }
}

impl HasId for domain::LedgerEntry {
    fn row_id(&self) -> Uuid {
        self.id.0
    }
}

/// One `balance` event per user and ledger operation (an operation writes several entries).
fn balance_events(entries: Vec<domain::LedgerEntry>) -> Vec<LiveEvent> {
    let mut done: HashSet<(Uuid, UserId)> = HashSet::new();
    entries
        .into_iter()
        .filter_map(|e| {
            let user = e.user_id?;
            done.insert((e.operation_id.0, user)).then(|| LiveEvent::Balance {
                id: e.id.0,
                user,
                operation: e.operation.as_str().to_string(),
                at: e.created_at,
            })
        })
        .collect()
}

/// Collection statistics, kept for a moment per instance: a busy market page asks for them far
/// more often than they change.
pub struct StatsCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (std::time::Instant, Option<app::ports::reads::CollectionStats>)>>,
}

impl StatsCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::default() }
    }

    pub async fn get(
        &self,
        reads: &dyn ReadModel,
        name: &str,
    ) -> Result<Option<app::ports::reads::CollectionStats>, domain::RepoError> {
        if let Some((at, stats)) = self.entries.lock().expect("poisoned").get(name) {
            if at.elapsed() < self.ttl {
                return Ok(stats.clone());
            }
        }
        let stats = reads.collection_stats(name, Utc::now()).await?;
        if !self.ttl.is_zero() {
            let mut entries = self.entries.lock().expect("poisoned");
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(name.to_string(), (std::time::Instant::now(), stats.clone()));
        }
        Ok(stats)
    }
}
