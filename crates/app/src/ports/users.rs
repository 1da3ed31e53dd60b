//! Users as they sign in: the one write outside a Unit of Work, since it is one atomic statement.

use async_trait::async_trait;
use domain::{RepoError, User, UserId};

/// Creates users on their first authenticated request.
#[async_trait]
pub trait UserSignup: Send + Sync {
    /// Creates the user on first sight (zero balances) or refreshes their username; returns the
    /// user as stored. Atomic on its own: two first requests of one user create it once.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the store cannot be reached; [`RepoError::InvalidData`]
    /// when the store refuses the username as data.
    async fn ensure_user(&self, id: UserId, username: Option<String>) -> Result<User, RepoError>;
}
