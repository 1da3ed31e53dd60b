//! The fan-out: subscribers, their bounds and buffers, and the reader that feeds them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::Clock;
use domain::{LedgerEntry, MarketEvent, RepoError, UserId};
use futures_channel::mpsc;
use futures_util::future;
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::{LiveEvent, LiveSettings, Refused, StreamFilter, Wake};
use crate::ports::reads::{id_floor, ActivityReads, StreamScope};

/// The hub's reader, for the runtime to run in the background (see [`Hub::spawn_with`]).
pub type Reader = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs the [`Reader`] in the background.
type Spawn = Box<dyn FnOnce(Reader) + Send>;

/// Hands what committed to the streams it concerns.
pub struct Hub {
    reads: Arc<dyn Committed>,
    clock: Arc<dyn Clock>,
    wake: Wake,
    settings: LiveSettings,
    subscribers: Mutex<HashMap<u64, Subscriber>>,
    per_user: Mutex<HashMap<UserId, usize>>,
    open: AtomicUsize,
    next_id: AtomicU64,
    started: OnceLock<()>,
    /// Run once, when the first stream opens (say, start listening for other instances).
    on_start: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// Runs the reader in the background, once, when the first stream opens.
    spawn: Mutex<Option<Spawn>>,
}

struct Subscriber {
    user: UserId,
    filter: StreamFilter,
    tx: mpsc::Sender<LiveEvent>,
}

/// Keeps a stream's place and yields its events; dropping it (the client went away) frees the
/// place. The events end when the hub dropped the stream (it fell behind).
pub struct Subscription {
    hub: Arc<Hub>,
    id: u64,
    user: UserId,
    events: mpsc::Receiver<LiveEvent>,
}

impl Subscription {
    /// The next event; `None` once the hub dropped this stream.
    pub async fn recv(&mut self) -> Option<LiveEvent> {
        self.events.next().await
    }
}

impl Stream for Subscription {
    type Item = LiveEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<LiveEvent>> {
        self.events.poll_next_unpin(cx)
    }
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
    /// A hub reading `reads`, on `clock`'s time, woken by `wake`.
    pub fn new<R>(reads: Arc<R>, clock: Arc<dyn Clock>, wake: Wake, settings: LiveSettings) -> Self
    where
        R: ActivityReads + ?Sized + 'static,
    {
        Self {
            reads: Arc::new(Reads(reads)),
            clock,
            wake,
            settings,
            subscribers: Mutex::default(),
            per_user: Mutex::default(),
            open: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            started: OnceLock::new(),
            on_start: Mutex::new(None),
            spawn: Mutex::new(None),
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

    /// How to run the reader ([`Hub::run`]) in the background when the first stream opens (say,
    /// `tokio::spawn`). Without it, nothing reads unless the caller runs [`Hub::run`] itself.
    pub fn spawn_with(self, spawn: impl FnOnce(Reader) + Send + 'static) -> Self {
        *self.spawn.lock().expect("poisoned") = Some(Box::new(spawn));
        self
    }

    /// Opens a stream for `user`, within the bounds; starts the hub's reader on first use.
    pub fn subscribe(self: &Arc<Self>, user: UserId, filter: StreamFilter) -> Result<Subscription, Refused> {
        {
            let mut per_user = self.per_user.lock().expect("poisoned");
            let mine = per_user.entry(user).or_default();
            if *mine >= self.settings.max_per_user {
                if *mine == 0 {
                    per_user.remove(&user);
                }
                return Err(Refused::TooManyForUser);
            }
            if self.open.fetch_add(1, Ordering::SeqCst) >= self.settings.max_connections {
                self.open.fetch_sub(1, Ordering::SeqCst);
                if *mine == 0 {
                    per_user.remove(&user);
                }
                return Err(Refused::TooMany);
            }
            *mine += 1;
        }
        // A sender's own slot counts (futures' channels hold `buffer + senders`): one sender,
        // so `buffer` events in all.
        let (tx, rx) = mpsc::channel(self.settings.buffer.max(1) - 1);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.subscribers.lock().expect("poisoned").insert(id, Subscriber { user, filter, tx });
        metrics::gauge!("sse_clients").set(self.open.load(Ordering::SeqCst) as f64);
        if self.started.set(()).is_ok() {
            if let Some(start) = self.on_start.lock().expect("poisoned").take() {
                start();
            }
            if let Some(spawn) = self.spawn.lock().expect("poisoned").take() {
                spawn(Box::pin(self.clone().run()));
            }
        }
        Ok(Subscription { hub: self.clone(), id, user, events: rx })
    }

    /// What `user`'s stream with `filter` missed after `last` (its `Last-Event-ID`), oldest first.
    pub async fn replay(&self, user: UserId, filter: &StreamFilter, last: Uuid) -> Result<Vec<LiveEvent>, RepoError> {
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
            let mut subs = self.subscribers.lock().expect("poisoned");
            for (id, s) in subs.iter_mut() {
                if !event.for_stream(s.user, &s.filter) {
                    continue;
                }
                match s.tx.try_send(event.clone()) {
                    Ok(()) => metrics::counter!("sse_events_fanned_out_total").increment(1),
                    Err(e) if e.is_full() => {
                        metrics::counter!("sse_dropped_slow_clients_total").increment(1);
                        tracing::info!(user = %s.user, "a stream fell behind: dropped");
                        gone.push(*id);
                    }
                    Err(_) => gone.push(*id),
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

    /// The reader: reads what committed since the last read (and, once every `sweep_every`, the
    /// last `overlap` again, without handing anything out twice) and fans it out, for as long as
    /// it is polled. It reads when woken or every `poll`, at most every `gap`, and only while
    /// someone listens. [`Hub::spawn_with`] runs it when the first stream opens.
    pub async fn run(self: Arc<Self>) {
        let floor = || id_floor(self.clock.now() - self.settings.overlap);
        // The highest id read from each table: most reads take only what is above it.
        let (mut events_high, mut ledger_high) = (floor(), floor());
        let mut swept = self.clock.now();
        let mut seen: VecDeque<(DateTime<Utc>, Uuid)> = VecDeque::new();
        let mut seen_ids: HashSet<Uuid> = HashSet::new();
        loop {
            {
                let (woken, timer) = (self.wake.woken(), self.clock.sleep(self.settings.poll));
                let _ = future::select(woken, timer).await;
            }
            if !self.listening() {
                (events_high, ledger_high) = (floor(), floor());
                continue;
            }
            self.clock.sleep(self.settings.gap).await;
            let read_at = self.clock.now();
            // Units of Work commit out of id order: now and then a sweep reads the last
            // `overlap` again, for one that committed after a later id was read.
            let sweep = (read_at - swept).to_std().is_ok_and(|since| since >= self.settings.sweep_every);
            let (events_from, ledger_from) = match sweep {
                true => (events_high.min(floor()), ledger_high.min(floor())),
                false => (events_high, ledger_high),
            };
            let users: Vec<UserId> = self.per_user.lock().expect("poisoned").keys().copied().collect();
            let events = pin!(read_pages(events_from, |after| {
                let reads = self.reads.clone();
                async move { reads.events_after(after, &StreamScope::All, READ_PAGE).await }
            }));
            let ledger = pin!(read_pages(ledger_from, |after| {
                let (reads, users) = (self.reads.clone(), users.clone());
                async move { reads.ledger_after(after, &users, READ_PAGE).await }
            }));
            let (events, ledger) = match future::join(events, ledger).await {
                (Ok(e), Ok(l)) => (e, l),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "live stream: cannot read what committed");
                    continue;
                }
            };
            if sweep {
                swept = self.clock.now();
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
}

/// Reads page after page from `from` until a page is not full (at most `READ_PAGES`).
async fn read_pages<T: HasId, F, Fut>(from: Uuid, read: F) -> Result<Vec<T>, RepoError>
where
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = Result<Vec<T>, RepoError>>,
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

/// Rows per read of the hub, and pages per pass (more waits for the next pass).
const READ_PAGE: u32 = 2_000;
const READ_PAGES: usize = 10;

/// What the hub reads, whichever read side it was built on.
#[async_trait]
trait Committed: Send + Sync {
    async fn events_after(&self, after: Uuid, scope: &StreamScope, limit: u32) -> Result<Vec<MarketEvent>, RepoError>;
    async fn ledger_after(&self, after: Uuid, users: &[UserId], limit: u32) -> Result<Vec<LedgerEntry>, RepoError>;
}

/// Any read side (a whole `dyn ReadModel` as well) as what the hub reads.
struct Reads<R: ?Sized>(Arc<R>);

#[async_trait]
impl<R: ActivityReads + ?Sized + 'static> Committed for Reads<R> {
    async fn events_after(&self, after: Uuid, scope: &StreamScope, limit: u32) -> Result<Vec<MarketEvent>, RepoError> {
        self.0.events_after(after, scope, limit).await
    }

    async fn ledger_after(&self, after: Uuid, users: &[UserId], limit: u32) -> Result<Vec<LedgerEntry>, RepoError> {
        self.0.ledger_after(after, users, limit).await
    }
}

/// A row the hub reads, by its (time-ordered) id.
trait HasId {
    fn row_id(&self) -> Uuid;
}

impl HasId for MarketEvent {
    fn row_id(&self) -> Uuid {
        self.id.0
    }
}

impl HasId for LedgerEntry {
    fn row_id(&self) -> Uuid {
        self.id.0
    }
}

/// One `balance` event per user and ledger operation (an operation writes several entries).
fn balance_events(entries: Vec<LedgerEntry>) -> Vec<LiveEvent> {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use domain::UserId;
    use futures_util::{FutureExt, StreamExt};

    use super::super::testing::*;
    use super::*;

    fn hub(reads: &Arc<FakeReads>, clock: &Arc<ManualClock>, wake: &Wake, settings: LiveSettings) -> Arc<Hub> {
        let clock: Arc<dyn Clock> = clock.clone();
        Arc::new(Hub::new(reads.clone(), clock, wake.clone(), settings).spawn_with(|reader| drop(tokio::spawn(reader))))
    }

    /// A hub whose reader never runs (events are handed out by `fan_out`).
    fn idle_hub(settings: LiveSettings) -> Arc<Hub> {
        let clock: Arc<dyn Clock> = ManualClock::new(start());
        Arc::new(Hub::new(Arc::new(FakeReads::default()), clock, Wake::new(), settings))
    }

    /// What `sub` holds now: `Some(None)` once its stream ended, `None` while nothing is there.
    fn ready(sub: &mut Subscription) -> Option<Option<LiveEvent>> {
        sub.recv().now_or_never()
    }

    async fn next(sub: &mut Subscription) -> LiveEvent {
        tokio::time::timeout(Duration::from_secs(2), sub.recv())
            .await
            .expect("an event within 2 s")
            .expect("the stream is open")
    }

    fn market(id: Uuid) -> LiveEvent {
        LiveEvent::Market(listed(id, "c"))
    }

    #[tokio::test]
    async fn a_subscriber_receives_what_the_reader_reads_and_only_what_it_asked_for() {
        let (reads, clock, wake) = (Arc::new(FakeReads::default()), ManualClock::new(start()), Wake::new());
        let hub = hub(&reads, &clock, &wake, LiveSettings::default());
        let mut all = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let mut other =
            hub.subscribe(UserId(2), StreamFilter { collection: Some("other".into()), ..Default::default() }).unwrap();

        let first = listed(id_at(clock.now(), 1), "c");
        reads.events.lock().unwrap().push(first.clone());
        assert_eq!(next(&mut all).await, LiveEvent::Market(first));

        let second = listed(id_at(clock.now(), 2), "other");
        reads.events.lock().unwrap().push(second.clone());
        assert_eq!(next(&mut all).await, LiveEvent::Market(second.clone()));
        assert_eq!(next(&mut other).await, LiveEvent::Market(second), "the first one was not for this filter");
    }

    #[tokio::test]
    async fn a_balance_event_reaches_only_its_user_once_per_operation() {
        let (reads, clock, wake) = (Arc::new(FakeReads::default()), ManualClock::new(start()), Wake::new());
        let hub = hub(&reads, &clock, &wake, LiveSettings::default());
        let mut mine = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let mut theirs = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();

        let op = Uuid::from_u128(7);
        let (a, b) = (id_at(clock.now(), 1), id_at(clock.now(), 2));
        reads.ledger.lock().unwrap().extend([entry(a, op, UserId(1)), entry(b, op, UserId(1))]);
        match next(&mut mine).await {
            LiveEvent::Balance { id, user, operation, .. } => {
                assert_eq!((id, user, operation.as_str()), (a, UserId(1), "deposit"));
            }
            other => panic!("a balance event, not {other:?}"),
        }
        let public = listed(id_at(clock.now(), 3), "c");
        reads.events.lock().unwrap().push(public.clone());
        assert_eq!(next(&mut mine).await, LiveEvent::Market(public.clone()), "one balance event per operation");
        assert_eq!(next(&mut theirs).await, LiveEvent::Market(public), "not someone else's balance");
    }

    #[test]
    fn a_private_event_reaches_only_its_user() {
        let hub = idle_hub(LiveSettings::default());
        let mut recipient = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let mut filtered = hub
            .subscribe(UserId(1), StreamFilter { collection: Some("elsewhere".into()), ..Default::default() })
            .unwrap();
        let mut other = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();

        let offer = LiveEvent::Market(offer_to(Uuid::from_u128(1), UserId(1)));
        hub.fan_out(&offer);
        assert_eq!(ready(&mut recipient), Some(Some(offer.clone())));
        assert_eq!(ready(&mut filtered), Some(Some(offer)), "private events reach all of the user's streams");
        assert_eq!(ready(&mut other), None, "nobody else's");
    }

    #[test]
    fn a_full_buffer_drops_the_subscriber_and_counts_it() {
        let recorded = Recorded::default();
        let _guard = metrics::set_default_local_recorder(&recorded);
        let settings = LiveSettings { buffer: 4, max_connections: 2, ..Default::default() };
        let hub = idle_hub(settings);
        let mut stalled = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let mut reading = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();
        assert_eq!(recorded.gauge("sse_clients"), 2.0);

        for i in 0..10 {
            hub.fan_out(&market(Uuid::from_u128(i)));
            assert_eq!(ready(&mut reading), Some(Some(market(Uuid::from_u128(i)))), "the reading one keeps up");
        }
        let mut got = Vec::new();
        while let Some(Some(e)) = ready(&mut stalled) {
            got.push(e.id().as_u128());
        }
        assert_eq!(got, [0, 1, 2, 3], "the stalled one got its buffer");
        assert_eq!(ready(&mut stalled), Some(None), "then its stream ended");
        assert_eq!(recorded.counter("sse_dropped_slow_clients_total"), 1);
        assert_eq!(recorded.counter("sse_events_fanned_out_total"), 10 + 4);

        assert_eq!(hub.subscribe(UserId(3), StreamFilter::default()).err(), Some(Refused::TooMany));
        drop(stalled);
        assert_eq!(recorded.gauge("sse_clients"), 1.0);
        assert!(hub.subscribe(UserId(3), StreamFilter::default()).is_ok(), "its place is free again");
    }

    #[test]
    fn the_per_user_and_per_instance_bounds_refuse() {
        let hub = idle_hub(LiveSettings { max_connections: 3, max_per_user: 2, ..Default::default() });
        let a = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let _b = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        assert_eq!(hub.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooManyForUser));
        let _c = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();
        assert_eq!(hub.subscribe(UserId(3), StreamFilter::default()).err(), Some(Refused::TooMany));
        assert_eq!(hub.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooManyForUser));
        drop(a);
        let _d = hub.subscribe(UserId(3), StreamFilter::default()).expect("a place freed on the instance");
        assert_eq!(hub.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooMany));
    }

    #[tokio::test]
    async fn without_a_timer_only_a_wake_makes_the_reader_read() {
        let (reads, clock, wake) = (Arc::new(FakeReads::default()), ManualClock::new(start()), Wake::new());
        let settings = LiveSettings { poll: ManualClock::FOREVER, gap: Duration::ZERO, ..Default::default() };
        let hub = hub(&reads, &clock, &wake, settings);
        let mut sub = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let event = listed(id_at(clock.now(), 1), "c");
        reads.events.lock().unwrap().push(event.clone());
        assert!(tokio::time::timeout(Duration::from_millis(200), sub.recv()).await.is_err(), "not read unwoken");
        let mut got = None;
        for _ in 0..100 {
            wake.wake();
            if let Ok(e) = tokio::time::timeout(Duration::from_millis(20), sub.recv()).await {
                got = e;
                break;
            }
        }
        assert_eq!(got, Some(LiveEvent::Market(event)));
    }

    #[tokio::test]
    async fn bursts_come_whole_in_order_and_a_late_commit_comes_by_the_sweep_once() {
        let (reads, clock, wake) = (Arc::new(FakeReads::default()), ManualClock::new(start()), Wake::new());
        let hub = hub(&reads, &clock, &wake, LiveSettings { buffer: 5_000, ..Default::default() });
        let mut sub = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();

        // More than a page of the store's: the reader pages on.
        let at = clock.now();
        let burst: Vec<MarketEvent> = (1..=2_500).map(|i| listed(id_at(at, i), "c")).collect();
        reads.events.lock().unwrap().extend(burst.iter().cloned());
        let mut got = Vec::new();
        while got.len() < burst.len() {
            got.push(next(&mut sub).await.id());
        }
        assert_eq!(got, burst.iter().map(|e| e.id.0).collect::<Vec<_>>());

        // Made first, committed last: below what the reader has read already.
        let late = listed(id_at(at, 3_000), "c");
        let early = listed(id_at(at, 2_999), "c");
        reads.events.lock().unwrap().push(late.clone());
        assert_eq!(next(&mut sub).await.id(), late.id.0);
        reads.events.lock().unwrap().push(early.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(ready(&mut sub), None, "not until a sweep");
        clock.advance(Duration::from_secs(1));
        assert_eq!(next(&mut sub).await.id(), early.id.0, "the sweep finds it");
        // Another sweep reads all of them again, and the marker after them: nothing comes twice.
        clock.advance(Duration::from_secs(1));
        let marker = listed(id_at(clock.now(), 1), "c");
        reads.events.lock().unwrap().push(marker.clone());
        assert_eq!(next(&mut sub).await.id(), marker.id.0, "nothing came twice before it");
    }

    #[test]
    fn the_reader_and_on_start_start_once_with_the_first_stream() {
        let (started, spawned) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let clock: Arc<dyn Clock> = ManualClock::new(start());
        let (s, r) = (started.clone(), spawned.clone());
        let hub = Hub::new(Arc::new(FakeReads::default()), clock, Wake::new(), LiveSettings::default())
            .on_start(move || {
                s.fetch_add(1, Ordering::SeqCst);
            })
            .spawn_with(move |_reader| {
                r.fetch_add(1, Ordering::SeqCst);
            });
        let hub = Arc::new(hub);
        assert_eq!((started.load(Ordering::SeqCst), spawned.load(Ordering::SeqCst)), (0, 0), "nothing before");
        let a = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        drop(a);
        let _b = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();
        assert_eq!((started.load(Ordering::SeqCst), spawned.load(Ordering::SeqCst)), (1, 1));
    }

    #[tokio::test]
    async fn a_replay_is_the_streams_own_after_the_last_id_oldest_first_and_bounded() {
        let reads = Arc::new(FakeReads::default());
        let clock: Arc<dyn Clock> = ManualClock::new(start());
        let hub = Hub::new(reads.clone(), clock, Wake::new(), LiveSettings { replay_limit: 3, ..Default::default() });
        let id = |i| id_at(start(), i);
        reads.events.lock().unwrap().extend([
            listed(id(1), "c"),
            listed(id(2), "c"),
            offer_to(id(4), UserId(2)),
            listed(id(6), "c"),
            listed(id(7), "c"),
        ]);
        reads
            .ledger
            .lock()
            .unwrap()
            .extend([entry(id(3), Uuid::from_u128(1), UserId(1)), entry(id(5), Uuid::nil(), UserId(2))]);
        let got = hub.replay(UserId(1), &StreamFilter::default(), id(1)).await.unwrap();
        assert_eq!(got.iter().map(|e| e.id()).collect::<Vec<_>>(), [id(2), id(3), id(6)]);
        assert!(matches!(got[1], LiveEvent::Balance { user: UserId(1), .. }));
    }

    #[test]
    fn the_hub_keeps_the_settings_it_was_given() {
        let hub = idle_hub(LiveSettings { max_per_user: 9, buffer: 3, ..Default::default() });
        assert_eq!((hub.settings().max_per_user, hub.settings().buffer), (9, 3));
    }

    #[test]
    fn a_subscription_is_a_stream_of_its_events_that_ends_when_the_hub_drops_it() {
        let hub = idle_hub(LiveSettings { buffer: 1, ..Default::default() });
        let mut sub = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        assert_eq!(sub.next().now_or_never(), None, "nothing yet");
        hub.fan_out(&market(Uuid::from_u128(1)));
        assert_eq!(sub.next().now_or_never(), Some(Some(market(Uuid::from_u128(1)))));
        hub.fan_out(&market(Uuid::from_u128(2)));
        hub.fan_out(&market(Uuid::from_u128(3)));
        assert_eq!(sub.next().now_or_never(), Some(Some(market(Uuid::from_u128(2)))));
        assert_eq!(sub.next().now_or_never(), Some(None), "fell behind: ended");
    }

    #[test]
    fn a_closed_stream_frees_its_user_s_place() {
        let hub = idle_hub(LiveSettings { max_per_user: 1, ..Default::default() });
        let a = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        assert_eq!(hub.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooManyForUser));
        drop(a);
        let _b = hub.subscribe(UserId(1), StreamFilter::default()).expect("the user's place is free again");
        assert_eq!(hub.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooManyForUser));
    }

    #[test]
    fn closing_one_of_a_user_s_streams_keeps_the_others_counted() {
        let hub = idle_hub(LiveSettings { max_per_user: 2, ..Default::default() });
        let a = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let _b = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        drop(a);
        let _c = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        assert_eq!(hub.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooManyForUser));
    }

    #[test]
    fn a_stream_refused_for_the_instance_leaves_its_user_s_count_as_it_was() {
        let hub = idle_hub(LiveSettings { max_connections: 3, max_per_user: 2, ..Default::default() });
        let _a = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let b = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();
        let c = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();
        assert_eq!(hub.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooMany));
        drop(b);
        let _d = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        drop(c);
        assert_eq!(
            hub.subscribe(UserId(1), StreamFilter::default()).err(),
            Some(Refused::TooManyForUser),
            "user 1 holds two streams"
        );
    }

    #[test]
    fn a_stream_refused_for_its_user_leaves_the_count_as_it_was() {
        let hub = idle_hub(LiveSettings { max_connections: 10, max_per_user: 1, ..Default::default() });
        let _a = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        for _ in 0..3 {
            assert_eq!(hub.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooManyForUser));
        }
        let nobody = idle_hub(LiveSettings { max_per_user: 0, ..Default::default() });
        assert_eq!(nobody.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooManyForUser));
        assert!(nobody.per_user.lock().unwrap().is_empty(), "a user refused at once is not kept");
        let full = idle_hub(LiveSettings { max_connections: 0, ..Default::default() });
        assert_eq!(full.subscribe(UserId(1), StreamFilter::default()).err(), Some(Refused::TooMany));
        assert!(full.per_user.lock().unwrap().is_empty(), "nor one refused for the instance");
    }

    /// `n` rows of ids `first`, `first + 1`…
    fn rows(first: u128, n: usize) -> Vec<MarketEvent> {
        (0..n as u128).map(|i| listed(Uuid::from_u128(first + i), "c")).collect()
    }

    /// Reads the given pages in turn, recording where each read started.
    async fn paged<T: HasId + Clone>(from: Uuid, pages: Vec<Vec<T>>) -> (Vec<T>, Vec<Uuid>) {
        let (pages, afters) = (Mutex::new(VecDeque::from(pages)), Mutex::new(Vec::new()));
        let out = read_pages(from, |after| {
            afters.lock().unwrap().push(after);
            let page = pages.lock().unwrap().pop_front().expect("a page too many");
            async move { Ok(page) }
        })
        .await
        .unwrap();
        (out, afters.into_inner().unwrap())
    }

    #[tokio::test]
    async fn reads_page_on_after_the_last_row_while_pages_are_full() {
        let page = READ_PAGE as usize;
        let (out, afters) = paged(Uuid::from_u128(0), vec![rows(1, page), rows(10_001, 3)]).await;
        assert_eq!(out.len(), page + 3);
        assert_eq!(afters, [Uuid::from_u128(0), Uuid::from_u128(page as u128)]);

        let (out, afters) = paged(Uuid::from_u128(7), vec![rows(8, 3)]).await;
        assert_eq!((out.len(), afters), (3, vec![Uuid::from_u128(7)]), "a short page is the last");

        let (out, afters) = paged::<MarketEvent>(Uuid::from_u128(7), vec![vec![]]).await;
        assert_eq!((out.len(), afters), (0, vec![Uuid::from_u128(7)]));
    }

    #[tokio::test]
    async fn reads_at_most_its_pages_in_a_pass() {
        let page = READ_PAGE as usize;
        let pages: Vec<_> = (0..READ_PAGES as u128).map(|p| rows(1 + p * 10_000, page)).collect();
        let (out, afters) = paged(Uuid::from_u128(0), pages).await;
        assert_eq!((out.len(), afters.len()), (page * READ_PAGES, READ_PAGES));
    }

    #[tokio::test]
    async fn ledger_rows_page_on_after_their_own_ids() {
        let page = READ_PAGE as usize;
        let full: Vec<LedgerEntry> =
            (1..=page as u128).map(|i| entry(Uuid::from_u128(i), Uuid::from_u128(i), UserId(1))).collect();
        let (out, afters) = paged(Uuid::from_u128(0), vec![full, vec![]]).await;
        assert_eq!(out.len(), page);
        assert_eq!(afters, [Uuid::from_u128(0), Uuid::from_u128(page as u128)]);
    }

    #[tokio::test]
    async fn what_a_sweep_reads_again_within_twice_the_overlap_is_not_handed_out_twice() {
        let (reads, clock, wake) = (Arc::new(FakeReads::default()), ManualClock::new(start()), Wake::new());
        // Every read sweeps the last 2 s.
        let settings = LiveSettings { sweep_every: Duration::ZERO, buffer: 100, ..Default::default() };
        let hub = hub(&reads, &clock, &wake, settings);
        let mut sub = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
        let first = listed(id_at(clock.now(), 1), "c");
        reads.events.lock().unwrap().push(first.clone());
        assert_eq!(next(&mut sub).await.id(), first.id.0);

        // 1.5 s on, it is read again by every sweep: it is remembered for 4 s.
        clock.advance(Duration::from_millis(1_500));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let marker = listed(id_at(clock.now(), 1), "c");
        reads.events.lock().unwrap().push(marker.clone());
        assert_eq!(next(&mut sub).await.id(), marker.id.0, "nothing came twice before it");
    }

    #[tokio::test]
    async fn nothing_is_read_while_nobody_listens_so_the_next_stream_gets_what_just_committed() {
        let (reads, clock, wake) = (Arc::new(FakeReads::default()), ManualClock::new(start()), Wake::new());
        let hub = hub(&reads, &clock, &wake, LiveSettings::default());
        drop(hub.subscribe(UserId(1), StreamFilter::default()).unwrap());
        let event = listed(id_at(clock.now(), 1), "c");
        reads.events.lock().unwrap().push(event.clone());
        tokio::time::sleep(Duration::from_millis(100)).await;

        let mut sub = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();
        assert_eq!(next(&mut sub).await, LiveEvent::Market(event));
    }
}
