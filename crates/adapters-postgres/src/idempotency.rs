//! Idempotency keys: claimed in a Unit of Work by inserting them, responses stored after commit.

use app::ports::IdempotencyLog;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::idempotency::*;
use domain::ports::IdempotencyRepo;
use domain::*;
use sqlx::Row;

use crate::error::map_err;
use crate::{PgStore, PgUow};

#[async_trait]
impl IdempotencyRepo for PgUow {
    /// One statement on the usual path: the insert claims the key. The unique key makes a
    /// concurrent insert of the same key wait for the first transaction to end (bounded by
    /// `lock_timeout`): committed, the key conflicts and the stored row decides (`InUse` until its
    /// response is saved, then `Replay`); rolled back, the waiter claims the key and runs. So a
    /// retry right after a refused request runs, even while that request's rollback is still
    /// being flushed by the pool — a try-lock here once answered `InUse` for it.
    async fn claim(&mut self, k: &IdempotencyKey, now: DateTime<Utc>) -> Result<KeyClaim, RepoError> {
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (owner, route, key, request_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&k.owner)
        .bind(&k.route)
        .bind(&k.key)
        .bind(&k.request_hash)
        .bind(now)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        if claimed.rows_affected() == 1 {
            return Ok(KeyClaim::Claimed);
        }
        // A new statement: its snapshot sees the row the insert conflicted with.
        let row = sqlx::query(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE owner = $1 AND route = $2 AND key = $3",
        )
        .bind(&k.owner)
        .bind(&k.route)
        .bind(&k.key)
        .fetch_optional(self.conn().await?)
        .await
        .map_err(self.fail())?;
        // Reaped between the two statements: as good as in use; the client retries.
        let Some(row) = row else { return Ok(KeyClaim::InUse) };
        let hash: String = row.get("request_hash");
        let status: Option<i32> = row.get("response_status");
        let body: Option<Vec<u8>> = row.get("response_body");
        Ok(match (hash == k.request_hash, status) {
            (false, _) => KeyClaim::Reused,
            (true, None) => KeyClaim::InUse,
            (true, Some(s)) => KeyClaim::Replay { status: s as u16, body: body.unwrap_or_default() },
        })
    }
}

#[async_trait]
impl IdempotencyLog for PgStore {
    async fn save_response(&self, k: &IdempotencyKey, status: u16, body: &[u8]) -> Result<(), RepoError> {
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = $4, response_body = $5 WHERE owner = $1 AND route = $2 AND key = $3",
        )
        .bind(&k.owner)
        .bind(&k.route)
        .bind(&k.key)
        .bind(i32::from(status))
        .bind(body)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn reap(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
