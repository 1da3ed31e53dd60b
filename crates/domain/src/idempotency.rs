//! Idempotency keys (IETF draft `Idempotency-Key`): a retried request runs once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::RepoError;

/// A key scoped to who sent it and where, with a hash of the request body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    /// `user:<id>` or `staff`.
    pub owner: String,
    /// The route, e.g. `POST /api/market/output`.
    pub route: String,
    pub key: String,
    /// Hex SHA-256 of the request body.
    pub request_hash: String,
}

/// What claiming a key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClaim {
    /// Ours: the operation runs, and the claim commits or rolls back with it.
    Claimed,
    /// Another request with this key has not finished (or its response is not stored yet).
    InUse,
    /// The key was used with a different body.
    Reused,
    /// Done before: this is the stored response.
    Replay { status: u16, body: Vec<u8> },
}

/// Keys claimed inside a Unit of Work.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait IdempotencyRepo: Send {
    /// Claims `key` in this Unit of Work.
    ///
    /// # Errors
    /// MUST NOT wait for another Unit of Work holding the same key: that is [`KeyClaim::InUse`].
    async fn claim(&mut self, key: &IdempotencyKey, now: DateTime<Utc>) -> Result<KeyClaim, RepoError>;
}
