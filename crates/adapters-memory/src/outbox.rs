//! The outbox: written in Units of Work, worked off by the relay.

use app::ports::{ClaimedMessage, OutboxQueue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::OutboxRepo;
use domain::*;

use crate::{MemoryStore, MemoryUow};

/// An outbox message with its delivery state.
#[derive(Clone, Debug)]
pub(crate) struct OutboxRow {
    pub message: OutboxMessage,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub done: bool,
    /// When it was delivered (`None` until then, and for rows given up on).
    pub delivered_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl OutboxRepo for MemoryUow {
    async fn enqueue(&mut self, message: &OutboxMessage) -> Result<(), RepoError> {
        let row = OutboxRow {
            message: message.clone(),
            attempts: 0,
            next_attempt_at: message.created_at,
            locked_until: None,
            done: false,
            delivered_at: None,
        };
        self.state.outbox.insert(message.id.0, row);
        Ok(())
    }
}

#[async_trait]
impl OutboxQueue for MemoryStore {
    async fn claim(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<ClaimedMessage>, RepoError> {
        let claimed = self
            .write("claim_outbox", |s| {
                let mut due: Vec<_> = s
                    .outbox
                    .values()
                    .filter(|r| !r.done && r.next_attempt_at <= now && r.locked_until.is_none_or(|l| l <= now))
                    .map(|r| (r.next_attempt_at, r.message.id))
                    .collect();
                due.sort();
                let mut claimed = Vec::new();
                for (_, id) in due.into_iter().take(limit as usize) {
                    let row = s.outbox.get_mut(&id.0).expect("listed just now");
                    row.locked_until = Some(lease_until);
                    claimed.push(ClaimedMessage { message: row.message.clone(), attempts: row.attempts });
                }
                claimed
            })
            .await;
        Ok(claimed)
    }

    async fn delivered(&self, rows: &[(OutboxId, u32)], now: DateTime<Utc>) -> Result<(), RepoError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write("relay_outcome", |s| {
            for (id, attempts) in rows {
                if let Some(r) = s.outbox.get_mut(&id.0) {
                    r.attempts = *attempts;
                    r.done = true;
                    r.delivered_at = Some(now);
                    r.locked_until = None;
                }
            }
        })
        .await;
        Ok(())
    }

    async fn retry_at(&self, id: OutboxId, attempts: u32, at: DateTime<Utc>, _error: &str) -> Result<(), RepoError> {
        self.update_row(id, |r| {
            r.attempts = attempts;
            r.next_attempt_at = at;
        })
        .await
    }

    async fn give_up(&self, id: OutboxId, attempts: u32, _error: &str, _now: DateTime<Utc>) -> Result<(), RepoError> {
        self.update_row(id, |r| {
            r.attempts = attempts;
            r.done = true;
        })
        .await
    }

    async fn purge_delivered(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, RepoError> {
        let purged = self
            .write("purge_outbox", |s| {
                let old: Vec<_> = s
                    .outbox
                    .values()
                    .filter(|r| r.delivered_at.is_some_and(|at| at < before))
                    .take(limit as usize)
                    .map(|r| r.message.id.0)
                    .collect();
                for id in &old {
                    s.outbox.remove(id);
                }
                old.len() as u64
            })
            .await;
        Ok(purged)
    }

    async fn backlog(&self) -> Result<u64, RepoError> {
        Ok(self.snapshot().outbox.values().filter(|r| !r.done).count() as u64)
    }
}

impl MemoryStore {
    async fn update_row(&self, id: OutboxId, f: impl FnOnce(&mut OutboxRow)) -> Result<(), RepoError> {
        self.write("relay_outcome", |s| {
            if let Some(row) = s.outbox.get_mut(&id.0) {
                f(row);
                row.locked_until = None;
            }
        })
        .await;
        Ok(())
    }
}
