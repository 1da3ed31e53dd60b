//! Idempotency keys: claimed in a Unit of Work, their responses stored after commit.

use app::ports::IdempotencyLog;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::idempotency::*;
use domain::ports::IdempotencyRepo;
use domain::*;

use crate::{MemoryStore, MemoryUow};

/// A claimed idempotency key and, once stored, its response.
#[derive(Clone, Debug)]
pub(crate) struct KeyRow {
    pub request_hash: String,
    pub response: Option<(u16, Vec<u8>)>,
    pub created_at: DateTime<Utc>,
}

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
        self.write("save_idempotent_response", |s| {
            if let Some(row) = s.idempotency.get_mut(&key_of(k)) {
                row.response = Some((status, body.to_vec()));
            }
        })
        .await;
        Ok(())
    }

    async fn reap(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let reaped = self
            .write("reap_idempotency_keys", |s| {
                let old: Vec<_> =
                    s.idempotency.iter().filter(|(_, r)| r.created_at < before).map(|(k, _)| k.clone()).collect();
                for k in &old {
                    s.idempotency.remove(k);
                }
                old.len()
            })
            .await;
        Ok(reaped as u64)
    }
}
