//! The real clock and id generator, shared by every storage choice, and a manual clock for
//! tests and simulations.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use domain::ports::{Clock, IdGenerator};

/// Wall-clock time, truncated to microseconds: the precision PostgreSQL keeps, so a value read
/// back equals the value written on every adapter.
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await
    }
}

/// UUID v7: time-ordered, so new rows land at the end of indexes and ids sort by age.
pub struct UuidV7Ids;

impl IdGenerator for UuidV7Ids {
    fn new_id(&self) -> uuid::Uuid {
        uuid::Uuid::now_v7()
    }
}

/// A clock that only moves when told (tests, simulations). Sleeping returns at once.
pub struct ManualClock {
    now: std::sync::Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: std::sync::Mutex::new(start.trunc_subsecs(6)) }
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.now.lock().expect("clock poisoned") += by;
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock poisoned")
    }
    async fn sleep(&self, _duration: Duration) {
        tokio::task::yield_now().await
    }
}
