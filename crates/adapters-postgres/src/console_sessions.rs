//! The operator console's sessions in `console_sessions`, by the SHA-256 digest of their id:
//! every instance reads the same rows, and a restart keeps them.

use app::ports::{ConsoleSessions, Flash, StaffSession, SESSIONS_REAPED_PER_OPEN};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;
use sqlx::Row;

use crate::error::map_err;
use crate::PgStore;

#[async_trait]
impl ConsoleSessions for PgStore {
    /// One statement: the insert, and a bounded delete of sessions already expired (over
    /// `console_sessions_expires_idx`; rows another sign-in is deleting are skipped). A digest
    /// already stored violates the primary key: [`RepoError::Other`].
    async fn open(
        &self,
        digest: [u8; 32],
        actor: &str,
        csrf: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        sqlx::query(
            "WITH reaped AS (DELETE FROM console_sessions WHERE digest IN \
               (SELECT digest FROM console_sessions WHERE expires_at <= $5 ORDER BY expires_at LIMIT $6 \
                FOR UPDATE SKIP LOCKED)) \
             INSERT INTO console_sessions (digest, actor, csrf, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&digest[..])
        .bind(actor)
        .bind(csrf)
        .bind(expires_at)
        .bind(now)
        .bind(i64::from(SESSIONS_REAPED_PER_OPEN))
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// One read; a page that has a flash to take, one update more. The update takes the message
    /// only if it is still there once the row is locked, so two pages at once show it once.
    async fn find(
        &self,
        digest: [u8; 32],
        now: DateTime<Utc>,
        take_flash: bool,
    ) -> Result<Option<StaffSession>, RepoError> {
        let row = sqlx::query(
            "SELECT actor, csrf, flash_text IS NOT NULL AS flashed FROM console_sessions \
             WHERE digest = $1 AND expires_at > $2",
        )
        .bind(&digest[..])
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let mut session = StaffSession { actor: row.get("actor"), csrf: row.get("csrf"), flash: None };
        if take_flash && row.get::<bool, _>("flashed") {
            let taken = sqlx::query(
                "UPDATE console_sessions s SET flash_ok = NULL, flash_text = NULL \
                 FROM (SELECT digest, flash_ok, flash_text FROM console_sessions \
                       WHERE digest = $1 AND flash_text IS NOT NULL FOR UPDATE) taken \
                 WHERE s.digest = taken.digest \
                 RETURNING taken.flash_ok, taken.flash_text",
            )
            .bind(&digest[..])
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
            session.flash = taken.map(|t| Flash { ok: t.get("flash_ok"), text: t.get("flash_text") });
        }
        Ok(Some(session))
    }

    async fn close(&self, digest: [u8; 32]) -> Result<(), RepoError> {
        sqlx::query("DELETE FROM console_sessions WHERE digest = $1")
            .bind(&digest[..])
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn set_flash(&self, digest: [u8; 32], ok: bool, text: &str) -> Result<(), RepoError> {
        sqlx::query("UPDATE console_sessions SET flash_ok = $2, flash_text = $3 WHERE digest = $1")
            .bind(&digest[..])
            .bind(ok)
            .bind(text)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
