//! The operator console's sessions, by the digest of their id: beside the committed state rather
//! than in it (no Unit of Work touches them, and a page load need not wait for the writer slot).
//! Shared by every clone of the store; gone with the process.

use std::collections::HashMap;

use app::ports::{ConsoleSessions, Flash, StaffSession, SESSIONS_REAPED_PER_OPEN};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;

use crate::MemoryStore;

/// A stored session.
#[derive(Debug)]
pub(crate) struct SessionRow {
    actor: String,
    csrf: String,
    expires_at: DateTime<Utc>,
    flash: Option<Flash>,
}

/// The sessions, by digest.
pub(crate) type SessionRows = std::sync::Mutex<HashMap<[u8; 32], SessionRow>>;

impl MemoryStore {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], SessionRow>> {
        self.shared.console_sessions.lock().expect("console sessions poisoned")
    }
}

#[async_trait]
impl ConsoleSessions for MemoryStore {
    async fn open(
        &self,
        digest: [u8; 32],
        actor: &str,
        csrf: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let mut all = self.sessions();
        let expired: Vec<[u8; 32]> = all
            .iter()
            .filter(|(_, s)| s.expires_at <= now)
            .map(|(d, _)| *d)
            .take(SESSIONS_REAPED_PER_OPEN as usize)
            .collect();
        for d in &expired {
            all.remove(d);
        }
        if all.contains_key(&digest) {
            return Err(RepoError::Other("a console session with this digest is already open".into()));
        }
        let row = SessionRow { actor: actor.to_string(), csrf: csrf.to_string(), expires_at, flash: None };
        all.insert(digest, row);
        Ok(())
    }

    async fn find(
        &self,
        digest: [u8; 32],
        now: DateTime<Utc>,
        take_flash: bool,
    ) -> Result<Option<StaffSession>, RepoError> {
        let mut all = self.sessions();
        let Some(session) = all.get_mut(&digest) else { return Ok(None) };
        if session.expires_at <= now {
            all.remove(&digest);
            return Ok(None);
        }
        let flash = if take_flash { session.flash.take() } else { None };
        Ok(Some(StaffSession { actor: session.actor.clone(), csrf: session.csrf.clone(), flash }))
    }

    async fn close(&self, digest: [u8; 32]) -> Result<(), RepoError> {
        self.sessions().remove(&digest);
        Ok(())
    }

    async fn set_flash(&self, digest: [u8; 32], ok: bool, text: &str) -> Result<(), RepoError> {
        if let Some(s) = self.sessions().get_mut(&digest) {
            s.flash = Some(Flash { ok, text: text.to_string() });
        }
        Ok(())
    }
}
