//! Idempotency keys: claimed in a Unit of Work under an advisory lock, responses stored after commit.

use app::idempotency::IdempotencyLog;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::idempotency::*;
use domain::*;
use sqlx::Row;

use crate::error::map_err;
use crate::{PgStore, PgUow};

#[async_trait]
impl IdempotencyRepo for PgUow {
    /// A transaction-scoped advisory lock on the key makes a concurrent request with the same key
    /// answer `InUse` at once instead of waiting; the row itself commits with the operation.
    async fn claim(&mut self, k: &IdempotencyKey, now: DateTime<Utc>) -> Result<KeyClaim, RepoError> {
        let lock_name = format!("{}\u{1f}{}\u{1f}{}", k.owner, k.route, k.key);
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(&lock_name)
            .fetch_one(self.conn())
            .await
            .map_err(map_err)?;
        if !got {
            return Ok(KeyClaim::InUse);
        }
        let existing = sqlx::query(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE owner = $1 AND route = $2 AND key = $3",
        )
        .bind(&k.owner)
        .bind(&k.route)
        .bind(&k.key)
        .fetch_optional(self.conn())
        .await
        .map_err(map_err)?;
        if let Some(row) = existing {
            let hash: String = row.get("request_hash");
            let status: Option<i32> = row.get("response_status");
            let body: Option<Vec<u8>> = row.get("response_body");
            return Ok(match (hash == k.request_hash, status) {
                (false, _) => KeyClaim::Reused,
                (true, None) => KeyClaim::InUse,
                (true, Some(s)) => KeyClaim::Replay { status: s as u16, body: body.unwrap_or_default() },
            });
        }
        sqlx::query(
            "INSERT INTO idempotency_keys (owner, route, key, request_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&k.owner)
        .bind(&k.route)
        .bind(&k.key)
        .bind(&k.request_hash)
        .bind(now)
        .execute(self.conn())
        .await
        .map_err(map_err)?;
        Ok(KeyClaim::Claimed)
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
