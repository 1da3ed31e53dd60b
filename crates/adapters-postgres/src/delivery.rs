//! Idempotency keys and the outbox queue the relay works from.

use app::idempotency::IdempotencyLog;
use app::relay::{ClaimedMessage, OutboxQueue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::idempotency::*;
use domain::*;
use sqlx::types::Json;
use sqlx::Row;
use uuid::Uuid;

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
            .fetch_one(&mut *self.tx)
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
        .fetch_optional(&mut *self.tx)
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
        .execute(&mut *self.tx)
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

#[async_trait]
impl OutboxQueue for PgStore {
    /// One statement: the due rows are locked `FOR UPDATE SKIP LOCKED` (rows another relay is
    /// claiming right now are skipped) and leased; the transaction ends before any delivery.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<ClaimedMessage>, RepoError> {
        let rows = sqlx::query(
            "UPDATE outbox SET locked_until = $2 WHERE id IN ( \
                SELECT id FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
                AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, payload, created_at, attempts",
        )
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let Json(payload): Json<OutboxPayload> =
                    r.try_get("payload").map_err(|e| RepoError::Other(format!("bad outbox payload: {e}")))?;
                let attempts: i32 = r.get("attempts");
                Ok(ClaimedMessage {
                    message: OutboxMessage {
                        id: OutboxId(r.get::<Uuid, _>("id")),
                        payload,
                        created_at: r.get("created_at"),
                    },
                    attempts: attempts as u32,
                })
            })
            .collect()
    }

    async fn delivered(&self, id: OutboxId, attempts: u32, now: DateTime<Utc>) -> Result<(), RepoError> {
        sqlx::query(
            "UPDATE outbox SET delivered_at = $2, attempts = $3, locked_until = NULL, last_error = NULL WHERE id = $1",
        )
        .bind(id.0)
        .bind(now)
        .bind(attempts as i32)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn retry_at(&self, id: OutboxId, attempts: u32, at: DateTime<Utc>, error: &str) -> Result<(), RepoError> {
        sqlx::query(
            "UPDATE outbox SET attempts = $2, next_attempt_at = $3, last_error = $4, locked_until = NULL WHERE id = $1",
        )
        .bind(id.0)
        .bind(attempts as i32)
        .bind(at)
        .bind(error)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn give_up(&self, id: OutboxId, attempts: u32, error: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
        sqlx::query(
            "UPDATE outbox SET attempts = $2, failed_at = $3, last_error = $4, locked_until = NULL WHERE id = $1",
        )
        .bind(id.0)
        .bind(attempts as i32)
        .bind(now)
        .bind(error)
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn backlog(&self) -> Result<u64, RepoError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL")
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        Ok(n as u64)
    }
}
