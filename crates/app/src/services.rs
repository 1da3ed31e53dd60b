//! What every use case needs besides its Unit of Work: time, ids, the efficiency lock, retries.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::ports::{Clock, IdGenerator, LockManager, LockOutcome};

use crate::error::Error;
use crate::uow::{self, RetryPolicy};

#[derive(Clone)]
pub struct Services {
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
    pub locks: Arc<dyn LockManager>,
    pub retry: RetryPolicy,
}

impl Services {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn new_id<T: From<uuid::Uuid>>(&self) -> T {
        T::from(self.ids.new_id())
    }

    /// Bytes nobody can guess (memos and the like).
    pub fn secret(&self) -> [u8; 16] {
        self.ids.secret()
    }

    /// Runs `attempt` with retries (see [`uow::run`]) while holding the efficiency lock `key`.
    /// The lock is taken before any Unit of Work begins and released after the last one ends;
    /// when it cannot be had, the database's row locks still keep the operation correct.
    pub async fn run_locked<T, F, Fut>(&self, use_case: &'static str, key: &str, attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let lease = self.locks.acquire(key).await;
        let result = self.run(use_case, attempt).await;
        if let LockOutcome::Acquired(lease) = lease {
            lease.release().await;
        }
        result
    }

    /// Runs `attempt` with whole-UoW retries on transient conflicts.
    pub async fn run<T, F, Fut>(&self, use_case: &'static str, attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        uow::run(use_case, &self.retry, &*self.clock, attempt).await
    }
}

/// Names of the efficiency locks, one per contended resource (see ADR 002).
pub mod lock {
    use std::fmt::Display;

    pub fn nft(id: impl Display) -> String {
        format!("nft:{id}")
    }

    pub fn offer(id: impl Display) -> String {
        format!("offer:{id}")
    }

    pub fn auction(id: impl Display) -> String {
        format!("auction:{id}")
    }

    pub fn presale(id: impl Display) -> String {
        format!("presale:{id}")
    }

    pub fn trade(id: impl Display) -> String {
        format!("trade:{id}")
    }

    pub fn channel_sale(id: impl Display) -> String {
        format!("channel_sale:{id}")
    }
}
