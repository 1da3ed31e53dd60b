//! Idempotency keys (IETF draft `Idempotency-Key`): a retried request runs once.

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
