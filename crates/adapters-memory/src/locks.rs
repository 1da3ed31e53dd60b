//! In-process lock manager: the only one for a single instance (no `REDIS_URL`); with Redis, the
//! first tier of an escalating lock that calls Redis only when a resource is contended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::ports::{Health, HealthCheck};
use async_trait::async_trait;
use domain::ports::{LockLease, LockManager, LockOutcome};
use tokio::sync::OwnedMutexGuard;

type Slots = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>;

/// Fair (FIFO) per-key mutexes; contenders wait at most `wait`.
///
/// With a `remote` lock manager (Redis), it escalates: a request that finds the key free in this
/// process takes no remote lock at all — the database's row locks guard it, and with every
/// instance queueing its own contenders at most one request per instance waits on a row — while a
/// request that had to queue here (the resource is contended) also queues on the remote lock, so
/// contenders of all instances line up outside the database. Uncontended operations cost no
/// network call; contended ones get the distributed queue (ADR 009).
pub struct InProcessLocks {
    slots: Slots,
    wait: Duration,
    remote: Option<Arc<dyn LockManager>>,
}

impl InProcessLocks {
    pub fn new(wait: Duration) -> Self {
        Self { slots: Arc::default(), wait, remote: None }
    }

    /// Escalates contended keys to `remote` (see the type's documentation).
    pub fn escalating_to(mut self, remote: Arc<dyn LockManager>) -> Self {
        self.remote = Some(remote);
        self
    }
}

struct Lease {
    key: String,
    slots: Slots,
    guard: Option<OwnedMutexGuard<()>>,
    /// The remote lease of an escalated acquire; released before the local one.
    remote: Option<Box<dyn LockLease>>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        // An unreleased remote lease releases itself in the background when dropped.
        self.remote.take();
        self.guard.take();
        let mut slots = self.slots.lock().expect("lock table poisoned");
        if slots.get(&self.key).is_some_and(|m| Arc::strong_count(m) == 1) {
            slots.remove(&self.key);
        }
    }
}

#[async_trait]
impl LockLease for Lease {
    async fn release(mut self: Box<Self>) {
        if let Some(remote) = self.remote.take() {
            remote.release().await;
        }
    }
}

#[async_trait]
impl LockManager for InProcessLocks {
    async fn acquire(&self, key: &str) -> LockOutcome {
        let slot = self.slots.lock().expect("lock table poisoned").entry(key.to_string()).or_default().clone();
        let started = std::time::Instant::now();
        let (guard, contended) = match slot.clone().try_lock_owned() {
            Ok(guard) => (guard, false),
            Err(_) => match tokio::time::timeout(self.wait, slot.lock_owned()).await {
                Ok(guard) => (guard, true),
                Err(_) => {
                    metrics::counter!("lock_timeouts_total").increment(1);
                    return LockOutcome::TimedOut;
                }
            },
        };
        let mut lease = Lease { key: key.to_string(), slots: self.slots.clone(), guard: Some(guard), remote: None };
        if let (true, Some(remote)) = (contended, &self.remote) {
            metrics::counter!("lock_escalations_total").increment(1);
            match remote.acquire(key).await {
                LockOutcome::Acquired(remote) => lease.remote = Some(remote),
                // Waited out or unreachable: the database's row locks still keep it correct.
                LockOutcome::TimedOut | LockOutcome::Unavailable => {}
            }
        }
        metrics::histogram!("lock_wait_seconds").record(started.elapsed().as_secs_f64());
        LockOutcome::Acquired(Box::new(lease))
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

    /// Counts the keys a remote lock manager was asked for.
    #[derive(Default)]
    struct Remote {
        asked: Mutex<Vec<String>>,
        released: Arc<std::sync::atomic::AtomicUsize>,
    }

    struct RemoteLease(Arc<std::sync::atomic::AtomicUsize>);

    #[async_trait]
    impl LockLease for RemoteLease {
        async fn release(self: Box<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl LockManager for Remote {
        async fn acquire(&self, key: &str) -> LockOutcome {
            self.asked.lock().unwrap().push(key.to_string());
            LockOutcome::Acquired(Box::new(RemoteLease(self.released.clone())))
        }
    }

    #[tokio::test]
    async fn only_a_contended_key_is_escalated_to_the_remote_lock() {
        let remote = Arc::new(Remote::default());
        let locks = Arc::new(InProcessLocks::new(Duration::from_secs(5)).escalating_to(remote.clone()));
        let LockOutcome::Acquired(first) = locks.acquire("nft:1").await else { panic!("free key") };
        assert!(remote.asked.lock().unwrap().is_empty(), "a free key costs no remote call");
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let LockOutcome::Acquired(lease) = locks.acquire("nft:1").await else { panic!("after the first") };
                lease.release().await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(remote.asked.lock().unwrap().is_empty(), "still queued here, not yet remote");
        first.release().await;
        waiter.await.unwrap();
        assert_eq!(*remote.asked.lock().unwrap(), vec!["nft:1".to_string()], "the contender queued remotely too");
        assert_eq!(remote.released.load(std::sync::atomic::Ordering::SeqCst), 1, "and released it");
        assert!(locks.slots.lock().unwrap().is_empty());
    }
}
