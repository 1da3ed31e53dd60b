//! Credited on-chain deposits.

use chrono::{DateTime, Utc};

use crate::ids::*;
use crate::money::Money;

/// An on-chain transfer credited to a user; `tx_hash` is unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    pub id: DepositId,
    pub user_id: UserId,
    pub amount: Money,
    pub tx_hash: String,
    pub created_at: DateTime<Utc>,
}

impl Deposit {
    /// Whether a replay with these values is the same deposit.
    pub fn same_as(&self, user_id: UserId, amount: Money) -> bool {
        self.user_id == user_id && self.amount == amount
    }
}
