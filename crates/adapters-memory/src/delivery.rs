//! Idempotency keys and the outbox queue on the in-memory store.

use app::idempotency::IdempotencyLog;
use app::relay::{ClaimedMessage, OutboxQueue};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::idempotency::*;
use domain::*;

use crate::{KeyRow, MemoryStore, MemoryUow};

fn key_of(k: &IdempotencyKey) -> (String, String, String) {
    (k.owner.clone(), k.route.clone(), k.key.clone())
}

#[async_trait]
impl IdempotencyRepo for MemoryUow {
    /// Units of Work run one at a time here, so a concurrent request with the same key sees this
    /// row only once this one committed: with no response yet it is `InUse`, after that a replay.
    async fn claim(&mut self, k: &IdempotencyKey, now: DateTime<Utc>) -> Result<KeyClaim, RepoError> {
        if let Some(row) = self.state.idempotency.get(&key_of(k)) {
            return Ok(match (row.request_hash == k.request_hash, &row.response) {
                (false, _) => KeyClaim::Reused,
                (true, None) => KeyClaim::InUse,
                (true, Some((status, body))) => KeyClaim::Replay { status: *status, body: body.clone() },
            });
        }
        let row = KeyRow { request_hash: k.request_hash.clone(), response: None, created_at: now };
        self.state.idempotency.insert(key_of(k), row);
        Ok(KeyClaim::Claimed)
    }
}

#[async_trait]
impl IdempotencyLog for MemoryStore {
    async fn save_response(&self, k: &IdempotencyKey, status: u16, body: &[u8]) -> Result<(), RepoError> {
        let mut uow = self.begin().await;
        if let Some(row) = uow.state.idempotency.get_mut(&key_of(k)) {
            row.response = Some((status, body.to_vec()));
        }
        uow.commit();
        Ok(())
    }

    async fn reap(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let mut uow = self.begin().await;
        let old: Vec<_> =
            uow.state.idempotency.iter().filter(|(_, r)| r.created_at < before).map(|(k, _)| k.clone()).collect();
        for k in &old {
            uow.state.idempotency.remove(k);
        }
        uow.commit();
        Ok(old.len() as u64)
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
        let mut uow = self.begin().await;
        let mut due: Vec<_> = uow
            .state
            .outbox
            .values()
            .filter(|r| !r.done && r.next_attempt_at <= now && r.locked_until.is_none_or(|l| l <= now))
            .map(|r| (r.next_attempt_at, r.message.id))
            .collect();
        due.sort();
        let mut claimed = Vec::new();
        for (_, id) in due.into_iter().take(limit as usize) {
            let row = uow.state.outbox.get_mut(&id.0).expect("listed just now");
            row.locked_until = Some(lease_until);
            claimed.push(ClaimedMessage { message: row.message.clone(), attempts: row.attempts });
        }
        uow.commit();
        Ok(claimed)
    }

    async fn delivered(&self, id: OutboxId, attempts: u32, _now: DateTime<Utc>) -> Result<(), RepoError> {
        self.update_row(id, |r| {
            r.attempts = attempts;
            r.done = true;
        })
        .await
    }

    async fn retry_at(&self, id: OutboxId, attempts: u32, at: DateTime<Utc>, _error: &str) -> Result<(), RepoError> {
        self.update_row(id, |r| {
            r.attempts = attempts;
            r.next_attempt_at = at;
            r.locked_until = None;
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

    async fn backlog(&self) -> Result<u64, RepoError> {
        Ok(self.snapshot().outbox.values().filter(|r| !r.done).count() as u64)
    }
}

impl MemoryStore {
    async fn update_row(&self, id: OutboxId, f: impl FnOnce(&mut crate::OutboxRow)) -> Result<(), RepoError> {
        let mut uow = self.begin().await;
        if let Some(row) = uow.state.outbox.get_mut(&id.0) {
            f(row);
            row.locked_until = None;
        }
        uow.commit();
        Ok(())
    }
}
