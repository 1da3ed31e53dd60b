//! Request and response bodies: The caller's account and ledger.

use chrono::{DateTime, Utc};
use domain::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub id: i64,
    pub username: Option<String>,
    #[schema(example = "12.5")]
    pub available: String,
    pub held: String,
}

impl From<User> for MeResponse {
    fn from(u: User) -> Self {
        Self { id: u.id.0, username: u.username, available: amount(u.available), held: amount(u.held) }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntryDto {
    pub id: Uuid,
    /// The business operation: `deposit`, `buy`, `offer_refund`…
    pub operation: String,
    /// Signed: positive credits the account.
    pub amount: String,
    /// `available` or `held`.
    pub account: String,
    pub created_at: DateTime<Utc>,
    /// What the movement is about (NFT id, tx hash…).
    pub reference: String,
}

impl From<LedgerEntry> for LedgerEntryDto {
    fn from(e: LedgerEntry) -> Self {
        Self {
            id: e.id.0,
            operation: e.operation.as_str().into(),
            amount: signed(e.amount),
            account: e.account.as_str().into(),
            created_at: e.created_at,
            reference: e.reference,
        }
    }
}

crate::dto::page_dto!(LedgerPage of LedgerEntryDto);

/// Where and how to deposit: send TON to `address` with `memo` as the text comment.
#[derive(Serialize, ToSchema)]
pub struct DepositInstructions {
    /// The marketplace's deposit address.
    pub address: String,
    /// The caller's memo (the same every time): the comment that credits the transfer to them.
    #[schema(example = "k7qz3m9rxp")]
    pub memo: String,
}

/// One collection of the caller's holdings.
#[derive(Serialize, ToSchema)]
pub struct HoldingDto {
    pub collection: String,
    pub count: u64,
    /// The collection's floor; `null` when nothing of it is listed.
    pub floor: Option<String>,
    /// Its NFTs at floor (collection and model, else collection, else 0).
    pub value: String,
}

/// The caller's NFTs in custody, valued at floor.
#[derive(Serialize, ToSchema)]
pub struct PortfolioDto {
    pub count: u64,
    pub value: String,
    pub collections: Vec<HoldingDto>,
}

impl From<app::ports::reads::Portfolio> for PortfolioDto {
    fn from(p: app::ports::reads::Portfolio) -> Self {
        Self {
            count: p.count,
            value: crate::dto::amount(p.value),
            collections: p
                .collections
                .into_iter()
                .map(|h| HoldingDto {
                    collection: h.collection,
                    count: h.count,
                    floor: h.floor.map(crate::dto::amount),
                    value: crate::dto::amount(h.value),
                })
                .collect(),
        }
    }
}
