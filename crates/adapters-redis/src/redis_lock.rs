//! Distributed efficiency lock on Redis: `SET key token NX PX ttl`, released by a Lua
//! compare-and-delete so only the holder can release. Every Redis call has a timeout. When Redis
//! fails, a circuit breaker opens: for `cooldown` no call is made, `acquire` answers
//! `Unavailable` at once (callers then rely on database locks), `/readyz` says `degraded`, the
//! `redis_degraded` gauge is 1 and a warning is logged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::ports::{Health, HealthCheck};
use async_trait::async_trait;
use deadpool_redis::redis::{cmd, Script};
use deadpool_redis::{Config, Pool, Runtime};
use domain::ports::{LockLease, LockManager, LockOutcome};

const RELEASE: &str =
    r#"if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end"#;

#[derive(Clone, Debug)]
pub struct RedisLockSettings {
    /// Lease length: a holder that dies frees the lock after this.
    pub ttl: Duration,
    /// How long a contender waits before going on without the lock.
    pub wait: Duration,
    /// Upper bound of any one Redis call, pool checkout included.
    pub command_timeout: Duration,
    /// How long the breaker stays open after a failure.
    pub cooldown: Duration,
}

impl Default for RedisLockSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            wait: Duration::from_secs(5),
            command_timeout: Duration::from_millis(250),
            cooldown: Duration::from_secs(5),
        }
    }
}

struct Breaker {
    open_until: Mutex<Option<Instant>>,
    degraded: AtomicBool,
    cooldown: Duration,
}

impl Breaker {
    fn is_open(&self) -> bool {
        matches!(*self.open_until.lock().expect("breaker poisoned"), Some(t) if Instant::now() < t)
    }

    fn trip(&self, why: &str) {
        *self.open_until.lock().expect("breaker poisoned") = Some(Instant::now() + self.cooldown);
        if !self.degraded.swap(true, Ordering::SeqCst) {
            tracing::warn!(error = why, "redis unreachable: serving on database locks alone (degraded)");
        }
        metrics::gauge!("redis_degraded").set(1.0);
        metrics::counter!("redis_failures_total").increment(1);
    }

    fn success(&self) {
        if self.degraded.swap(false, Ordering::SeqCst) {
            *self.open_until.lock().expect("breaker poisoned") = None;
            tracing::info!("redis reachable again: distributed locks back on");
            metrics::gauge!("redis_degraded").set(0.0);
        }
    }
}

struct Inner {
    pool: Pool,
    settings: RedisLockSettings,
    breaker: Breaker,
    release: Script,
}

/// Lock manager on Redis. Cheap to clone.
#[derive(Clone)]
pub struct RedisLocks {
    inner: Arc<Inner>,
}

impl RedisLocks {
    /// Builds the pool; connects lazily (an unreachable Redis only degrades the service).
    pub fn new(url: &str, settings: RedisLockSettings) -> Result<Self, String> {
        let pool = Config::from_url(url).create_pool(Some(Runtime::Tokio1)).map_err(|e| e.to_string())?;
        metrics::gauge!("redis_degraded").set(0.0);
        let breaker =
            Breaker { open_until: Mutex::new(None), degraded: AtomicBool::new(false), cooldown: settings.cooldown };
        Ok(Self { inner: Arc::new(Inner { pool, settings, breaker, release: Script::new(RELEASE) }) })
    }

    /// Whether the breaker currently routes around Redis.
    pub fn is_degraded(&self) -> bool {
        self.inner.breaker.degraded.load(Ordering::SeqCst)
    }

    async fn try_set(&self, key: &str, token: &str) -> Result<bool, String> {
        let inner = &self.inner;
        let call = async {
            let mut conn = inner.pool.get().await.map_err(|e| e.to_string())?;
            let reply: Option<String> = cmd("SET")
                .arg(key)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(inner.settings.ttl.as_millis() as u64)
                .query_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(reply.is_some())
        };
        tokio::time::timeout(inner.settings.command_timeout, call)
            .await
            .map_err(|_| "redis call timed out".to_string())?
    }
}

async fn release(inner: Arc<Inner>, key: String, token: String) {
    let call = async {
        let mut conn = inner.pool.get().await.map_err(|e| e.to_string())?;
        inner.release.key(&key).arg(&token).invoke_async::<i64>(&mut conn).await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(inner.settings.command_timeout, call).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => inner.breaker.trip(&e),
        Err(_) => inner.breaker.trip("redis release timed out"),
    }
}

struct RedisLease {
    inner: Arc<Inner>,
    key: String,
    token: String,
    released: bool,
}

#[async_trait]
impl LockLease for RedisLease {
    async fn release(mut self: Box<Self>) {
        self.released = true;
        release(self.inner.clone(), std::mem::take(&mut self.key), std::mem::take(&mut self.token)).await;
    }
}

impl Drop for RedisLease {
    /// A lease dropped without release (say, the request was cancelled) is released in the
    /// background instead of waiting for its TTL.
    fn drop(&mut self) {
        if !self.released {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(release(self.inner.clone(), std::mem::take(&mut self.key), std::mem::take(&mut self.token)));
            }
        }
    }
}

#[async_trait]
impl LockManager for RedisLocks {
    async fn acquire(&self, key: &str) -> LockOutcome {
        let inner = &self.inner;
        if inner.breaker.is_open() {
            return LockOutcome::Unavailable;
        }
        let key = format!("atomarket:lock:{key}");
        let token = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match self.try_set(&key, &token).await {
                Ok(true) => {
                    inner.breaker.success();
                    metrics::histogram!("lock_wait_seconds").record(started.elapsed().as_secs_f64());
                    return LockOutcome::Acquired(Box::new(RedisLease {
                        inner: inner.clone(),
                        key,
                        token,
                        released: false,
                    }));
                }
                Ok(false) if started.elapsed() < inner.settings.wait => {
                    tokio::time::sleep(pause.mul_f64(0.5 + fastrand::f64())).await;
                    pause = (pause * 2).min(Duration::from_millis(25));
                }
                Ok(false) => {
                    metrics::counter!("lock_timeouts_total").increment(1);
                    return LockOutcome::TimedOut;
                }
                Err(e) => {
                    inner.breaker.trip(&e);
                    return LockOutcome::Unavailable;
                }
            }
        }
    }
}

#[async_trait]
impl HealthCheck for RedisLocks {
    fn name(&self) -> &'static str {
        "redis"
    }

    /// Pings Redis (bounded by the command timeout) unless the breaker is open.
    async fn check(&self) -> Health {
        if self.inner.breaker.is_open() {
            return Health::Degraded;
        }
        let inner = &self.inner;
        let ping = async {
            let mut conn = inner.pool.get().await.map_err(|e| e.to_string())?;
            cmd("PING").query_async::<String>(&mut conn).await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(inner.settings.command_timeout, ping).await {
            Ok(Ok(_)) => {
                inner.breaker.success();
                Health::Ok
            }
            Ok(Err(e)) => {
                inner.breaker.trip(&e);
                Health::Degraded
            }
            Err(_) => {
                inner.breaker.trip("redis ping timed out");
                Health::Degraded
            }
        }
    }
}
