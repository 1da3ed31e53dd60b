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
    #[schema(minimum = 1)]
    pub user_id: i64,
    pub amount: Amount,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub tx_hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct DepositDto {
    pub id: Uuid,
    #[schema(minimum = 1)]
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
    #[schema(minimum = 1)]
    pub owner_id: i64,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub gift_id: String,
    /// Default: "{collection} #{number}", or the collection without a number.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub title: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub collection: String,
    /// The gift's number in its collection.
    #[schema(minimum = 1)]
    pub number: Option<u32>,
    pub model: Option<AttributeRequest>,
    pub backdrop: Option<AttributeRequest>,
    pub symbol: Option<AttributeRequest>,
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
    Sent {
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        tx_hash: String,
    },
    /// It was not paid: the funds go back to the user.
    Failed {},
}

/// An incoming transfer no memo matched.
#[derive(Serialize, ToSchema)]
pub struct UnmatchedDepositDto {
    pub id: Uuid,
    pub tx_hash: String,
    /// The sending account.
    pub sender: String,
    pub amount: String,
    /// The transfer's text comment, if any.
    pub comment: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Whom staff credited it to, and when.
    pub assigned_to: Option<i64>,
    pub assigned_at: Option<DateTime<Utc>>,
}

impl From<UnmatchedDeposit> for UnmatchedDepositDto {
    fn from(u: UnmatchedDeposit) -> Self {
        Self {
            id: u.id.0,
            tx_hash: u.tx_hash,
            sender: u.sender,
            amount: amount(u.amount),
            comment: u.comment,
            received_at: u.received_at,
            assigned_to: u.assigned_to.map(|u| u.0),
            assigned_at: u.assigned_at,
        }
    }
}

crate::dto::page_dto!(UnmatchedDepositPage of UnmatchedDepositDto);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignDepositRequest {
    /// Whom to credit it to.
    #[schema(minimum = 1)]
    pub user_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AssignedDepositDto {
    pub unmatched: UnmatchedDepositDto,
    pub deposit: DepositDto,
}

/// A model, backdrop or symbol: its name and how many gifts of the collection per thousand carry it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeRequest {
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    #[schema(minimum = 0, maximum = 1000)]
    pub rarity_per_mille: i64,
}

/// A gift on the business account no NFT stands for, kept for staff.
#[derive(Serialize, ToSchema)]
pub struct UnmatchedGiftDto {
    pub id: Uuid,
    /// The gift's slug (`t.me/nft/<gift_id>`).
    pub gift_id: String,
    pub collection: String,
    #[schema(minimum = 1)]
    pub number: Option<u32>,
    pub model: Option<crate::routes::nfts::dto::AttributeDto>,
    pub backdrop: Option<crate::routes::nfts::dto::AttributeDto>,
    pub symbol: Option<crate::routes::nfts::dto::AttributeDto>,
    /// Who sent it, when Telegram said.
    pub sender_id: Option<i64>,
    /// `unknown_sender` or `from_blockchain` (it cannot be returned through Telegram).
    pub reason: String,
    pub can_transfer_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// Whom staff registered it to, and when.
    pub assigned_to: Option<i64>,
    pub assigned_at: Option<DateTime<Utc>>,
}

impl From<UnmatchedGift> for UnmatchedGiftDto {
    fn from(u: UnmatchedGift) -> Self {
        Self {
            id: u.id.0,
            gift_id: u.gift.gift_id,
            collection: u.gift.collection,
            number: u.gift.traits.number,
            model: u.gift.traits.model.map(Into::into),
            backdrop: u.gift.traits.backdrop.map(Into::into),
            symbol: u.gift.traits.symbol.map(Into::into),
            sender_id: u.sender_id.map(|s| s.0),
            reason: u.reason.as_str().into(),
            can_transfer_at: u.gift.can_transfer_at,
            received_at: u.received_at,
            assigned_to: u.assigned_to.map(|s| s.0),
            assigned_at: u.assigned_at,
        }
    }
}

crate::dto::page_dto!(UnmatchedGiftPage of UnmatchedGiftDto);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignGiftRequest {
    /// Whose NFT it becomes.
    #[schema(minimum = 1)]
    pub user_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AssignedGiftDto {
    pub unmatched: UnmatchedGiftDto,
    pub nft: crate::routes::nfts::dto::NftDto,
}
