//! SQLSTATEs and constraint names → domain errors.

use domain::RepoError;

/// Translates a driver error. Transient conflicts (serialization failure 40001, deadlock 40P01,
/// lock timeout 55P03) become [`RepoError::Transient`] so the Unit of Work is retried whole.
pub fn map_err(e: sqlx::Error) -> RepoError {
    match &e {
        sqlx::Error::Database(db) => {
            let constraint = db.constraint().unwrap_or_default().to_string();
            match db.code().as_deref() {
                Some("23505") => RepoError::Duplicate(constraint),
                Some("23503") => RepoError::MissingReference(constraint),
                Some("23514") => RepoError::Constraint(constraint),
                Some("40001") | Some("40P01") | Some("55P03") => RepoError::Transient(db.message().to_string()),
                // Data exceptions (an invalid byte, a value out of range…): refused input.
                Some(code) if code.starts_with("22") => RepoError::InvalidData(db.message().to_string()),
                Some(code) if code.starts_with("08") || code.starts_with("57P") => {
                    RepoError::Unavailable(db.message().to_string())
                }
                _ => RepoError::Other(e.to_string()),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            RepoError::Unavailable(e.to_string())
        }
        sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => RepoError::Unavailable(e.to_string()),
        _ => RepoError::Other(e.to_string()),
    }
}
