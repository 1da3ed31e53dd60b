//! Request and response bodies: Staff: deposits, custody, audit.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    pub user_id: i64,
    #[schema(value_type = String, example = "100")]
    pub amount: Amount,
    pub tx_hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct DepositDto {
    pub id: Uuid,
    pub user_id: i64,
    pub amount: String,
    pub tx_hash: String,
    pub created_at: DateTime<Utc>,
}

impl From<Deposit> for DepositDto {
    fn from(d: Deposit) -> Self {
        Self {
            id: d.id.0,
            user_id: d.user_id.0,
            amount: amount(d.amount),
            tx_hash: d.tx_hash,
            created_at: d.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterNftRequest {
    pub owner_id: i64,
    pub gift_id: String,
    pub title: String,
    pub collection: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditViolation {
    pub invariant: String,
    pub detail: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditReport {
    pub ok: bool,
    pub violations: Vec<AuditViolation>,
}

/// How a stuck withdrawal ended, as staff established it.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResolveWithdrawalRequest {
    /// It was paid: the transaction hash that proves it.
    Sent { tx_hash: String },
    /// It was not paid: the funds go back to the user.
    Failed {},
}
