//! The Unit-of-Work runner: whole-UoW retries on transient conflicts, and UoW metrics.

use std::future::Future;
use std::time::{Duration, Instant};

use domain::ports::Clock;

/// Declares a use case's own Unit-of-Work trait and the factory that begins one.
///
/// `commit` consumes the Unit of Work; dropping it without commit rolls everything back.
#[macro_export]
macro_rules! define_uow {
    ($(#[$meta:meta])* $uow:ident, $factory:ident { $($repo:ident: $port:path),* $(,)? }) => {
        $(#[$meta])*
        #[async_trait::async_trait]
        pub trait $uow: Send {
            $(fn $repo(&mut self) -> &mut dyn $port;)*
            /// Idempotency keys, claimed in this Unit of Work.
            fn idempotency(&mut self) -> &mut dyn domain::idempotency::IdempotencyRepo;
            /// Makes every change of this Unit of Work visible at once, or none of them.
            async fn commit(self: Box<Self>) -> Result<(), domain::RepoError>;
        }

        /// Begins a
        #[doc = concat!("[`", stringify!($uow), "`].")]
        #[async_trait::async_trait]
        pub trait $factory: Send + Sync {
            async fn begin(&self) -> Result<Box<dyn $uow>, domain::RepoError>;
        }
    };
}

/// What the runner needs to know about a use case's error.
pub trait UseCaseError: std::error::Error {
    /// A transient database conflict: the whole Unit of Work may run again.
    fn is_transient(&self) -> bool;
    /// A short label for the rollback metric.
    fn reason(&self) -> &'static str;
}

/// Bounded whole-UoW retries with capped exponential backoff and full jitter.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(200) }
    }
}

impl RetryPolicy {
    /// Full jitter: uniform in `[0, min(max_delay, base_delay × 2^retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling =
            self.base_delay.saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX)).min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Runs `attempt` (which begins, uses and commits one Unit of Work) until it succeeds, fails for
/// good, or runs out of attempts on transient conflicts. Records commits, rollbacks by reason,
/// retries and duration under `use_case`.
pub async fn run<T, E, F, Fut>(
    use_case: &'static str,
    policy: &RetryPolicy,
    clock: &dyn Clock,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: UseCaseError,
{
    let started = Instant::now();
    let mut tries = 1;
    let result = loop {
        match attempt().await {
            Err(e) if e.is_transient() && tries < policy.max_attempts => {
                metrics::counter!("uow_retries_total", "use_case" => use_case).increment(1);
                tracing::debug!(use_case, tries, error = %e, "transient conflict, retrying the unit of work");
                clock.sleep(policy.backoff(tries)).await;
                tries += 1;
            }
            other => break other,
        }
    };
    metrics::histogram!("uow_duration_seconds", "use_case" => use_case).record(started.elapsed().as_secs_f64());
    match &result {
        Ok(_) => metrics::counter!("uow_commits_total", "use_case" => use_case).increment(1),
        Err(e) => {
            metrics::counter!("uow_rollbacks_total", "use_case" => use_case, "reason" => e.reason()).increment(1);
            if e.is_transient() {
                tracing::warn!(use_case, tries, error = %e, "giving up after transient conflicts");
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug, thiserror::Error)]
    #[error("e")]
    struct E(bool);
    impl UseCaseError for E {
        fn is_transient(&self) -> bool {
            self.0
        }
        fn reason(&self) -> &'static str {
            "e"
        }
    }

    fn clock() -> domain::ports::MockClock {
        let mut c = domain::ports::MockClock::new();
        c.expect_sleep().returning(|_| ());
        c
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let r: Result<u32, E> = run("t", &RetryPolicy::default(), &clock(), || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if n < 2 {
                Err(E(true))
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 2);
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy { max_attempts: 3, ..Default::default() };
        let r: Result<(), E> = run("t", &policy, &clock(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(E(true))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let r: Result<(), E> = run("t", &RetryPolicy::default(), &clock(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(E(false))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_never_exceeds_its_cap() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            assert!(p.backoff(retry) <= p.max_delay);
        }
    }
}
