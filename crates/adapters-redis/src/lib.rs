//! The distributed lock manager on Redis (an efficiency lock with a circuit breaker).

mod redis_lock;

pub use redis_lock::{RedisLockSettings, RedisLocks};
