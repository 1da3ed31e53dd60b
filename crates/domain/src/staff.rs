//! The audit trail of staff interventions.

use chrono::{DateTime, Utc};

use crate::ids::*;

/// What a member of staff did by hand, kept for good (the audit trail of manual interventions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffAction {
    pub id: StaffActionId,
    /// Who: `staff:<fingerprint of the token>`.
    pub actor: String,
    /// What, e.g. `resolve_withdrawal`.
    pub action: String,
    /// On what: the id of the object acted on.
    pub subject: String,
    /// How, in a line: the outcome and what backs it (a transaction hash…).
    pub detail: String,
    pub created_at: DateTime<Utc>,
}
