//! What every use case needs besides its Unit of Work.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::ports::{Clock, IdGenerator, LockManager, LockOutcome};

use crate::uow::{self, RetryPolicy, UseCaseError};

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

    /// Runs `attempt` with retries (see [`uow::run`]) while holding the efficiency lock `key`.
    /// The lock is taken before any Unit of Work begins and released after the last one ends;
    /// when it cannot be had, the database's row locks still keep the operation correct.
    pub async fn run_locked<T, E, F, Fut>(&self, use_case: &'static str, key: &str, attempt: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: UseCaseError,
    {
        let lease = self.locks.acquire(key).await;
        let result = self.run(use_case, attempt).await;
        if let LockOutcome::Acquired(lease) = lease {
            lease.release().await;
        }
        result
    }

    /// Runs `attempt` with whole-UoW retries on transient conflicts.
    pub async fn run<T, E, F, Fut>(&self, use_case: &'static str, attempt: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: UseCaseError,
    {
        uow::run(use_case, &self.retry, &*self.clock, attempt).await
    }
}
