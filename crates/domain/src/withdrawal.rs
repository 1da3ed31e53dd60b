//! Withdrawals of funds to TON addresses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::*;
use crate::money::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    Pending,
    Sent,
    Failed,
    Stuck,
}

impl WithdrawalStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            WithdrawalStatus::Pending => "pending",
            WithdrawalStatus::Sent => "sent",
            WithdrawalStatus::Failed => "failed",
            WithdrawalStatus::Stuck => "stuck",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => WithdrawalStatus::Pending,
            "sent" => WithdrawalStatus::Sent,
            "failed" => WithdrawalStatus::Failed,
            "stuck" => WithdrawalStatus::Stuck,
            _ => return None,
        })
    }
}

/// A payout of funds to a TON address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub id: WithdrawalId,
    pub user_id: UserId,
    pub amount: Money,
    pub address: String,
    pub status: WithdrawalStatus,
    pub tx_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_its_name() {
        for (status, name) in [
            (WithdrawalStatus::Pending, "pending"),
            (WithdrawalStatus::Sent, "sent"),
            (WithdrawalStatus::Failed, "failed"),
            (WithdrawalStatus::Stuck, "stuck"),
        ] {
            assert_eq!(status.as_str(), name);
            assert_eq!(WithdrawalStatus::parse(name), Some(status));
        }
        assert_eq!(WithdrawalStatus::parse("Pending"), None);
        assert_eq!(WithdrawalStatus::parse(""), None);
    }
}
