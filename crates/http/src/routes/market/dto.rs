//! Request and response bodies: Market output: withdrawals.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    pub amount: Amount,
    /// Raw (`0:<64 hex>`, `-1:<64 hex>`) or user-friendly (48 characters, base64 or base64url,
    /// with a valid CRC16 checksum).
    #[schema(pattern = "^(-1|0):[0-9a-fA-F]{64}$|^[A-Za-z0-9+/_-]{48}$")]
    pub address: String,
}

#[derive(Serialize, ToSchema)]
pub struct WithdrawalDto {
    pub id: Uuid,
    pub amount: String,
    pub address: String,
    /// `pending`, `sent`, `failed` or `stuck`.
    pub status: String,
    pub tx_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Withdrawal> for WithdrawalDto {
    fn from(w: Withdrawal) -> Self {
        Self {
            id: w.id.0,
            amount: amount(w.amount),
            address: w.address,
            status: w.status.as_str().into(),
            tx_hash: w.tx_hash,
            created_at: w.created_at,
        }
    }
}

crate::dto::page_dto!(WithdrawalPage of WithdrawalDto);
