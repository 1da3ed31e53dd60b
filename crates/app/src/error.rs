//! The one error every use case returns. Callers map it by [`ErrorKind`] and [`Error::code`]:
//! the HTTP layer does so in a single function, so a new use case or rule needs no new mapping.

pub use domain::ErrorKind;
use domain::{code, FieldError, NftId, RepoError, RuleViolation};

use crate::idempotency::IdempotencyError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The thing does not exist, or the caller may not learn that it does (someone else's
    /// private object). Carries what was looked for.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request's own values are out of bounds: each field at fault with its message (the
    /// one way bad input is reported, whichever layer finds it).
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// A business rule was broken; the variant says which and carries what a caller needs.
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    /// The request's `Idempotency-Key` says it must not run (in flight, reused, or done).
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    /// The store failed; transient conflicts are retried before they get here.
    #[error(transparent)]
    Storage(#[from] RepoError),
    /// An all-or-nothing sweep could not buy every item: what failed, with the code a buy would
    /// have given; nothing was bought.
    #[error("the sweep could not buy every item")]
    SweepFailed(Vec<(NftId, &'static str)>),
    /// An outside service the operation needs (Telegram…) cannot answer now.
    #[error("{0} is unavailable; try again later")]
    Dependency(&'static str),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::Rule(r) => r.kind(),
            Error::Idempotency(IdempotencyError::InUse) => ErrorKind::Conflict,
            Error::Idempotency(IdempotencyError::Reused) => ErrorKind::Invalid,
            Error::Idempotency(IdempotencyError::Replay { .. }) => ErrorKind::Conflict,
            Error::Storage(e) => e.kind(),
            Error::Dependency(_) => ErrorKind::Unavailable,
            Error::SweepFailed(_) => ErrorKind::Conflict,
        }
    }

    /// The stable snake_case code (the problem `code`, the rollback metric's reason).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => code::NOT_FOUND,
            Error::Invalid(_) => code::VALIDATION_FAILED,
            Error::Rule(r) => r.code(),
            Error::Idempotency(IdempotencyError::InUse) => code::IDEMPOTENCY_KEY_IN_USE,
            Error::Idempotency(IdempotencyError::Reused) => code::IDEMPOTENCY_KEY_REUSED,
            Error::Idempotency(IdempotencyError::Replay { .. }) => code::REPLAY,
            Error::Storage(e) if e.kind() == ErrorKind::Unavailable => code::UNAVAILABLE,
            Error::Storage(e) if e.kind() == ErrorKind::Invalid => code::VALIDATION_FAILED,
            Error::Storage(_) => code::INTERNAL,
            Error::Dependency(_) => code::UNAVAILABLE,
            Error::SweepFailed(_) => "sweep_failed",
        }
    }

    /// A transient database conflict: the whole Unit of Work may run again.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Storage(e) if e.is_transient())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_failure_has_its_kind_and_code() {
        let replay = IdempotencyError::Replay { status: 200, body: vec![] };
        let cases: Vec<(Error, ErrorKind, &str)> = vec![
            (Error::NotFound("NFT"), ErrorKind::NotFound, "not_found"),
            (Error::Invalid(vec![FieldError::new("price", "too low")]), ErrorKind::Invalid, "validation_failed"),
            (RuleViolation::NotOwner.into(), ErrorKind::Forbidden, RuleViolation::NotOwner.code()),
            (RuleViolation::OwnItem.into(), ErrorKind::Conflict, RuleViolation::OwnItem.code()),
            (IdempotencyError::InUse.into(), ErrorKind::Conflict, "idempotency_key_in_use"),
            (IdempotencyError::Reused.into(), ErrorKind::Invalid, "idempotency_key_reused"),
            (replay.into(), ErrorKind::Conflict, "replay"),
            (RepoError::Transient("x".into()).into(), ErrorKind::Unavailable, "unavailable"),
            (RepoError::Unavailable("x".into()).into(), ErrorKind::Unavailable, "unavailable"),
            (RepoError::InvalidData("x".into()).into(), ErrorKind::Invalid, "validation_failed"),
            (RepoError::Other("x".into()).into(), ErrorKind::Internal, "internal"),
            (Error::Dependency("Telegram"), ErrorKind::Unavailable, "unavailable"),
            (
                Error::SweepFailed(vec![(domain::NftId(uuid::Uuid::nil()), "not_for_sale")]),
                ErrorKind::Conflict,
                "sweep_failed",
            ),
        ];
        for (error, kind, code) in cases {
            assert_eq!((error.kind(), error.code()), (kind, code), "{error:?}");
        }
    }

    #[test]
    fn only_a_transient_storage_conflict_is_transient() {
        assert!(Error::from(RepoError::Transient("40001".into())).is_transient());
        assert!(!Error::from(RepoError::Unavailable("down".into())).is_transient());
        assert!(!Error::Dependency("Telegram").is_transient());
        assert!(!Error::NotFound("NFT").is_transient());
    }
}
