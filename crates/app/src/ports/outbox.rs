//! The outbox as the relay sees it: claimed, delivered, retried, given up, purged — outside any
//! Unit of Work (the rows were written by the Units of Work that caused them).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{OutboxId, OutboxMessage, RepoError};

/// A claimed outbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedMessage {
    pub message: OutboxMessage,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// The outbox as the relay sees it.
#[async_trait]
pub trait OutboxQueue: Send + Sync {
    /// Claims up to `limit` due rows until `lease_until`; others skip them meanwhile.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<ClaimedMessage>, RepoError>;
    /// Marks rows delivered, each with its attempts so far, in one write.
    async fn delivered(&self, rows: &[(OutboxId, u32)], now: DateTime<Utc>) -> Result<(), RepoError>;
    /// Schedules a claimed row's next attempt at `at`, recording its attempts and last error.
    async fn retry_at(&self, id: OutboxId, attempts: u32, at: DateTime<Utc>, error: &str) -> Result<(), RepoError>;
    /// Stops delivering a claimed row (kept, marked failed, for a person to look at).
    async fn give_up(&self, id: OutboxId, attempts: u32, error: &str, now: DateTime<Utc>) -> Result<(), RepoError>;
    /// Rows not yet delivered nor given up.
    async fn backlog(&self) -> Result<u64, RepoError>;
    /// Forgets up to `limit` rows delivered before `before`; returns how many. Rows given up on
    /// are kept for a person to look at.
    async fn purge_delivered(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, RepoError>;
}
