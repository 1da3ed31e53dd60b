//! In-process lock manager for a single instance (no `REDIS_URL`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::health::{Health, HealthCheck};
use async_trait::async_trait;
use domain::ports::{LockLease, LockManager, LockOutcome};
use tokio::sync::OwnedMutexGuard;

type Slots = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

/// Fair (FIFO) per-key mutexes; contenders wait at most `wait`.
pub struct InProcessLocks {
    slots: Slots,
    wait: Duration,
}

impl InProcessLocks {
    pub fn new(wait: Duration) -> Self {
        Self { slots: Arc::default(), wait }
    }
}

struct Lease {
    key: String,
    slots: Slots,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.guard.take();
        let mut slots = self.slots.lock().expect("lock table poisoned");
        if slots.get(&self.key).is_some_and(|m| Arc::strong_count(m) == 1) {
            slots.remove(&self.key);
        }
    }
}

#[async_trait]
impl LockLease for Lease {
    async fn release(self: Box<Self>) {}
}

#[async_trait]
impl LockManager for InProcessLocks {
    async fn acquire(&self, key: &str) -> LockOutcome {
        let slot = self.slots.lock().expect("lock table poisoned").entry(key.to_string()).or_default().clone();
        match tokio::time::timeout(self.wait, slot.lock_owned()).await {
            Ok(guard) => LockOutcome::Acquired(Box::new(Lease {
                key: key.to_string(),
                slots: self.slots.clone(),
                guard: Some(guard),
            })),
            Err(_) => {
                metrics::counter!("lock_timeouts_total").increment(1);
                LockOutcome::TimedOut
            }
        }
    }
}

#[async_trait]
impl HealthCheck for InProcessLocks {
    fn name(&self) -> &'static str {
        "redis"
    }
    async fn check(&self) -> Health {
        Health::Embedded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_contender_waits_and_then_times_out() {
        let locks = InProcessLocks::new(Duration::from_millis(50));
        let first = locks.acquire("k").await;
        assert!(matches!(first, LockOutcome::Acquired(_)));
        assert!(matches!(locks.acquire("k").await, LockOutcome::TimedOut));
        assert!(matches!(locks.acquire("other").await, LockOutcome::Acquired(_)));
        if let LockOutcome::Acquired(l) = first {
            l.release().await;
        }
        assert!(matches!(locks.acquire("k").await, LockOutcome::Acquired(_)));
        assert!(locks.slots.lock().unwrap().is_empty(), "released slots are forgotten");
    }
}
