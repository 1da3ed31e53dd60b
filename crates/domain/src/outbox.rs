//! Side effects written in a Unit of Work and delivered after commit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{NftId, OutboxId, UserId, WithdrawalId};
use crate::money::Money;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxPayload {
    /// A Telegram message to a user.
    Notify { user_id: UserId, text: String },
    /// Return a gift to its owner's Telegram account.
    GiftTransfer {
        nft_id: NftId,
        gift_id: String,
        user_id: UserId,
        /// Telegram's id of the gift on the business account (gifts that came through the rail).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owned_gift_id: Option<String>,
        /// Stars the transfer costs, paid by the business account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        star_count: Option<u32>,
        /// `GIFT_WITHDRAWAL_FEE` charged for the return, refunded if it fails for good.
        #[serde(default, skip_serializing_if = "Money::is_zero")]
        fee: Money,
    },
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

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn every_payload_names_its_kind() {
        let notify = OutboxPayload::Notify { user_id: UserId(1), text: "hi".into() };
        let gift = OutboxPayload::GiftTransfer {
            nft_id: NftId(Uuid::nil()),
            gift_id: "g".into(),
            user_id: UserId(1),
            owned_gift_id: None,
            star_count: None,
            fee: Money::ZERO,
        };
        let payout = OutboxPayload::Payout { withdrawal_id: WithdrawalId(Uuid::nil()) };
        assert_eq!([notify.kind(), gift.kind(), payout.kind()], ["notify", "gift_transfer", "payout"]);
    }
}
