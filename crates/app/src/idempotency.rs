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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::now;
    use domain::ports::MockIdempotencyRepo;
    use domain::RepoError;

    fn key() -> IdempotencyKey {
        IdempotencyKey { owner: "user:1".into(), route: "POST /x".into(), key: "k".into(), request_hash: "h".into() }
    }

    async fn claimed(answer: Result<KeyClaim, RepoError>) -> Result<(), crate::Error> {
        let mut repo = MockIdempotencyRepo::new();
        repo.expect_claim().withf(|k, at| *k == key() && *at == now()).times(1).return_once(move |_, _| answer);
        claim(&mut repo, Some(&key()), now()).await
    }

    #[tokio::test]
    async fn without_a_key_nothing_is_claimed() {
        assert_eq!(claim(&mut MockIdempotencyRepo::new(), None, now()).await, Ok(()));
    }

    #[tokio::test]
    async fn a_claimed_key_lets_the_operation_run() {
        assert_eq!(claimed(Ok(KeyClaim::Claimed)).await, Ok(()));
    }

    #[tokio::test]
    async fn a_key_in_use_reused_or_done_stops_the_operation_and_says_why() {
        assert_eq!(claimed(Ok(KeyClaim::InUse)).await, Err(IdempotencyError::InUse.into()));
        assert_eq!(claimed(Ok(KeyClaim::Reused)).await, Err(IdempotencyError::Reused.into()));
        assert_eq!(
            claimed(Ok(KeyClaim::Replay { status: 201, body: b"{}".to_vec() })).await,
            Err(IdempotencyError::Replay { status: 201, body: b"{}".to_vec() }.into())
        );
    }

    #[tokio::test]
    async fn a_storage_failure_is_returned() {
        assert_eq!(
            claimed(Err(RepoError::Unavailable("down".into()))).await,
            Err(RepoError::Unavailable("down".into()).into())
        );
    }
}
