//! Lock managers: a distributed one on Redis, and an in-process one for the embedded default.

mod in_process;
mod redis_lock;

pub use in_process::InProcessLocks;
pub use redis_lock::{RedisLockSettings, RedisLocks};
