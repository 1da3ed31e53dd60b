//! The outbox: written in Units of Work, worked off by the relay (`FOR UPDATE SKIP LOCKED`).

use app::ports::{ClaimedMessage, OutboxQueue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::*;
use domain::*;
use sqlx::types::Json;
use sqlx::Row;
use uuid::Uuid;

use crate::error::map_err;
use crate::{PgStore, PgUow};

#[async_trait]
impl OutboxRepo for PgUow {
    /// Deferred: sent with the Unit of Work's next statement or commit.
    async fn enqueue(&mut self, message: &OutboxMessage) -> Result<(), RepoError> {
        self.defer().outbox(message)
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

    async fn delivered(&self, rows: &[(OutboxId, u32)], now: DateTime<Utc>) -> Result<(), RepoError> {
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<uuid::Uuid> = rows.iter().map(|(id, _)| id.0).collect();
        let attempts: Vec<i32> = rows.iter().map(|(_, a)| *a as i32).collect();
        sqlx::query(
            "UPDATE outbox SET delivered_at = $2, attempts = v.attempts, locked_until = NULL, last_error = NULL \
             FROM UNNEST($1::uuid[], $3::int4[]) AS v(id, attempts) WHERE outbox.id = v.id",
        )
        .bind(&ids)
        .bind(now)
        .bind(&attempts)
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

    async fn purge_delivered(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, RepoError> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE id IN \
             (SELECT id FROM outbox WHERE delivered_at < $1 ORDER BY delivered_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(self.pool())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn backlog(&self) -> Result<u64, RepoError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL")
            .fetch_one(self.pool())
            .await
            .map_err(map_err)?;
        Ok(n as u64)
    }
}
