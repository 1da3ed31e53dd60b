//! Users and their balances; their ledger as they read it.

use app::ports::reads::*;
use app::ports::UserSignup;
use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::error::map_err;
use crate::rows::{bad, money};
use crate::{PgStore, PgUow};

#[async_trait]
impl AccountRepo for PgUow {
    async fn get(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        let row = sqlx::query("SELECT id, username, available, held FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(self.fail())?;
        row.as_ref().map(user_row).transpose()
    }

    async fn lock(&mut self, ids: &[UserId]) -> Result<Vec<User>, RepoError> {
        let ids: Vec<i64> = ids.iter().map(|u| u.0).collect();
        // ORDER BY under FOR UPDATE locks the rows in id order: the global order.
        let found =
            sqlx::query("SELECT id, username, available, held FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE")
                .bind(&ids)
                .fetch_all(self.conn().await?)
                .await
                .map_err(self.fail())?;
        found.iter().map(user_row).collect()
    }

    async fn ensure_locked(&mut self, id: UserId, username: Option<String>) -> Result<User, RepoError> {
        let row = sqlx::query(
            "INSERT INTO users (id, username) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET username = COALESCE(EXCLUDED.username, users.username) \
             RETURNING id, username, available, held",
        )
        .bind(id.0)
        .bind(username)
        .fetch_one(self.conn().await?)
        .await
        .map_err(self.fail())?;
        user_row(&row)
    }

    /// Deferred: sent with the Unit of Work's next statement or commit.
    async fn save(&mut self, user: &User) -> Result<(), RepoError> {
        self.defer().user(user);
        Ok(())
    }
}

#[async_trait]
impl UserSignup for PgStore {
    /// Reads first: a known user with the same username costs one `SELECT` and writes nothing.
    async fn ensure_user(&self, id: UserId, username: Option<String>) -> Result<User, RepoError> {
        if let Some(user) = self.user(id).await? {
            if username.is_none() || user.username == username {
                return Ok(user);
            }
        }
        let row = sqlx::query(
            "INSERT INTO users (id, username) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET username = COALESCE(EXCLUDED.username, users.username) \
             RETURNING id, username, available, held",
        )
        .bind(id.0)
        .bind(&username)
        .fetch_one(self.pool())
        .await
        .map_err(map_err)?;
        user_row(&row)
    }
}

#[async_trait]
impl UserReads for PgStore {
    async fn user(&self, id: UserId) -> Result<Option<User>, RepoError> {
        let row = sqlx::query("SELECT id, username, available, held FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_row).transpose()
    }

    async fn ledger(&self, user: UserId, page: PageRequest) -> Result<Page<LedgerEntry>, RepoError> {
        self.page(
sqlx::query(
            "SELECT id, operation_id, operation, user_id, account, amount, reference, created_at FROM ledger_entries \
             WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(user.0)
        .bind(page.after)
        .bind(i64::from(page.limit) + 1),
            page.limit, crate::ledger::ledger_entry_row, |e| e.id.0).await
    }
}

pub(crate) fn user_row(r: &PgRow) -> Result<User, RepoError> {
    user_at(r, 0)
}

/// The user in the columns `id, username, available, held` starting at column `at`.
pub(crate) fn user_at(r: &PgRow, at: usize) -> Result<User, RepoError> {
    let e = |e| bad("user", e);
    Ok(User {
        id: UserId(r.try_get(at).map_err(e)?),
        username: r.try_get(at + 1).map_err(e)?,
        available: money(r.try_get(at + 2).map_err(e)?)?,
        held: money(r.try_get(at + 3).map_err(e)?)?,
    })
}
