//! The operator console's signed-in sessions (SPEC §8, ADR 018), kept by the store so that every
//! instance behind a balancer knows them and a restart keeps them. Outside Units of Work.
//!
//! A session is known by the SHA-256 digest of its id: the id (the cookie's value) is never given
//! to the store, so reading the store does not sign anyone in.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;

/// How many expired sessions [`ConsoleSessions::open`] forgets at most, so a sign-in stays cheap.
pub const SESSIONS_REAPED_PER_OPEN: u32 = 64;

/// A message for the next page a session shows: the outcome of an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

/// A live session as the console reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffSession {
    /// Who signed in: the staff token's audit label.
    pub actor: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The flash message, when it was taken (see [`ConsoleSessions::find`]).
    pub flash: Option<Flash>,
}

/// The console's sessions, by the digest of their id.
#[async_trait]
pub trait ConsoleSessions: Send + Sync {
    /// Opens a session for `actor` with CSRF token `csrf`, live until `expires_at`, and forgets
    /// up to [`SESSIONS_REAPED_PER_OPEN`] sessions expired at `now`.
    ///
    /// # Errors
    /// `digest` is that of a fresh random id: a digest already stored MUST NOT be replaced (a
    /// store error, [`RepoError::Other`]). Otherwise only the store's own errors.
    async fn open(
        &self,
        digest: [u8; 32],
        actor: &str,
        csrf: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError>;

    /// The session `digest` if it is live at `now` (`expires_at > now`); an expired, closed or
    /// unknown one is `None`. With `take_flash` its flash message is handed over and forgotten,
    /// so it is shown once (also when two requests take it at once); without, `flash` is `None`
    /// and the message stays.
    ///
    /// # Errors
    /// Only the store's own.
    async fn find(
        &self,
        digest: [u8; 32],
        now: DateTime<Utc>,
        take_flash: bool,
    ) -> Result<Option<StaffSession>, RepoError>;

    /// Ends the session `digest`; nothing happens if there is none.
    ///
    /// # Errors
    /// Only the store's own.
    async fn close(&self, digest: [u8; 32]) -> Result<(), RepoError>;

    /// Leaves a flash message for the next page session `digest` shows (replacing one not yet
    /// shown); nothing happens if there is no such session.
    ///
    /// # Errors
    /// Only the store's own.
    async fn set_flash(&self, digest: [u8; 32], ok: bool, text: &str) -> Result<(), RepoError>;
}
