//! What waits for a person on the staff desk, counted for the operator console's overview.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use domain::*;

/// Work waiting for staff.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeskBacklog {
    /// Withdrawals `stuck`: payouts that ran out of attempts and need a person.
    pub stuck_withdrawals: u64,
    /// Incoming transfers no memo matched, not yet assigned to a user.
    pub unassigned_deposits: u64,
    /// Gifts the gift rail could not register, not yet assigned to a user.
    pub unassigned_gifts: u64,
    /// Outbox rows not yet delivered nor given up (the relay's backlog).
    pub outbox_backlog: u64,
    /// When the oldest of them was written (`None` when there are none).
    pub oldest_outbox_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait DeskReads: Send + Sync {
    /// The counts of work waiting for staff, as committed now.
    async fn desk_backlog(&self) -> Result<DeskBacklog, RepoError>;
}
