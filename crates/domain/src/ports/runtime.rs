//! The runtime a use case needs: time, identifiers and the efficiency lock in front of contended
//! resources.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Time, injectable for tests.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current time (truncated to microseconds, as the stores keep it).
    fn now(&self) -> DateTime<Utc>;
    /// Waits `duration` (a manual clock in tests returns at once).
    async fn sleep(&self, duration: Duration);
}

/// New identifiers (UUID v7 in production: time-ordered, index friendly).
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new, unique, time-ordered identifier.
    fn new_id(&self) -> Uuid;

    /// Sixteen bytes nobody can guess (ids are time-ordered, so they are not).
    fn secret(&self) -> [u8; 16] {
        *Uuid::new_v4().as_bytes()
    }
}

/// What [`LockManager::acquire`] got.
pub enum LockOutcome {
    /// The lock is ours until released (or until its lease expires).
    Acquired(Box<dyn LockLease>),
    /// Others held it for the whole bounded wait.
    TimedOut,
    /// The lock service cannot be reached (or its circuit is open).
    Unavailable,
}

/// A held lock. Releasing is best-effort; an unreleased lock expires by itself.
#[async_trait]
pub trait LockLease: Send {
    /// Releases the lock if it is still ours; never fails (an unreleased lock expires).
    async fn release(self: Box<Self>);
}

/// An efficiency lock in front of contended resources: it queues contenders outside the
/// database. It is never the guard of correctness (row locks and constraints are), so callers
/// go on without it when it times out or is unavailable.
#[async_trait]
pub trait LockManager: Send + Sync {
    /// Waits a bounded time for the lock named `key`.
    async fn acquire(&self, key: &str) -> LockOutcome;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedIds;

    impl IdGenerator for FixedIds {
        fn new_id(&self) -> Uuid {
            Uuid::nil()
        }
    }

    #[test]
    fn the_default_secret_is_sixteen_unpredictable_bytes() {
        let ids = FixedIds;
        let (a, b) = (ids.secret(), ids.secret());
        assert_ne!(a, b, "two secrets never repeat");
        assert_ne!(a, [0; 16]);
        assert_ne!(a, [1; 16]);
        assert_eq!(ids.new_id(), Uuid::nil());
    }
}
