//! Side effects written in a Unit of Work and delivered after commit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{NftId, OutboxId, UserId, WithdrawalId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxPayload {
    /// A Telegram message to a user.
    Notify { user_id: UserId, text: String },
    /// Return a gift to its owner's Telegram account.
    GiftTransfer { nft_id: NftId, gift_id: String, user_id: UserId },
    /// Send a withdrawal to the payout gateway.
    Payout { withdrawal_id: WithdrawalId },
}

impl OutboxPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            OutboxPayload::Notify { .. } => "notify",
            OutboxPayload::GiftTransfer { .. } => "gift_transfer",
            OutboxPayload::Payout { .. } => "payout",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: OutboxId,
    pub payload: OutboxPayload,
    pub created_at: DateTime<Utc>,
}
