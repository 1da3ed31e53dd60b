//! Idempotency keys in use cases. A guarded use case claims its key first thing in its Unit of
//! Work, so the claim commits with the operation or rolls back with it: an operation that failed
//! frees its key; one that succeeded can never run twice. The response is stored after commit
//! ([`IdempotencyLog::save_response`]); until then a replay is told the key is in use.

use chrono::{DateTime, Utc};
pub use domain::idempotency::{IdempotencyKey, KeyClaim};
pub use domain::ports::IdempotencyRepo;

/// Why a guarded operation did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    #[error("a request with this Idempotency-Key is still in flight")]
    InUse,
    #[error("this Idempotency-Key was already used with a different request body")]
    Reused,
    /// The operation ran before: here is its response.
    #[error("replay of a completed request")]
    Replay { status: u16, body: Vec<u8> },
}

/// Claims `key` (if any) in the current Unit of Work; an error says why the operation must not
/// run (or that storage failed).
pub async fn claim(
    repo: &mut dyn IdempotencyRepo,
    key: Option<&IdempotencyKey>,
    now: DateTime<Utc>,
) -> Result<(), crate::Error> {
    let Some(key) = key else { return Ok(()) };
    let refused = match repo.claim(key, now).await? {
        KeyClaim::Claimed => return Ok(()),
        KeyClaim::InUse => IdempotencyError::InUse,
        KeyClaim::Reused => IdempotencyError::Reused,
        KeyClaim::Replay { status, body } => IdempotencyError::Replay { status, body },
    };
    Err(refused.into())
}
