//! The embedded in-memory store: a real transactional implementation of every port.
//!
//! Committed state is an immutable snapshot of persistent maps. A Unit of Work takes the single
//! writer slot (so conflicting Units of Work are serialised), works on its own copy of the
//! snapshot (O(1) to clone), and on commit publishes that copy. Dropping it without commit throws
//! the copy away. Readers see only published snapshots, never a Unit of Work's own writes.

mod delivery;
mod read;
mod read_market;
mod repos;
mod repos_market;
mod system;

use std::sync::{Arc, RwLock};

use imbl::{OrdMap, OrdSet};
use tokio::sync::{Mutex, OwnedMutexGuard};
use uuid::Uuid;

use domain::*;

pub use system::{ManualClock, SystemClock, UuidV7Ids};

/// Every table of the store.
#[derive(Clone, Default)]
pub(crate) struct State {
    pub users: OrdMap<i64, User>,
    pub nfts: OrdMap<Uuid, Nft>,
    pub gift_ids: OrdSet<String>,
    pub offers: OrdMap<Uuid, Offer>,
    pub ledger: OrdMap<Uuid, LedgerEntry>,
    pub ledger_by_user: OrdMap<(i64, Uuid), ()>,
    pub outbox: OrdMap<Uuid, OutboxRow>,
    pub deposits: OrdMap<String, Deposit>,
    pub clients: OrdMap<Uuid, Client>,
    pub client_emails: OrdSet<String>,
    pub managers: OrdMap<Uuid, Manager>,
    pub binds: OrdMap<(Uuid, Uuid), ManagerBind>,
    pub auctions: OrdMap<Uuid, Auction>,
    pub bids: OrdMap<Uuid, Bid>,
    pub presales: OrdMap<Uuid, Presale>,
    pub withdrawals: OrdMap<Uuid, Withdrawal>,
    pub idempotency: OrdMap<(String, String, String), KeyRow>,
}

/// An outbox message with its delivery state.
#[derive(Clone, Debug)]
pub(crate) struct OutboxRow {
    pub message: OutboxMessage,
    pub attempts: u32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
    pub done: bool,
}

/// A claimed idempotency key and, once stored, its response.
#[derive(Clone, Debug)]
pub(crate) struct KeyRow {
    pub request_hash: String,
    pub response: Option<(u16, Vec<u8>)>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

struct Shared {
    committed: RwLock<State>,
    writer: Arc<Mutex<()>>,
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
        Self { shared: Arc::new(Shared { committed: RwLock::new(State::default()), writer: Arc::new(Mutex::new(())) }) }
    }

    pub(crate) fn snapshot(&self) -> State {
        self.shared.committed.read().expect("store lock poisoned").clone()
    }

    /// Begins a Unit of Work: waits for the writer slot, then copies the committed snapshot.
    pub async fn begin(&self) -> MemoryUow {
        let guard = self.shared.writer.clone().lock_owned().await;
        MemoryUow { state: self.snapshot(), shared: self.shared.clone(), _writer: guard, finished: false }
    }
}

/// One Unit of Work on the in-memory store. Implements every repository port.
pub struct MemoryUow {
    pub(crate) state: State,
    shared: Arc<Shared>,
    _writer: OwnedMutexGuard<()>,
    finished: bool,
}

impl MemoryUow {
    /// Publishes every change at once.
    pub fn commit(mut self) {
        let state = std::mem::take(&mut self.state);
        *self.shared.committed.write().expect("store lock poisoned") = state;
        self.finished = true;
    }
}

impl Drop for MemoryUow {
    fn drop(&mut self) {
        if !self.finished {
            tracing::debug!("in-memory unit of work dropped without commit: rolled back");
        }
    }
}

/// Implements a use case's Unit-of-Work trait (every accessor hands out the Unit of Work
/// itself) and its factory for the store.
macro_rules! impl_uow {
    ($($uow:path, $factory:path { $($repo:ident: $port:path),* $(,)? });* $(;)?) => {$(
        #[async_trait::async_trait]
        impl $uow for MemoryUow {
            $(fn $repo(&mut self) -> &mut dyn $port { self })*
            fn idempotency(&mut self) -> &mut dyn domain::idempotency::IdempotencyRepo { self }
            async fn commit(self: Box<Self>) -> Result<(), RepoError> {
                MemoryUow::commit(*self);
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $factory for MemoryStore {
            async fn begin(&self) -> Result<Box<dyn $uow>, RepoError> {
                Ok(Box::new(MemoryStore::begin(self).await))
            }
        }
    )*};
}

app::for_each_uow!(impl_uow);
