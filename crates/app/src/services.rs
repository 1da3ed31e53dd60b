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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use domain::ports::{LockLease, MockClock, MockIdGenerator};
    use domain::RepoError;

    type Log = Arc<Mutex<Vec<String>>>;

    struct Lease(Log);

    #[async_trait]
    impl LockLease for Lease {
        async fn release(self: Box<Self>) {
            self.0.lock().unwrap().push("release".into());
        }
    }

    /// Grants every lock (or none) and logs what happens to it.
    struct Locks {
        log: Log,
        grant: bool,
    }

    #[async_trait]
    impl LockManager for Locks {
        async fn acquire(&self, key: &str) -> LockOutcome {
            self.log.lock().unwrap().push(format!("acquire {key}"));
            if self.grant {
                LockOutcome::Acquired(Box::new(Lease(self.log.clone())))
            } else {
                LockOutcome::TimedOut
            }
        }
    }

    fn with_locks(grant: bool) -> (Services, Log) {
        let log = Log::default();
        let mut s = crate::testing::services();
        s.locks = Arc::new(Locks { log: log.clone(), grant });
        (s, log)
    }

    #[test]
    fn now_new_ids_and_secrets_come_from_the_injected_clock_and_generator() {
        let mut clock = MockClock::new();
        clock.expect_now().returning(crate::testing::now);
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(|| uuid::Uuid::from_u128(42));
        ids.expect_secret().returning(|| [7; 16]);
        let s = Services {
            clock: Arc::new(clock),
            ids: Arc::new(ids),
            locks: crate::testing::services().locks,
            retry: RetryPolicy::default(),
        };
        assert_eq!(s.now(), crate::testing::now());
        assert_eq!(s.new_id::<domain::NftId>(), domain::NftId(uuid::Uuid::from_u128(42)));
        assert_eq!(s.secret(), [7; 16]);
    }

    #[tokio::test]
    async fn a_locked_run_takes_the_lock_first_and_releases_it_after_the_last_attempt() {
        let (s, log) = with_locks(true);
        let attempts = log.clone();
        let tries = Mutex::new(0);
        let r = s
            .run_locked("t", "nft:1", || {
                let attempts = attempts.clone();
                let n = {
                    let mut t = tries.lock().unwrap();
                    *t += 1;
                    *t
                };
                async move {
                    attempts.lock().unwrap().push(format!("attempt {n}"));
                    if n < 2 {
                        Err(Error::Storage(RepoError::Transient("40001".into())))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(r, Ok(2));
        assert_eq!(*log.lock().unwrap(), ["acquire nft:1", "attempt 1", "attempt 2", "release"]);
    }

    #[tokio::test]
    async fn a_locked_run_goes_on_without_the_lock_and_returns_the_attempts_error() {
        let (s, log) = with_locks(false);
        let r: Result<(), Error> = s.run_locked("t", "offer:2", || async { Err(Error::NotFound("offer")) }).await;
        assert_eq!(r, Err(Error::NotFound("offer")));
        assert_eq!(*log.lock().unwrap(), ["acquire offer:2"]);
    }

    #[tokio::test]
    async fn a_run_retries_transient_conflicts_by_the_policy() {
        let mut s = crate::testing::services();
        s.retry = RetryPolicy { max_attempts: 2, ..RetryPolicy::default() };
        let tries = Mutex::new(0);
        let r: Result<(), Error> = s
            .run("t", || {
                let mut t = tries.lock().unwrap();
                *t += 1;
                assert!(*t < 50, "retried without bound");
                async { Err(Error::Storage(RepoError::Transient("40001".into()))) }
            })
            .await;
        assert!(r.unwrap_err().is_transient());
        assert_eq!(*tries.lock().unwrap(), 2);
    }

    #[test]
    fn each_contended_resource_has_its_own_lock_name() {
        assert_eq!(lock::nft(1), "nft:1");
        assert_eq!(lock::offer(2), "offer:2");
        assert_eq!(lock::auction(3), "auction:3");
        assert_eq!(lock::presale(4), "presale:4");
        assert_eq!(lock::trade(5), "trade:5");
        assert_eq!(lock::channel_sale(6), "channel_sale:6");
    }
}
