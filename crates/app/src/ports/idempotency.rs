//! Stored responses of idempotent requests, outside Units of Work (the key itself is claimed in
//! the operation's Unit of Work through [`IdempotencyRepo`](domain::ports::IdempotencyRepo)).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::idempotency::IdempotencyKey;
use domain::RepoError;

/// Stored responses, outside Units of Work.
#[async_trait]
pub trait IdempotencyLog: Send + Sync {
    /// Stores the response of the request that claimed `key` (after its Unit of Work committed).
    async fn save_response(&self, key: &IdempotencyKey, status: u16, body: &[u8]) -> Result<(), RepoError>;
    /// Forgets keys created before `before`; returns how many.
    async fn reap(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}
