//! The embedded in-memory store: a real transactional implementation of every port.
//!
//! Committed state is an immutable snapshot of persistent maps. A Unit of Work takes the single
//! writer slot (so conflicting Units of Work are serialised), works on its own copy of the
//! snapshot (O(1) to clone), and on commit publishes that copy. Dropping it without commit throws
//! the copy away (and logs it with the use case). Readers see only published snapshots, never a
//! Unit of Work's own writes. One file per aggregate or port: its repository on [`MemoryUow`] and
//! its reads on [`MemoryStore`].

mod accounts;
mod auctions;
mod chain;
mod channels;
mod collection_offers;
mod console_sessions;
mod deposits;
mod events;
mod health;
mod idempotency;
mod ledger;
mod locks;
mod nfts;
mod offers;
mod outbox;
mod partners;
mod presales;
mod staff_actions;
mod trades;
mod withdrawals;

use std::sync::{Arc, RwLock};

use app::ports::reads::{Page, PageRequest};
use async_trait::async_trait;
use imbl::{OrdMap, OrdSet};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use domain::*;

pub use locks::InProcessLocks;

/// Every table of the store.
#[derive(Clone, Default)]
pub(crate) struct State {
    pub users: OrdMap<i64, User>,
    pub nfts: OrdMap<Uuid, Nft>,
    /// Which NFT stands for each gift (`gift_id` is unique).
    pub gift_ids: OrdMap<String, Uuid>,
    pub offers: OrdMap<Uuid, Offer>,
    pub collection_offers: OrdMap<Uuid, CollectionOffer>,
    pub ledger: OrdMap<Uuid, LedgerEntry>,
    pub ledger_by_user: OrdMap<(i64, Uuid), ()>,
    pub outbox: OrdMap<Uuid, outbox::OutboxRow>,
    pub deposits: OrdMap<String, Deposit>,
    pub clients: OrdMap<Uuid, Client>,
    pub client_emails: OrdSet<String>,
    pub managers: OrdMap<Uuid, Manager>,
    pub binds: OrdMap<(Uuid, Uuid), ManagerBind>,
    pub auctions: OrdMap<Uuid, Auction>,
    pub bids: OrdMap<Uuid, Bid>,
    pub presales: OrdMap<Uuid, Presale>,
    pub withdrawals: OrdMap<Uuid, Withdrawal>,
    pub staff_actions: OrdMap<Uuid, StaffAction>,
    pub trades: OrdMap<Uuid, Trade>,
    pub channel_sales: OrdMap<Uuid, ChannelSale>,
    pub idempotency: OrdMap<(String, String, String), idempotency::KeyRow>,
    pub memos: OrdMap<i64, String>,
    pub memo_owners: OrdMap<String, i64>,
    pub cursors: OrdMap<String, ChainCursor>,
    pub unmatched: OrdMap<Uuid, UnmatchedDeposit>,
    pub unmatched_gifts: OrdMap<Uuid, UnmatchedGift>,
    /// Telegram updates handled by the gift rail.
    pub telegram_updates: OrdSet<i64>,
    /// What the last complete reconciliation did not find on the business account.
    pub missing_gifts: OrdSet<String>,
    pub wallet_transfers: OrdMap<String, app::ports::WalletTransfer>,
    pub events: OrdMap<Uuid, MarketEvent>,
}

struct Shared {
    committed: RwLock<State>,
    writer: Arc<Mutex<()>>,
    /// Signalled when a Unit of Work that wrote market events commits.
    events_committed: app::live::Wake,
    /// The operator console's sessions (outside the committed state: no Unit of Work writes them).
    console_sessions: console_sessions::SessionRows,
}

/// The store; cheap to clone (all clones share the data).
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                committed: RwLock::new(State::default()),
                writer: Arc::new(Mutex::new(())),
                events_committed: app::live::Wake::new(),
                console_sessions: Default::default(),
            }),
        }
    }

    /// Signalled each time market events are committed (the live event stream's hub listens).
    pub fn events_committed(&self) -> app::live::Wake {
        self.shared.events_committed.clone()
    }

    pub(crate) fn snapshot(&self) -> State {
        self.shared.committed.read().expect("store lock poisoned").clone()
    }

    /// Begins a Unit of Work: waits for the writer slot, then copies the committed snapshot.
    pub async fn begin(&self, use_case: &'static str) -> MemoryUow {
        let guard = self.shared.writer.clone().lock_owned().await;
        MemoryUow {
            state: self.snapshot(),
            shared: self.shared.clone(),
            _writer: guard,
            use_case,
            finished: false,
            failed: false,
            wrote_events: false,
        }
    }

    /// Runs `change` on the state in a Unit of Work of its own and commits it (store-level
    /// writes outside use cases: the relay's bookkeeping, idempotent responses).
    pub(crate) async fn write<T>(&self, what: &'static str, change: impl FnOnce(&mut State) -> T) -> T {
        let mut uow = self.begin(what).await;
        let out = change(&mut uow.state);
        uow.publish();
        out
    }
}

#[async_trait]
impl app::BeginTransaction for MemoryStore {
    type Tx = MemoryUow;

    async fn begin(&self, use_case: &'static str) -> Result<MemoryUow, RepoError> {
        Ok(MemoryStore::begin(self, use_case).await)
    }
}

/// One Unit of Work on the in-memory store. Implements every repository port.
pub struct MemoryUow {
    pub(crate) state: State,
    shared: Arc<Shared>,
    _writer: OwnedMutexGuard<()>,
    use_case: &'static str,
    finished: bool,
    /// A repository call failed: like PostgreSQL, the Unit of Work can then only roll back.
    failed: bool,
    /// Market events were written: committing wakes the live stream.
    pub(crate) wrote_events: bool,
}

impl MemoryUow {
    /// Notes a failed call and passes its error on.
    pub(crate) fn fail(&mut self, e: RepoError) -> RepoError {
        self.failed = true;
        e
    }

    /// Publishes every change at once.
    pub fn publish(mut self) {
        let state = std::mem::take(&mut self.state);
        *self.shared.committed.write().expect("store lock poisoned") = state;
        self.finished = true;
        if self.wrote_events {
            self.shared.events_committed.wake();
        }
    }
}

#[async_trait]
impl app::Transaction for MemoryUow {
    /// Publishes every change at once, unless a call failed (then nothing is, as on PostgreSQL).
    async fn commit(self) -> Result<(), RepoError> {
        if self.failed {
            return Err(RepoError::Other(format!("{}: a call failed, so nothing is committed", self.use_case)));
        }
        self.publish();
        Ok(())
    }

    async fn rollback(mut self) {
        self.finished = true;
    }
}

impl Drop for MemoryUow {
    fn drop(&mut self) {
        if !self.finished {
            tracing::warn!(use_case = self.use_case, "unit of work dropped without commit: rolled back");
        }
    }
}

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

/// The first `limit` rows that are due, in id order (the jobs' work lists).
pub(crate) fn due<T, I>(
    map: &OrdMap<Uuid, T>,
    limit: u32,
    is_due: impl Fn(&T) -> bool,
    id: impl Fn(Uuid) -> I,
) -> Vec<I> {
    map.iter().filter(|(_, v)| is_due(v)).take(limit as usize).map(|(k, _)| id(*k)).collect()
}
